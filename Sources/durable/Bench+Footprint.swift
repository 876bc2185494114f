import Durable
import Foundation

/// Runs until cancelled (a node's shutdown).
struct Hold: Activity {
    func run(_ input: Int, context: ActivityContext) async throws -> Int {
        try await Task.sleep(for: .seconds(3600))
        return input
    }
}

/// Waits for one ``Hold`` activity.
struct HoldOne: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.activity(Hold.self, input)
    }
}

extension Bench {
    /// What one item costs a node in resident memory, each measured as the growth over a warm
    /// baseline while `footprintCount` items are held at once (phases only add, so memory freed by
    /// one phase does not hide the next): a kept execution (an instance suspended in the sticky
    /// cache), an activity in flight (beyond its instance's kept execution), a claimed turn (a work
    /// item with a short history). The database's share is not in this process.
    func footprint(url: String) async throws -> [String: Stat] {
        let count = self.footprintCount
        var bench = self
        bench.nodes = 1
        bench.stickyCache = 2 * count + 100
        bench.activityConcurrency = count + 16
        let environment = try await BenchEnvironment(url: url, bench: bench)
        let client = DurableClient(provider: environment.client)
        func startAll(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask { for i in stride(from: worker, to: count, by: 16) { try await body(i) } }
                }
                try await group.waitForAll()
            }
        }
        func megabytes() -> Double { Double(Self.residentBytes()) / 1_048_576 }

        for i in 0..<500 { try await client.start(Fanout5.self, input: i, instanceID: "warm-\(i)") }
        _ = try await environment.waitUntilCompleted(500)
        let baseline = megabytes()

        try await startAll { i in try await client.start(LongHistory.self, input: 0, instanceID: "kept-\(i)") }
        try await environment.waitUntilWaiting(count: count, timeout: .seconds(300))
        let kept = megabytes()

        try await startAll { i in try await client.start(HoldOne.self, input: i, instanceID: "hold-\(i)") }
        try await environment.waitUntilActivitiesRunning(count, timeout: .seconds(300))
        let holding = megabytes()

        // Turns no node claims (no node runs this name), claimed and held here.
        let provider = environment.client
        try await startAll { i in _ = try await provider.createInstance(StartRequest(instanceID: "claim-\(i)", name: "Unclaimed", input: .null)) }
        var claimed: [OrchestrationWorkItem] = []
        while claimed.count < count {
            claimed += try await environment.client.claimOrchestrations(ClaimRequest(owner: "footprint", limit: count - claimed.count, capabilities: Capabilities(orchestrations: ["Unclaimed": [""]], activities: []))).items
        }
        let claiming = megabytes()
        withExtendedLifetime(claimed) {}
        await environment.stop()

        let perKept = (kept - baseline) * 1024 / Double(count)
        let perActivity = (holding - kept) * 1024 / Double(count) - perKept
        let perClaim = (claiming - holding) * 1024 / Double(count)
        print(String(format: "baseline %.1f MB; %d each: kept executions +%.1f MB, activities in flight +%.1f MB, claimed turns +%.1f MB", baseline, count, kept - baseline, holding - kept, claiming - holding))
        return [
            "resident MB at the baseline": Stat([baseline]),
            "KB per kept execution": Stat([perKept]),
            "KB per activity in flight": Stat([perActivity]),
            "KB per claimed turn": Stat([perClaim]),
        ]
    }
}
