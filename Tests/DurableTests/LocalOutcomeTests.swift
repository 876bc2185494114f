import Durable
import DurableTesting
import Testing

/// A runtime's own client learns of the completions that runtime commits from the commit itself,
/// without the completion notification and the read after it.
@Suite struct LocalOutcomeTests {
    struct Gate: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            let go: String = try await context.waitForEvent("go").value
            guard go == "ok" else { throw DurableError(.invalidInput, "told '\(go)'") }
            return input * 2
        }
    }

    /// Starts a node, an instance of `Gate` through the node's client, and a wait for its result
    /// once the client has read it running; then raises `go`. With `muted`, the provider's
    /// completion notifications never arrive. With `slowCommit`, the turn's commit returns only
    /// once the client has read the instance again, or after 300 ms.
    private func waitThroughTheNode(go: String, muted: Bool, slowCommit: Bool = false) async throws -> (Result<Int, any Error>, reads: Int) {
        let provider = RecordingProvider(InMemoryProvider())
        if muted { provider.muteCompletionNotifications() }
        var registry = Registry()
        try registry.register(Gate())
        let node = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "local"))
        try await node.waitUntilRegistered()
        let client = node.runtime.client
        let id = try await client.start(Gate.self, input: 21)
        let waiting = Task { try await client.result(of: Gate.self, instanceID: id, timeout: .seconds(60)) }
        // The wait's first read found the instance running, so only the completion can end it.
        let deadline = ContinuousClock.now + .seconds(30)
        while provider.instanceReads(of: id) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        if slowCommit {
            provider.holdCommits {
                let until = ContinuousClock.now + .milliseconds(300)
                while provider.instanceReads(of: id) < 2, ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(5)) }
            }
        }
        try await client.raiseEvent(instanceID: id, name: "go", go)
        let result = await waiting.result
        try await node.stop()
        return (result, provider.instanceReads(of: id))
    }

    @Test func aCompletionReachesTheNodesOwnClientWithoutARead() async throws {
        let (result, reads) = try await self.waitThroughTheNode(go: "ok", muted: true)
        #expect(try result.get() == 42)
        // Without the hand-over the client would read again at its next re-check (5 s on).
        #expect(reads == 1, "the client read the instance \(reads) times")
    }

    @Test func theNotificationOfTheNodesOwnCommitStartsNoRead() async throws {
        // The commit's notification arrives before the commit returns, as in PostgreSQL (at the
        // commit, before its confirmation): a waiter that read on it would read a second time.
        let (result, reads) = try await self.waitThroughTheNode(go: "ok", muted: false, slowCommit: true)
        #expect(try result.get() == 42)
        #expect(reads == 1, "the client read the instance \(reads) times")
    }

    @Test func aFailureIsReadSoItsErrorCarriesTheStoredDetails() async throws {
        let (result, _) = try await self.waitThroughTheNode(go: "no", muted: false)
        #expect {
            try result.get()
        } throws: { error in
            guard let error = error as? DurableError, error.code == .orchestrationFailed else { return false }
            return error.failure?.message.contains("told 'no'") == true && error.name == Gate.name
        }
    }
}
