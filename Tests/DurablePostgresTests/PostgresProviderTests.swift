import Durable
import DurablePostgres
import DurableTesting
import Testing

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct PostgresProviderTests {
    @Test(arguments: ProviderConformance.checks)
    func conformance(_ check: ProviderConformance.Check) async throws {
        try await PostgresTestDatabase.withFactory { try await check.run($0) }
    }

    /// The trace context survives PostgreSQL: one trace per instance across two nodes.
    @Test func oneTracePerInstanceAcrossTwoNodes() async throws {
        try await PostgresTestDatabase.withFactory { try await TraceScenario.run(provider: try await $0(.seconds(30))) }
        try await PostgresTestDatabase.withFactory { try await TraceScenario.run(provider: try await $0(.seconds(30)), tracedClient: false) }
    }

    /// One scenario at a time: each runs one or two runtimes against the database, and 27 of them
    /// at once beside the rest of the suite left too little of two cores for their timing
    /// (statements past their deadline, leases lapsing).
    @Test(.serialized, arguments: RuntimeScenarios.scenarios)
    func endToEnd(_ scenario: RuntimeScenarios.Scenario) async throws {
        try await PostgresTestDatabase.withFactory { try await scenario.run($0) }
    }
}
