import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Synchronization
import Testing

/// The ready index (migration 0006) and the claims that walk it.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ReadyIndexTests {
    struct Waits: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            switch input {
            case "timer":
                try await context.sleep(for: .seconds(2))
                return "slept"
            case "event":
                return try await context.event("go", as: String.self)
            default:
                return try await context.activity(Gate.self, input)
            }
        }
    }

    /// Waits until the test opens it.
    struct Gate: Activity {
        let probe: Probe
        func run(_ input: String, context: ActivityContext) async throws -> String {
            self.probe.hit("waiting")
            // Cancellable, so that the first node's shutdown interrupts it and hands it back.
            while self.probe.count("open") == 0 { try await Task.sleep(for: .milliseconds(20)) }
            return "done"
        }
    }

    /// Instances waiting on a timer, an event and an activity, in a schema as version 5 left it
    /// (no inbox_at): migration 0006 sets their readiness from their messages, and they finish.
    @Test func migrationKeepsInFlightInstances() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            let client = DurableClient(provider: provider)
            let probe = Probe()
            var registry = Registry()
            try registry.register(Waits())
            try registry.register(Gate(probe: probe))
            let first = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "v5"))
            let timer = try await client.start(Waits.self, input: "timer")
            let event = try await client.start(Waits.self, input: "event")
            let activity = try await client.start(Waits.self, input: "activity")
            #expect(await probe.wait(for: "waiting"))
            try await first.stop()
            // Back to version 5: the column and indexes of 0006 gone, its row in the ledger too.
            for statement in [
                "DROP INDEX \(schema).instances_ready_idx", "DROP INDEX \(schema).messages_instance_visible_idx",
                "DROP INDEX IF EXISTS \(schema).activity_tasks_cancelled_idx", "ALTER TABLE \(schema).instances DROP COLUMN inbox_at",
                "DELETE FROM \(schema).durable_migrations WHERE version = 6",
            ] {
                do {
                    try await PostgresTestDatabase.execute(statement)
                } catch {
                    Issue.record("\(statement): \(String(reflecting: error))")
                    throw error
                }
            }
            do {
                try await (provider as! PostgresProvider).migrate()
            } catch {
                Issue.record("migrating: \(String(reflecting: error))")
                throw error
            }
            let second = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "v6"))
            try await client.raiseEvent(instanceID: event, name: "go", "raised")
            probe.hit("open")
            #expect(try await client.result(of: Waits.self, instanceID: event, timeout: .seconds(30)) == "raised")
            #expect(try await client.result(of: Waits.self, instanceID: activity, timeout: .seconds(60)) == "done")
            #expect(try await client.result(of: Waits.self, instanceID: timer, timeout: .seconds(30)) == "slept")
            try await second.stop()
        }
    }

    /// Two nodes claim and commit turns of one instance as fast as they can, for 200 turns; each
    /// commit leaves the next event waiting, so the other node's claim often meets a row committed
    /// after its snapshot. Every claim must bring the history its lease belongs to (as long as the
    /// stored one) and no message a committed turn consumed.
    @Test func claimsNeverReturnAStaleHistory() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            _ = try await provider.createInstance(StartRequest(instanceID: "race", name: "Race", input: .null))
            let turns = Counter()
            let stale = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in ["a#1", "b#1"] {
                    group.addTask {
                        while turns.value < 200 {
                            guard let item = try await provider.claimOrchestrations(ClaimRequest(owner: node, limit: 1)).items.first else { continue }
                            let consumed = Set(try await provider.history(instanceID: "race").map(\.kind))
                            if item.historyOffset + item.history.count != item.historyLength
                                || item.messages.contains(where: { consumed.contains($0.kind) })
                            {
                                stale.add()
                            }
                            let events = item.messages.enumerated().map {
                                HistoryEvent(sequenceNumber: item.historyLength + $0.offset, timestamp: item.claimedAt, kind: $0.element.kind)
                            }
                            try await provider.sendMessage(instanceID: "race", .eventRaised(name: "turn-\(turns.add())", input: .null))
                            do {
                                try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events)))
                            } catch let error as DurableError where error.code == .staleTurn {
                                stale.add()
                                try await provider.abandonOrchestration(item.lease, delay: .zero, reason: .interrupted)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(stale.value == 0, "\(stale.value) claims brought a stale history")
            #expect(try await provider.history(instanceID: "race").count >= 200)
        }
    }
}

/// A count shared by the racing tasks.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { self.count.withLock { $0 } }
    @discardableResult
    func add() -> Int { self.count.withLock { $0 += 1; return $0 } }
}
