import Durable
import DurableTesting
import Testing

/// One trace per instance across two nodes (``TraceScenario``), on the in-memory provider; the
/// PostgreSQL suite runs the same scenario.
@Suite struct TraceStructureTests {
    @Test func oneTracePerInstanceAcrossTwoNodes() async throws {
        try await TraceScenario.run(provider: InMemoryProvider())
    }

    @Test func withoutAClientTracerTheFirstTurnIsTheRoot() async throws {
        try await TraceScenario.run(provider: InMemoryProvider(), tracedClient: false)
    }
}
