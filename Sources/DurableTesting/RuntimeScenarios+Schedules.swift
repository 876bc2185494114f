import Durable
import Foundation

// Schedules end to end: a firing per nominal time across nodes, pause and catch-up, describe, delete.
extension RuntimeScenarios {
    static let scheduleScenarios: [Scenario] = [
        Scenario(name: "a schedule fires once per nominal time across two nodes, catches up after a pause", body: scheduleFiring),
    ]
}

/// What a schedule starts in the scenario.
struct Tick: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String { input }
}

private func scheduleFiring(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Tick()) }
    let first = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-1"))
    let second = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-2"))
    func fired() async throws -> [String] {
        try await client.list(InstanceQuery(limit: 1_000, parentInstanceID: "schedule:tick")).instances.map(\.id).sorted()
    }
    func waitFor(_ count: Int) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let ids = try await fired()
            if ids.count >= count { return ids }
            try require(ContinuousClock.now < deadline, "only \(ids.count) firings of \(count)")
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    do {
        let definition = ScheduleDefinition(
            orchestration: Tick.name, input: try Payload(encoding: "tick"), spec: ScheduleSpec(.every(.seconds(1))), policy: SchedulePolicy(overlap: .allowAll)
        )
        try await client.createSchedule("tick", definition)
        try await client.createSchedule("tick", definition)  // the same again: nothing changes
        _ = try await waitFor(3)
        // One node goes away between firings; the other goes on.
        try await first.stop()
        _ = try await waitFor(5)
        try await client.pauseSchedule("tick", note: "maintenance")
        try await Task.sleep(for: .milliseconds(500))
        let paused = try await client.describeSchedule("tick")
        try require(paused.pausedNote == "maintenance" && paused.next.count == 10, "describe shows the pause and the next times: \(paused)")
        let before = try await fired().count
        try await Task.sleep(for: .milliseconds(2_500))
        try require(try await fired().count <= before + 1, "it fired while paused")
        try await client.resumeSchedule("tick")
        // Caught up: the times missed during the pause fire on resume, so no second is missing.
        let ids = try await waitFor(before + 3)
        let times = ids.compactMap { ISO8601DateFormatter().date(from: String($0.split(separator: "@").last ?? "")) }
        try require(times.count == ids.count && ids.allSatisfy { $0.hasPrefix("tick@") }, "deterministic ids: \(ids)")
        let span = Int(times.last!.timeIntervalSince(times.first!))
        try require(span + 1 == times.count, "one firing per second from the first to the last, none twice, none missing: \(ids)")
        let output = try await client.result(of: Tick.self, instanceID: ids[0], timeout: .seconds(10))
        try require(output == "tick", "the firing got the schedule's input: \(output)")
        try await client.deleteSchedule("tick")
        _ = try await client.waitForCompletion(instanceID: "schedule:tick", timeout: .seconds(10))
        try require(try await client.schedules().isEmpty, "deleted")
        try await second.stop()
    } catch {
        try? await first.stop()
        try? await second.stop()
        throw error
    }
}
