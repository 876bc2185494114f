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

/// The trace fields added to stored JSON are optional: histories written before them still read.
@Suite struct TraceContextEncodingTests {
    @Test func eventsWithoutTraceFieldsStillDecode() throws {
        // Without a tracer no trace field is written, so the JSON is what earlier releases wrote,
        // and it decodes (the fields are optional).
        let kinds: [HistoryEvent.Kind] = [
            .eventRaised(name: "go", input: try Payload(encoding: 5)),
            .executionStarted(.init(name: "N", version: "1", input: .null, executionID: "e")),
        ]
        for kind in kinds {
            let text = try DurableJSON.encode(kind)
            #expect(!text.contains("traceContext"), "\(text)")
            #expect(try DurableJSON.decode(HistoryEvent.Kind.self, from: text) == kind)
        }
        let request = ActivityRequest(operationID: 1, name: "A", input: .null, retry: .none, timeout: nil)
        let text = try DurableJSON.encode(request)
        #expect(!text.contains("traceContext"))
        #expect(try DurableJSON.decode(ActivityRequest.self, from: text) == request)
        // With one, it round-trips.
        let traced = HistoryEvent.Kind.eventRaised(name: "go", input: .null, traceContext: ["traceparent": "00-abc-def-01"])
        #expect(try DurableJSON.decode(HistoryEvent.Kind.self, from: try DurableJSON.encode(traced)) == traced)
    }
}
