import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

/// `durable why` against PostgreSQL: the explanation comes from the database alone.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ExplainTests {
    struct Sleeper: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            try context.setCustomStatus("sleeping")
            try await context.sleep(for: .seconds(3600))
            return input
        }
    }

    @Test func aTimerWaitAnUnknownIdAndAFinishedInstance() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let client = DurableClient(provider: provider)
            var registry = Registry()
            try registry.register(Sleeper())
            let runtime = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "explained"))
            let id = try await client.start(Sleeper.self, input: 1)
            while try await client.status(instanceID: id).customStatus == nil { try await Task.sleep(for: .milliseconds(10)) }
            let why = try await client.explain(instanceID: id)
            #expect(why.status == .running)
            #expect(why.findings.map(\.kind) == [.timer], "\(why.lines)")
            #expect(why.findings.first?.message.hasPrefix("timer (operation 1) due in ") == true, "\(why.lines)")
            try await runtime.stop()

            await #expect(throws: DurableError.self) { try await client.explain(instanceID: "no-such-instance") }
        }
    }
}
