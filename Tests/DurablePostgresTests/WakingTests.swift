import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

struct Ping: Activity {
    func run(_ input: Int, context: ActivityContext) async throws -> Int { input + 1 }
}

struct PingOnce: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.activity(Ping.self, input)
    }
}

struct Nap: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.sleep(for: .milliseconds(Int64(input)))
        return input
    }
}

struct PingTwice: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        async let a = context.activity(Ping.self, input)
        async let b = context.activity(Ping.self, input + 1)
        return try await a + b
    }
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct WakingTests {
    static func registry() throws -> Registry {
        var registry = Registry()
        try registry.register(PingOnce())
        try registry.register(PingTwice())
        try registry.register(Nap())
        try registry.register(Ping())
        return registry
    }

    /// A runtime whose only backstop is a 60 s safety poll.
    static func idleRuntime(_ provider: any DurableProvider, node: String) throws -> RuntimeHarness {
        var configuration = RuntimeHarness.configuration(node: node)
        configuration.safetyPollInterval = .seconds(60)
        return RuntimeHarness(provider: provider, registry: try registry(), configuration: configuration)
    }

    @Test func aNotificationWakesAnIdleRuntime() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let runtime = try Self.idleRuntime(provider, node: "idle")
            // Let the dispatchers finish their first (empty) claims and go to sleep.
            try await Task.sleep(for: .milliseconds(500))
            let client = DurableClient(provider: provider)
            let started = ContinuousClock.now
            let id = try await client.start(PingOnce.self, input: 1)
            let output = try await client.result(of: PingOnce.self, instanceID: id, timeout: .seconds(10))
            let elapsed = ContinuousClock.now - started
            #expect(output == 2)
            #expect(elapsed < .seconds(1), "took \(elapsed)")
            try await runtime.stop()
        }
    }

    /// A timer sends no notification: the node that created it must wake for it by itself.
    @Test func aTimerFiresOnTimeWithoutAPoll() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let runtime = try Self.idleRuntime(provider, node: "timers")
            let client = DurableClient(provider: provider)
            let started = ContinuousClock.now
            let id = try await client.start(Nap.self, input: 300)
            #expect(try await client.result(of: Nap.self, instanceID: id, timeout: .seconds(30)) == 300)
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(2), "took \(elapsed); the safety poll is 60 s")
            try await runtime.stop()
        }
    }

    @Test func aKilledListenConnectionIsReplacedAndWorkGoesOn() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            let runtime = try Self.idleRuntime(provider, node: "relisten")
            let client = DurableClient(provider: provider)
            #expect(try await client.result(of: PingOnce.self, instanceID: try await client.start(PingOnce.self, input: 1), timeout: .seconds(10)) == 2)

            let listening = "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN \"durable_\(schema)\";'"
            let before = try await PostgresTestDatabase.query(listening).map { try $0.decode(Int32.self) }
            #expect(before.count == 1)
            _ = try await PostgresTestDatabase.query("SELECT pg_terminate_backend(pid) FROM (\(listening)) l")

            let started = ContinuousClock.now
            let id = try await client.start(PingOnce.self, input: 5)
            let output = try await client.result(of: PingOnce.self, instanceID: id, timeout: .seconds(20))
            let elapsed = ContinuousClock.now - started
            #expect(output == 6)
            #expect(elapsed < .seconds(5), "took \(elapsed); the safety poll is 60 s")
            let after = try await PostgresTestDatabase.query(listening).map { try $0.decode(Int32.self) }
            #expect(after.count == 1 && after != before, "a new LISTEN connection replaced the killed one")
            try await runtime.stop()
        }
    }

    @Test func twoNodesShare500InstancesWithoutDuplicates() async throws {
        let schema = PostgresTestDatabase.newSchema()
        let first = try await PostgresTestDatabase.Instance(schema: schema, leaseDuration: .seconds(30), maxConnections: 6)
        let second = try await PostgresTestDatabase.Instance(schema: schema, leaseDuration: .seconds(30), maxConnections: 6)
        defer { Task { await PostgresTestDatabase.cleanUp([first, second]) } }
        let nodeA = try Self.idleRuntime(first.provider, node: "a")
        let nodeB = try Self.idleRuntime(second.provider, node: "b")
        let client = DurableClient(provider: first.provider)
        var ids: [String] = []
        for i in 0..<500 { ids.append(try await client.start(PingTwice.self, input: i, instanceID: "two-nodes-\(i)")) }
        for (i, id) in ids.enumerated() {
            let output = try await client.result(of: PingTwice.self, instanceID: id, timeout: .seconds(120))
            #expect(output == 2 * i + 3)
        }
        for id in ids {
            let history = try await client.history(instanceID: id)
            let scheduled = history.compactMap { if case .activityScheduled(let op, _, _, _, _, _, _, _, _) = $0.kind { op } else { nil } }
            let completed = history.compactMap { if case .activityCompleted(let op, _) = $0.kind { op } else { nil } }
            let terminal = history.filter(\.kind.isTerminal)
            #expect(scheduled.sorted() == [1, 2] && completed.sorted() == [1, 2], "\(id): scheduled \(scheduled), completed \(completed)")
            #expect(terminal.count == 1, "\(id) has \(terminal.count) terminal events")
        }
        try await nodeA.stop()
        try await nodeB.stop()
    }
}
