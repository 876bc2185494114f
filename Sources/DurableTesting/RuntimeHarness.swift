public import Durable
import Foundation
public import Logging
public import Tracing

/// Runs a ``DurableRuntime`` in the background for the length of a test.
public struct RuntimeHarness: Sendable {
    public let runtime: DurableRuntime
    private let task: Task<Void, any Error>

    /// Starts a runtime.
    public init(
        provider: any DurableProvider,
        registry: Registry,
        configuration: DurableRuntime.Configuration,
        logger: Logger? = nil,
        tracer: (any Tracer)? = nil
    ) {
        let runtime = DurableRuntime(
            provider: provider,
            registry: registry,
            configuration: configuration,
            logger: logger ?? Logger(label: "durable.test") { _ in SwiftLogNoOpLogHandler() },
            tracer: tracer
        )
        self.runtime = runtime
        self.task = Task { try await runtime.run() }
    }

    /// Returns once the runtime has registered its node (and takes eager starts), or throws after
    /// `timeout`.
    public func waitUntilRegistered(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !self.runtime.isRegistered {
            guard ContinuousClock.now < deadline else { throw ConformanceFailure("the runtime did not register within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Shuts the runtime down gracefully and waits for it.
    public func stop() async throws {
        self.runtime.beginShutdown()
        try await self.task.value
    }

    /// Test settings: quick renewals and shutdown, and 16 turns at once (the default before it
    /// became 256): a test machine runs many scenarios at once, and their timing bounds were
    /// measured with that load.
    public static func configuration(node: String, renewal: Duration = .milliseconds(200)) -> DurableRuntime.Configuration {
        DurableRuntime.Configuration(
            nodeID: node,
            orchestrationConcurrency: 16,
            leaseRenewalInterval: renewal,
            safetyPollInterval: .seconds(5),
            shutdownGracePeriod: .milliseconds(500),
            missingHandlerBackoffBase: .milliseconds(100),
            missingHandlerBackoffCap: .seconds(1)
        )
    }
}

/// Starts a runtime, runs `body`, and stops the runtime, also when `body` throws.
public func withRuntime<T>(
    provider: any DurableProvider,
    registry: Registry,
    node: String = "node-1",
    _ body: (RuntimeHarness) async throws -> T
) async throws -> T {
    let harness = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: node))
    do {
        let result = try await body(harness)
        try await harness.stop()
        return result
    } catch {
        try? await harness.stop()
        throw error
    }
}
