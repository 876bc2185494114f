import Durable
import DurableTesting
import Testing

/// `DurableClient.run`: a start and the wait for its output in one call, with the wait subscribed
/// before the instance exists, so that a new instance is not read before it can have ended.
@Suite struct ClientRunTests {
    /// Waits for event `go`: "ok" completes it with twice its input, anything else fails it.
    typealias Gate = LocalOutcomeTests.Gate

    /// A node that runs `Gate`, and the provider it runs on, recording reads.
    private func node() async throws -> (RuntimeHarness, RecordingProvider) {
        let provider = RecordingProvider(InMemoryProvider())
        var registry = Registry()
        try registry.register(Gate())
        let node = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "run"))
        try await node.waitUntilRegistered()
        return (node, provider)
    }

    /// Runs `Gate` with id `g` through `client` and raises `go` once the instance exists.
    private func run(_ client: DurableClient, provider: RecordingProvider, go: String = "ok") async throws -> Result<Int, any Error> {
        let running = Task { try await client.run(Gate.self, input: 21, instanceID: "g", timeout: .seconds(60)) }
        // Read past the recording, so that only the client's reads count.
        while try await provider.base.instance(id: "g") == nil {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await client.raiseEvent(instanceID: "g", name: "go", go)
        return await running.result
    }

    @Test func theNodesOwnClientNeverReadsTheInstanceItStarted() async throws {
        let (node, provider) = try await self.node()
        let result = try await self.run(node.runtime.client, provider: provider)
        try await node.stop()
        #expect(try result.get() == 42)
        #expect(provider.instanceReads(of: "g") == 0, "read \(provider.instanceReads(of: "g")) times")
    }

    @Test func aPlainClientReadsOnlyOnceTheInstanceEnded() async throws {
        let (node, provider) = try await self.node()
        let result = try await self.run(DurableClient(provider: provider), provider: provider)
        try await node.stop()
        #expect(try result.get() == 42)
        // Only at the completion notification; start then result(of:) would also read before waiting.
        #expect(provider.instanceReads(of: "g") == 1, "read \(provider.instanceReads(of: "g")) times")
    }

    @Test func anInstanceThatExistedIsReadBeforeTheWait() async throws {
        let (node, provider) = try await self.node()
        let client = DurableClient(provider: provider)
        try await client.start(Gate.self, input: 21, instanceID: "g")
        try await client.raiseEvent(instanceID: "g", name: "go", "ok")
        #expect(try await client.result(of: Gate.self, instanceID: "g", timeout: .seconds(60)) == 42)
        // Completed before the run: no notification will come, only the 5 s re-check would find it.
        let started = ContinuousClock.now
        let output = try await client.run(Gate.self, input: 21, instanceID: "g", timeout: .seconds(60))
        let took = ContinuousClock.now - started
        try await node.stop()
        #expect(output == 42)
        #expect(took < .seconds(4), "took \(took)")
    }

    @Test func aFailureThrowsWithTheStoredDetails() async throws {
        let (node, provider) = try await self.node()
        let result = try await self.run(node.runtime.client, provider: provider, go: "no")
        try await node.stop()
        #expect {
            try result.get()
        } throws: { error in
            guard let error = error as? DurableError, error.code == .orchestrationFailed else { return false }
            return error.failure?.message.contains("told 'no'") == true
        }
    }
}
