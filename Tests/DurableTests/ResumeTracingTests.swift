import Durable
import DurableTesting
import InMemoryTracing
import Testing

@Suite struct ResumeTracingTests {
    struct Wait: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            try await context.event("go", as: Int.self) + input
        }
    }

    @Test func resumedInstancesAreLoggedAndTracedFromDiscoveryToCompletion() async throws {
        let provider = InMemoryProvider()
        let client = DurableClient(provider: provider)
        var registry = Registry()
        try registry.register(Wait())
        let first = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "n"))
        let ids = [try await client.start(Wait.self, input: 1), try await client.start(Wait.self, input: 2)]
        for id in ids {
            _ = try await client.waitForStatus(id, .running)
        }
        try await first.stop()

        let tracer = InMemoryTracer()
        let logs = LogRecorder()
        let runtime = DurableRuntime(
            provider: provider,
            registry: registry,
            configuration: RuntimeHarness.configuration(node: "n"),
            logger: logs.logger,
            tracer: tracer
        )
        let task = Task { try await runtime.run() }
        for id in ids { try await client.raiseEvent(instanceID: id, name: "go", 10) }
        #expect(try await client.result(of: Wait.self, instanceID: ids[0], timeout: .seconds(10)) == 11)
        #expect(try await client.result(of: Wait.self, instanceID: ids[1], timeout: .seconds(10)) == 12)
        runtime.beginShutdown()
        try await task.value

        let spans = tracer.finishedSpans.map(\.operationName)
        #expect(spans.filter { $0 == "durable.resume.discover" }.count == 1)
        #expect(spans.filter { $0 == "durable.resume.replay" }.count == 2)
        #expect(spans.filter { $0 == "durable.resume.complete" }.count == 2)
        let steps = logs.messages.filter { $0.hasPrefix("resume: ") }
        for step in ["resume: discovered", "resume: discovery finished", "resume: attached", "resume: replayed", "resume: completed"] {
            #expect(steps.contains(step), "missing log '\(step)' in \(steps)")
        }
        #expect(steps.firstIndex(of: "resume: discovered")! < steps.firstIndex(of: "resume: attached")!)
        #expect(runtime.resumeProgress == (2, 2, 2))
    }
}

extension DurableClient {
    /// Waits until an instance reaches `status` (test helper: reads, then waits on its turn commits).
    func waitForStatus(_ id: String, _ status: InstanceStatus, timeout: Duration = .seconds(10)) async throws -> InstanceInfo {
        let deadline = ContinuousClock.now + timeout
        while true {
            let info = try await self.status(instanceID: id)
            if info.status == status { return info }
            guard ContinuousClock.now < deadline else {
                throw DurableError(.timedOut, "instance \(id) is \(info.status), not \(status)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
