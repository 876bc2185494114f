import Durable
import Foundation

// Long-running activities: heartbeats carry a checkpoint to the next attempt, a heartbeat timeout
// gives a silent attempt up long before its lease would, and a cancellation reaches a running
// attempt at once.
extension RuntimeScenarios {
    static let heartbeatScenarios: [Scenario] = [
        Scenario(name: "a retried activity resumes from its last heartbeat", body: resumeFromHeartbeat),
        Scenario(name: "a silent activity is given up at its heartbeat timeout and retried", body: heartbeatTimeout),
        Scenario(name: "a cancelled activity learns at once, not at its next renewal", body: promptCancellation),
        Scenario(name: "a cancellation waited for ends when the activity stopped", body: waitedCancellation),
        Scenario(name: "an activity that ignores its cancellation is abandoned after the grace period", body: ignoredCancellation),
    ]
}

/// Counts to 6, heartbeating each step; the first attempt fails after 3.
struct Checkpointed: Activity {
    var probe = Probe()
    func run(_ input: Int, context: ActivityContext) async throws -> String {
        let from = try context.lastHeartbeat(as: Int.self) ?? 0
        for step in (from + 1)...6 {
            try context.heartbeat(step)
            if context.attempt == 1 && step == 3 { throw ConformanceFailure("crashed after step 3") }
        }
        return "attempt \(context.attempt) resumed after step \(from)"
    }
}

/// Hangs without a heartbeat on its first attempt.
struct Stalling: Activity {
    var probe = Probe()
    func run(_ input: Int, context: ActivityContext) async throws -> Int {
        self.probe.hit("stall-attempt")
        guard context.attempt == 1 else { return context.attempt }
        do {
            try await Task.sleep(for: .seconds(600))
        } catch {
            self.probe.hit("stall-cancelled")
            throw error
        }
        return 0
    }
}

struct CheckpointedWork: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        try await context.activity(Checkpointed.self, input, retry: .exponential(maxAttempts: 3, initial: .milliseconds(10)))
    }
}

struct Watched: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.activity(Stalling.self, input, retry: .exponential(maxAttempts: 3, initial: .milliseconds(10)), heartbeatTimeout: .seconds(2))
    }
}

private func resumeFromHeartbeat(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(CheckpointedWork()); try $0.register(Checkpointed()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(CheckpointedWork.self, input: 0)
        let output = try await client.result(of: CheckpointedWork.self, instanceID: id, timeout: .seconds(30))
        try require(output == "attempt 2 resumed after step 3", "the retry resumes from the checkpoint: \(output)")
    }
}

private func heartbeatTimeout(_ factory: ProviderConformance.Factory) async throws {
    // Leases of 30 s: only the heartbeat timeout can give the first attempt up this soon.
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(Watched()); try $0.register(Stalling(probe: probe)) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Watched.self, input: 0)
        try require(await probe.wait(for: "stall-attempt", timeout: .seconds(20)), "the first attempt did not start")
        let first = ContinuousClock.now
        try require(await probe.wait(for: "stall-attempt", count: 2, timeout: .seconds(20)), "the silent attempt was not retried")
        let retriedAfter = ContinuousClock.now - first
        let output = try await client.result(of: Watched.self, instanceID: id, timeout: .seconds(30))
        try require(output == 2, "the second attempt answered: \(output)")
        try require(probe.count("stall-attempt") == 2 && probe.count("stall-cancelled") == 1, "the silent attempt was cancelled, once")
        // A 2 s heartbeat timeout: retried within 3 s, long before the 30 s lease would lapse.
        try require(retriedAfter < .seconds(3), "retried \(retriedAfter) after the silent attempt started, with a heartbeat timeout of 2 s")
    }
}

/// Races a long activity against a short timer: the activity loses and is cancelled.
struct Raced: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        let long = context.scheduleActivity(Block.self, "slow")
        let timer = context.createTimer(for: .milliseconds(300))
        return await context.whenAny([long, timer])
    }
}

