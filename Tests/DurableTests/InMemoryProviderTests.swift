import Durable
import DurableTesting
import Testing

@Suite struct InMemoryProviderTests {
    @Test(arguments: ProviderConformance.checks)
    func conformance(_ check: ProviderConformance.Check) async throws {
        try await check.run { InMemoryProvider(leaseDuration: $0) }
    }

    @Test(arguments: RuntimeScenarios.scenarios)
    func endToEnd(_ scenario: RuntimeScenarios.Scenario) async throws {
        try await scenario.run { InMemoryProvider(leaseDuration: $0) }
    }
}
