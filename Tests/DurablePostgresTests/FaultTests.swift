import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct FaultTests {
    /// Node A claims a turn and stalls past its lease; node B takes over and completes the instance;
    /// A wakes up and commits: rejected, and the history is B's alone.
    @Test func aNodeThatHangsPastItsLeaseCannotCommit() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(1))
            let client = DurableClient(provider: provider)
            let registry = try WakingTests.registry()
            let id = try await client.start(PingOnce.self, input: 41)

            // Node A: claims, runs the turn, then hangs before committing.
            let nodeA = NodeRegistration(id: "a", incarnation: "1", host: "h", pid: 1, buildVersion: "t", capabilities: Capabilities(registry))
            _ = try await provider.registerNode(nodeA)
            let claimed = try await provider.claimOrchestrations(ClaimRequest(owner: nodeA.leaseOwner, limit: 1)).items
            let item = try #require(claimed.first)
            let turn = try OrchestrationEngine(registry: registry).runTurn(
                instanceID: id,
                history: item.history,
                messages: item.messages.map(\.kind),
                now: item.claimedAt
            )

            // Node B takes over once A's lease runs out, and completes the instance.
            let nodeB = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "b"))
            #expect(try await client.result(of: PingOnce.self, instanceID: id, timeout: .seconds(20)) == 42)
            try await nodeB.stop()
            let history = try await client.history(instanceID: id)

            // A resumes: its commit is rejected and changes nothing.
            let error = try await #require(throws: DurableError.self) {
                try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: turn))
            }
            #expect(error.code == .leaseLost)
            #expect(try await client.history(instanceID: id) == history)
            #expect(history.filter(\.kind.isTerminal).count == 1)
            #expect(history.filter { if case .activityScheduled = $0.kind { true } else { false } }.count == 1)
            #expect(try await provider.queueDepths().readyActivities == 0, "A's stale turn scheduled no activity")
        }
    }

    /// A history no node can read (say, written by a newer release) is handed back with backoff,
    /// counts its deliveries and ends as poisoned instead of looping forever.
    @Test func aHistoryThatCannotBeReadIsPoisoned() async throws {
        struct Waits: Orchestration {
            func run(_ input: Int, context: OrchestrationContext) async throws -> Int { try await context.event("go", as: Int.self) }
        }
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            let client = DurableClient(provider: provider)
            var registry = Registry()
            try registry.register(Waits())
            var configuration = RuntimeHarness.configuration(node: "b")
            configuration.poisonLimit = 3
            configuration.missingHandlerBackoffBase = .milliseconds(50)
            let runtime = RuntimeHarness(provider: provider, registry: registry, configuration: configuration)
            let id = try await client.start(Waits.self, input: 0)
            let deadline = ContinuousClock.now + .seconds(10)
            while try await client.status(instanceID: id).status != .running {
                try #require(ContinuousClock.now < deadline)
                try await Task.sleep(for: .milliseconds(10))
            }
            try await PostgresTestDatabase.execute("UPDATE \(schema).history SET event = '{\"v\":1,\"broken' WHERE instance_id = '\(id)'")
            try await client.raiseEvent(instanceID: id, name: "go", 1)
            let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(20))
            #expect(info.status == .failed)
            #expect(info.failure?.code == DurableError.Code.poisoned.description)
            #expect(info.failure?.message.contains("cannot be read") == true, "\(String(describing: info.failure))")
            #expect(runtime.runtime.statistics.poisoned == 1)
            try await runtime.stop()
        }
    }
}
