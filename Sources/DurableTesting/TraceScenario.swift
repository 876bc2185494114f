public import Durable
import Foundation
import InMemoryTracing
import Tracing

/// One trace per instance, whichever node runs it: the client's start span is the root; turns are
/// its children; activity attempts and timers are children of the turn that scheduled them; a
/// sub-orchestration's turns are children of its parent's turn. Run against any provider: the
/// trace context must survive its storage.
public enum TraceScenario {
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

    /// Runs four instances on node a up to their wait, then on node b after a left; throws
    /// ``ConformanceFailure`` naming what is wrong with the spans. With `tracedClient` false the
    /// client has no tracer: each instance's first turn is the root of its trace.
    public static func run(provider: any DurableProvider, tracedClient: Bool = true) async throws {
        let tracer = InMemoryTracer()
        let client = DurableClient(provider: provider, tracer: tracedClient ? tracer : NoOpTracer())
        var registry = Registry()
        try registry.register(Parent())
        try registry.register(Child())
        try registry.register(Work())

        let a = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "a"), tracer: tracer)
        var ids: [String] = []
        for index in 0..<4 { ids.append(try await client.start(Parent.self, input: index, instanceID: "traced-\(index)")) }
        let deadline = ContinuousClock.now + .seconds(20)
        for id in ids {
            while try await client.status(instanceID: id).customStatus == nil {
                try require(ContinuousClock.now < deadline, "\(id) never reached its wait")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        try await a.stop()
        let b = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "b"), tracer: tracer)
        for id in ids { try await client.raiseEvent(instanceID: id, name: "go", 5) }
        for (index, id) in ids.enumerated() {
            let result = try await client.result(of: Parent.self, instanceID: id, timeout: .seconds(20))
            try require(result == index * 2 + (index + 1) * 2 + 10, "\(id) returned \(result)")
        }
        try await b.stop()
        try self.check(tracer.finishedSpans, ids: ids, tracedClient: tracedClient)
    }

    static func check(_ spans: [FinishedInMemorySpan], ids: [String], tracedClient: Bool) throws {
        func attribute(_ span: FinishedInMemorySpan, _ key: String) -> String? {
            if case .string(let value) = span.attributes.get(key) { value } else { nil }
        }
        func instance(_ span: FinishedInMemorySpan) -> String? { attribute(span, "durable.instance.id") }
        // A raise belongs to its caller's trace (here a root of its own); the turn that consumes
        // the event links to it.
        let raises = spans.filter { $0.operationName == "durable.raise_event" }
        let traced = spans.filter { instance($0) != nil && $0.operationName != "durable.raise_event" }
        try require(Set(traced.map(\.traceID)).count == ids.count, "one trace per started instance, got \(Set(traced.map(\.traceID)).count)")
        try require(raises.count == (tracedClient ? ids.count : 0), "one raise span per raised event, got \(raises.count)")
        for id in ids {
            // The root: the client's start span, or else the instance's first turn.
            let roots = traced.filter { $0.parentSpanID == nil && instance($0) == id }
            try require(roots.count == 1, "one root span for \(id), got \(roots.map(\.operationName))")
            let root = roots[0]
            try require(root.operationName == (tracedClient ? "durable.start" : "durable.turn"), "the root of \(id) is \(root.operationName)")
            let trace = spans.filter { $0.traceID == root.traceID }
            let turns = trace.filter { $0.operationName == "durable.turn" && instance($0) == id }
            try require(turns.count >= 4, "turns of \(id) in its trace: \(turns.count)")
            let children = turns.filter { $0.spanID != root.spanID }
            try require(children.allSatisfy { $0.parentSpanID == root.spanID }, "every turn of \(id) is a child of its root")
            let nodes = Set(turns.compactMap { attribute($0, "durable.node.id") })
            try require(nodes == ["a", "b"], "both nodes ran turns of \(id), got \(nodes)")
            let turnIDs = Set(turns.map(\.spanID))
            if let raise = raises.first(where: { instance($0) == id }) {
                let linking = turns.filter { $0.links.contains { $0.context.inMemorySpanContext?.spanID == raise.spanID } }
                try require(linking.count == 1, "the turn that consumed \(id)'s event links to its raise, got \(linking.count)")
            }
            let activities = trace.filter { $0.operationName == "durable.activity" && instance($0) == id }
            try require(activities.count == 2, "two attempts of \(id), got \(activities.count)")
            try require(activities.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") }, "attempts of \(id) are children of a turn")
            let timers = trace.filter { $0.operationName == "durable.timer" }
            try require(
                timers.count == 1 && timers.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") },
                "one timer span under a turn of \(id), got \(timers.map { "\($0.spanID) <- \($0.parentSpanID ?? "none")" }); the trace: \(trace.map { "\($0.operationName) \($0.spanID) <- \($0.parentSpanID ?? "none")" })"
            )
            let childTurns = trace.filter { $0.operationName == "durable.turn" && instance($0) == "\(id)-child" }
            try require(!childTurns.isEmpty, "the child's turns are in \(id)'s trace")
            try require(childTurns.allSatisfy { turnIDs.contains($0.parentSpanID ?? "") }, "the child's turns are children of a turn of \(id)")
            let childTurnIDs = Set(childTurns.map(\.spanID))
            let childActivities = trace.filter { $0.operationName == "durable.activity" && instance($0) == "\(id)-child" }
            try require(childActivities.count == 1 && childActivities.allSatisfy { childTurnIDs.contains($0.parentSpanID ?? "") }, "the child's attempt is under its turn")
        }
    }
}