private func promptCancellation(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(Raced()); try $0.register(Block(probe: probe)) }
    // Renewals every 10 s: only the cancellation hint can stop the activity sooner.
    let node = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-1", renewal: .seconds(10)))
    do {
        let id = try await client.start(Raced.self, input: 0)
        _ = try await client.result(of: Raced.self, instanceID: id, timeout: .seconds(30))
        let finished = ContinuousClock.now
        try require(await probe.wait(for: "block-cancelled", timeout: .seconds(8)), "the losing activity was not cancelled before its next renewal")
        let latency = ContinuousClock.now - finished
        try require(latency < .seconds(2), "cancelled \(latency) after the orchestration ended")
        try await node.stop()
    } catch {
        try? await node.stop()
        throw error
    }
}

/// Stops slowly when cancelled (cleans up for 300 ms), or not at all when `stubborn`.
struct Cleanup: Activity {
    var probe = Probe()
    var stubborn = false
    func run(_ input: String, context: ActivityContext) async throws -> String {
        self.probe.hit("cleanup-started")
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if context.isCancellationRequested && !self.stubborn {
                // Not a cancellable sleep: the clean-up runs whatever happens.
                let end = ContinuousClock.now + .milliseconds(300)
                while ContinuousClock.now < end { await Task.yield() }
                self.probe.hit("cleanup-done")
                throw CancellationError()
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        self.probe.hit("cleanup-ran-out")
        return "finished"
    }
}

/// Cancels its activity once it runs and waits for the cancellation to complete.
struct CancelAndWait: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        let work = context.scheduleActivity(Cleanup.self, input)
        _ = try await context.waitForEvent("running", as: Bool.self).value
        work.cancel(waitForCompletion: true)
        do {
            return try await work.value
        } catch let error as DurableError where error.code == .cancelled {
            return "cancelled: \(error.failure?.message ?? "")"
        }
    }
}

private func cancelAndWait(
    _ factory: ProviderConformance.Factory, stubborn: Bool, grace: Duration
) async throws -> (output: String, waited: Duration, probe: Probe) {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(CancelAndWait()); try $0.register(Cleanup(probe: probe, stubborn: stubborn)) }
    var configuration = RuntimeHarness.configuration(node: "node-1", renewal: .seconds(10))
    configuration.activityGracePeriod = grace
    let node = RuntimeHarness(provider: provider, registry: registry, configuration: configuration)
    do {
        let id = try await client.start(CancelAndWait.self, input: "x")
        try require(await probe.wait(for: "cleanup-started", timeout: .seconds(10)), "the activity did not start")
        let cancelled = ContinuousClock.now
        try await client.raiseEvent(instanceID: id, name: "running", true)
        let output = try await client.result(of: CancelAndWait.self, instanceID: id, timeout: .seconds(30))
        let waited = ContinuousClock.now - cancelled
        try await node.stop()
        return (output, waited, probe)
    } catch {
        try? await node.stop()
        throw error
    }
}

private func waitedCancellation(_ factory: ProviderConformance.Factory) async throws {
    let (output, waited, probe) = try await cancelAndWait(factory, stubborn: false, grace: .seconds(30))
    try require(output.hasPrefix("cancelled"), "the wait ends in a cancellation: \(output)")
    try require(probe.count("cleanup-done") == 1, "the orchestration went on before the activity's clean-up ended")
    try require(waited >= .milliseconds(300) && waited < .seconds(8), "waited \(waited) for a 300 ms clean-up")
}

private func ignoredCancellation(_ factory: ProviderConformance.Factory) async throws {
    let (output, waited, probe) = try await cancelAndWait(factory, stubborn: true, grace: .seconds(1))
    try require(output.contains("abandoned"), "reported as abandoned: \(output)")
    try require(probe.count("cleanup-done") == 0 && probe.count("cleanup-ran-out") == 0, "the stubborn activity was still running")
    try require(waited >= .seconds(1) && waited < .seconds(8), "abandoned \(waited) after the cancellation, with a grace period of 1 s")
}
