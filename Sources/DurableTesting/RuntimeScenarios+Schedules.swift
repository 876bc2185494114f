import Durable
import Foundation

// Schedules end to end: a firing per nominal time across nodes, pause and catch-up, describe, delete.
extension RuntimeScenarios {
    static let scheduleScenarios: [Scenario] = [
        Scenario(name: "a schedule fires once per nominal time across two nodes, catches up after a pause", body: scheduleFiring),
        Scenario(name: "a schedule's overlap policy skips or terminates the firing still running", body: scheduleOverlap),
    ]
}

/// A firing that runs until told to stop.
struct Lingers: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        try await context.event("done", as: String.self)
    }
}

private func scheduleOverlap(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Lingers()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        func definition(_ overlap: SchedulePolicy.Overlap) throws -> ScheduleDefinition {
            ScheduleDefinition(orchestration: Lingers.name, input: try Payload(encoding: "x"), spec: ScheduleSpec(.every(.seconds(1))), policy: SchedulePolicy(overlap: overlap))
        }
        func children(_ id: String) async throws -> [InstanceInfo] {
            try await client.list(InstanceQuery(limit: 1_000, parentInstanceID: "schedule:\(id)")).instances.sorted { $0.id < $1.id }
        }
        try await client.createSchedule("skips", try definition(.skip))
        try await client.createSchedule("terminates", try definition(.terminateRunning))
        let deadline = ContinuousClock.now + .seconds(30)
        while try await children("terminates").count < 3 {
            try require(ContinuousClock.now < deadline, "the terminating schedule did not fire three times")
            try await Task.sleep(for: .milliseconds(100))
        }
        let skipped = try await client.describeSchedule("skips")
        try require(try await children("skips").count == 1, "the skipping schedule started a second firing while the first ran")
        try require(skipped.recent.contains { $0.outcome == "skipped: overlap" }, "describe shows the skipped firings: \(skipped.recent)")
        // Each newer firing of the other schedule terminated the one before.
        let terminated = try await children("terminates")
        for older in terminated.dropLast() {
            let info = try await client.waitForCompletion(instanceID: older.id, timeout: .seconds(10))
            try require(info.status == .cancelled, "\(older.id) was not terminated by the next firing: \(info.status)")
        }
        try await client.deleteSchedule("skips")
        try await client.deleteSchedule("terminates")
    }
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
        // A deleted schedule's id can be used again; the firings of the first one stay.
        let kept = try await fired().count
        try await client.createSchedule("tick", definition)
        _ = try await waitFor(kept + 1)
        try await client.deleteSchedule("tick")
        try await second.stop()
    } catch {
        try? await first.stop()
        try? await second.stop()
        throw error
    }
}
