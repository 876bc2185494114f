import Durable
@testable import DurablePostgres
import DurableTesting
import Foundation
import PostgresNIO
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

extension ReadyIndexTests {
    /// A completion batch that claims the turn its result completes waits for the instance's row
    /// while the node's own commit of the turn before holds it. The commit consumed a message and
    /// moved the history but not the lease epoch, so the batch's snapshot (taken before it) must not
    /// be handed out: it held the consumed message, which the node's kept execution, as long as
    /// the stored history, would record a second time (seen as `completed [1, 1, 2]` in
    /// `twoNodesShare500InstancesWithoutDuplicates` on a loaded machine).
    @Test func aBatchThatWaitedForACommitClaimsWhatTheCommitLeft() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            _ = try await provider.createInstance(StartRequest(instanceID: "join", name: "Join", version: "1.0.0", input: .null))
            let first = try #require(try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: 1)).items.first)
            let requests = (1...2).map { ActivityRequest(operationID: $0, name: "Work", input: .null, retry: .none, timeout: nil) }
            var events = [HistoryEvent(sequenceNumber: 0, timestamp: first.claimedAt, kind: first.messages[0].kind)]
            for request in requests {
                events.append(HistoryEvent(sequenceNumber: events.count, timestamp: first.claimedAt, kind: .activityScheduled(operationID: request.operationID, name: "Work", input: .null, retry: .none, timeout: nil)))
            }
            try await provider.commitTurn(first.lease, TurnCommit(consumedMessageIDs: first.messages.map(\.id), result: TurnResult(newEvents: events, actions: requests.map { .scheduleActivity($0) })))
            let tasks = try await provider.claimActivities(ClaimRequest(owner: "n#1", limit: 2)).items.sorted { $0.request.operationID < $1.request.operationID }
            try #require(tasks.count == 2)
            // The second result, then the turn that consumes it.
            _ = try await provider.completeActivities([ActivityCompletion(lease: tasks[1].lease, outcome: .completed(.null))], claim: nil)
            let turn = try #require(try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: 1)).items.first)
            let consumed = try #require(turn.messages.first)
            let commit = TurnCommit(
                consumedMessageIDs: [consumed.id],
                result: TurnResult(newEvents: [HistoryEvent(sequenceNumber: 3, timestamp: turn.claimedAt, kind: consumed.kind)])
            )
            let statement = try provider.commitStatement(turn.lease, commit).statement
            let claimed = try await provider.client.withConnection { connection in
                try await connection.query("BEGIN", logger: provider.logger)
                let fenced = try await connection.execute(statement, logger: provider.logger).rows()[0].decode((Int64, [String], [Int], Int64, Bool).self).0
                #expect(fenced == 2)
                // The first result's batch, for the node that keeps the execution, waits for the row.
                let batch = Task {
                    try await provider.completeActivities(
                        [ActivityCompletion(lease: tasks[0].lease, outcome: .completed(.null), knownHistory: 4)], claim: ClaimRequest(owner: "n#1", limit: 1)
                    )
                }
                while try await PostgresTestDatabase.query(
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%WITH input AS%'"
                )[0].decode(Int64.self) == 0 {
                    await Task.yield()
                }
                try await connection.query("COMMIT", logger: provider.logger)
                return try await batch.value.claimed
            }
            let item = try #require(claimed.first, "the batch claims the turn its result completes")
            #expect(item.historyLength == 4)
            #expect(!item.messages.contains { $0.id == consumed.id }, "the message the commit consumed is not handed out again")
            #expect(item.messages.count == 1)
        }
    }

    /// A connection makes the claim's generic plan from the statistics of its first use: made from
    /// those of an empty table, with 20,000 instances ready by then, it still walks the ready index
    /// in claim order instead of joining it with the status index and sorting every ready row.
    @Test func theClaimsGenericPlanWalksTheReadyIndexWhateverTheStatistics() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            let schema = provider.configuration.schema
            try await PostgresTestDatabase.execute("ANALYZE \(schema).instances")
            try await PostgresTestDatabase.execute(
                """
                INSERT INTO \(schema).instances (id, name, version, execution_id, status, input, inbox_at)
                SELECT 'i' || g, 'Walk', '1.0.0', 'e' || g, 'pending', 'null', now() - g * interval '1 ms' FROM generate_series(1, 20000) g
                """
            )
            let plan = try await provider.client.withConnection { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "PREPARE walk AS " + ClaimOrchestrationsStatement.sql), logger: provider.logger)
                // The statement's parameters in order: queues, the node's names, pairs, grace and
                // liveness, limits, the same for the second walk, the takeover branch's, the owner,
                // the lease and the history bound, the queues of the next-due subqueries.
                let node = "ARRAY['Walk'], ARRAY['Walk' || chr(31) || '1.0.0'], 10, 30"
                let arguments = "ARRAY['default'], \(node), 18, 18, ARRAY['default'], \(node), 18, 18, NULL, ARRAY['default'], "
                    + "ARRAY['Walk'], ARRAY['Walk'], ARRAY['Walk' || chr(31) || '1.0.0'], NULL, 18, 18, 'n#1', 30, 32, ARRAY['default'], ARRAY['default']"
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN EXECUTE walk(\(arguments))"), logger: provider.logger).collect()
                try await connection.query("DEALLOCATE walk", logger: provider.logger)
                return try rows.map { try $0.decode(String.self) }.joined(separator: "\n")
            }
            let walk = try #require(plan.components(separatedBy: "CTE ready").last?.components(separatedBy: "CTE fresh").first, "\(plan)")
            #expect(walk.contains("Index Scan using instances_ready_idx"), "\(plan)")
            #expect(!walk.contains("Bitmap"), "\(plan)")
        }
    }

    /// The pool plans its prepared statements once (docs/postgres.md, "Generic plans"), and a read
    /// that plans for its filters does so only inside its own transaction.
    @Test func pooledConnectionsKeepGenericPlansAndListsPlanForTheirFilters() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            @Sendable func mode(_ connection: PostgresConnection) async throws -> String {
                try await connection.query("SHOW plan_cache_mode", logger: provider.logger).collect()[0].decode(String.self)
            }
            #expect(try await provider.client.withConnection { try await mode($0) } == "force_generic_plan")
            let others = try await provider.client.withConnection { connection in
                try await connection.query("SELECT current_setting('enable_seqscan') || ' ' || current_setting('jit')", logger: provider.logger)
                    .collect()[0].decode(String.self)
            }
            #expect(others == "off off")
            #expect(try await provider.transaction("reading the plan mode", statement: "test", customPlans: true) { try await mode($0) } == "auto")
            // The pool holds several connections: none kept the transaction's setting.
            let modes = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<4 { group.addTask { try await provider.client.withConnection { try await mode($0) } } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(modes == ["force_generic_plan"])
            for i in 0..<3 { _ = try await provider.createInstance(StartRequest(instanceID: "p\(i)", name: "Join", version: "1.0.0", input: .null)) }
            let page = try await provider.listInstances(InstanceQuery(statuses: [.pending], limit: 2))
            #expect(page.instances.map(\.id) == ["p0", "p1"])
            #expect(page.nextCursor == "p1")
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
