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
        try await context.activity(Stalling.self, input, retry: .exponential(maxAttempts: 3, initial: .milliseconds(10)), heartbeatTimeout: .seconds(1))
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
        let started = ContinuousClock.now
        let id = try await client.start(Watched.self, input: 0)
        let output = try await client.result(of: Watched.self, instanceID: id, timeout: .seconds(30))
        let elapsed = ContinuousClock.now - started
        try require(output == 2, "the second attempt answered: \(output)")
        try require(probe.count("stall-attempt") == 2 && probe.count("stall-cancelled") == 1, "the silent attempt was cancelled, once")
        try require(elapsed < .seconds(15), "given up at the heartbeat timeout, not the lease: \(elapsed)")
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
