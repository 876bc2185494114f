import Durable
import DurableTesting
import InMemoryTracing
import Testing
import Tracing

/// One trace per instance, whichever node runs it: the client's start span is the root; turns are
/// its children; activity attempts and timers are children of the turn that scheduled them; a
/// sub-orchestration's turns are children of its parent's turn.
@Suite struct TraceStructureTests {
    struct Work: Activity {
        func run(_ input: Int, context: ActivityContext) async throws -> Int { input * 2 }
    }

    struct Child: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            try await context.activity(Work.self, input)
        }
    }

    struct Parent: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            async let a = context.activity(Work.self, input)
            async let b = context.activity(Work.self, input + 1)
            let sum = try await a + b
            try await context.sleep(for: .milliseconds(20))
            try context.setCustomStatus("waiting")
            let go = try await context.event("go", as: Int.self)
            let child = try await context.subOrchestration(Child.self, go, instanceID: "\(context.instanceID)-child")
            return sum + child
        }
    }

    @Test func oneTracePerInstanceAcrossTwoNodes() async throws {
        let provider = InMemoryProvider()
        let tracer = InMemoryTracer()
        let client = DurableClient(provider: provider, tracer: tracer)
        var registry = Registry()
        try registry.register(Parent())
        try registry.register(Child())
        try registry.register(Work())

        // Node a runs the instances up to their wait; node b, after a left, finishes them.
        let a = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "a"), tracer: tracer)
        var ids: [String] = []
        for index in 0..<4 { ids.append(try await client.start(Parent.self, input: index, instanceID: "traced-\(index)")) }
        for id in ids {
            _ = try await client.waitUntil(id) { $0.customStatus != nil }
        }
        try await a.stop()
        let b = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "b"), tracer: tracer)
        for id in ids { try await client.raiseEvent(instanceID: id, name: "go", 5) }
        for (index, id) in ids.enumerated() {
            #expect(try await client.result(of: Parent.self, instanceID: id, timeout: .seconds(10)) == index * 2 + (index + 1) * 2 + 10)
        }
        try await b.stop()

        let spans = tracer.finishedSpans
        func instance(_ span: FinishedInMemorySpan) -> String? {
            if case .string(let id) = span.attributes.get("durable.instance.id") { id } else { nil }
        }
        func node(_ span: FinishedInMemorySpan) -> String? {
            if case .string(let id) = span.attributes.get("durable.node.id") { id } else { nil }
        }
        let traced = spans.filter { instance($0) != nil }
        #expect(Set(traced.map(\.traceID)).count == ids.count, "one trace per started instance")
        for id in ids {
            let starts = traced.filter { $0.operationName == "durable.start" && instance($0) == id }
            let start = try #require(starts.first)
            #expect(starts.count == 1)
            #expect(start.parentSpanID == nil, "the start is the root")
            let trace = spans.filter { $0.traceID == start.traceID }
            let turns = trace.filter { $0.operationName == "durable.turn" && instance($0) == id }
            #expect(turns.count >= 4, "turns of \(id): \(turns.count)")
            #expect(turns.allSatisfy { $0.parentSpanID == start.spanID }, "every turn is a child of the start")
            #expect(Set(turns.compactMap(node)) == ["a", "b"], "both nodes ran turns of \(id)")
            let turnIDs = Set(turns.map(\.spanID))
            let activities = trace.filter { $0.operationName == "durable.activity" && instance($0) == id }
            #expect(activities.count == 2)
            #expect(activities.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") }, "attempts are children of a turn")
            let timers = trace.filter { $0.operationName == "durable.timer" }
            #expect(timers.count == 1)
            #expect(timers.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") })
            let childTurns = trace.filter { $0.operationName == "durable.turn" && instance($0) == "\(id)-child" }
            #expect(!childTurns.isEmpty, "the child's turns are in the parent's trace")
            #expect(childTurns.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") }, "the child's turns are children of the parent's turn")
            let childTurnIDs = Set(childTurns.map(\.spanID))
            let childActivities = trace.filter { $0.operationName == "durable.activity" && instance($0) == "\(id)-child" }
            #expect(childActivities.count == 1)
            #expect(childActivities.allSatisfy { childTurnIDs.contains($0.parentSpanID ?? "") })
        }
    }
}

extension DurableClient {
    /// Waits until an instance's info satisfies `condition` (test helper).
    func waitUntil(_ id: String, timeout: Duration = .seconds(10), _ condition: (InstanceInfo) -> Bool) async throws -> InstanceInfo {
        let deadline = ContinuousClock.now + timeout
        while true {
            let info = try await self.status(instanceID: id)
            if condition(info) { return info }
            guard ContinuousClock.now < deadline else { throw DurableError(.timedOut, "\(id) never got there: \(info)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
