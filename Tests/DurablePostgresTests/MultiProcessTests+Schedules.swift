import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

extension MultiProcessTests {
    /// A schedule firing every second on two worker processes; the one holding the schedule's
    /// instance is SIGKILLed. From the first firing to the last: exactly one instance per second,
    /// none missing (the seconds of the takeover are caught up), none twice.
    @Test func aScheduleSurvivesTheKillOfTheWorkerFiringIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        let schema = fleet.schema
        let arguments = ["--heartbeat-milliseconds", "1000", "--activity-delay-milliseconds", "10"]
        let pids = ["node-1": try fleet.start(nodeID: "node-1", arguments: arguments), "node-2": try fleet.start(nodeID: "node-2", arguments: arguments)]
        let client = DurableClient(provider: instance.provider)
        let order = #"{"id":"tick","customer":"c","items":["pen"],"totalCents":100,"coolingOffMilliseconds":0}"#
        try await client.createSchedule("orders", ScheduleDefinition(
            orchestration: "ProcessOrder", input: Payload(json: order), spec: ScheduleSpec(.every(.seconds(1))), policy: SchedulePolicy(overlap: .allowAll)
        ))
        func fired() async throws -> [String] {
            try await PostgresTestDatabase.query("SELECT id FROM \(schema).instances WHERE parent_instance = 'schedule:orders' ORDER BY id")
                .map { try $0.decode(String.self) }
        }
        func waitFor(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while try await fired().count < count {
                try #require(ContinuousClock.now < deadline, "the schedule stopped firing")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        try await waitFor(3)
        // Kill the worker that committed the schedule's last turn (it keeps its execution).
        let holder = try await PostgresTestDatabase.query("SELECT coalesce(turn_node, '') FROM \(schema).instances WHERE id = 'schedule:orders'")[0].decode(String.self)
        let victim = try #require(pids[holder], "the schedule's last turn ran on '\(holder)'")
        fleet.kill(victim)
        let killedAt = try await fired().count
        try await waitFor(killedAt + 6)
        let ids = try await fired()
        let times = ids.compactMap { ISO8601DateFormatter().date(from: String($0.split(separator: "@").last ?? "")) }
        #expect(times.count == ids.count, "deterministic ids: \(ids)")
        let span = Int(times.last!.timeIntervalSince(times.first!))
        #expect(span + 1 == times.count, "one firing per second, none missing, none twice, across the kill of \(holder): \(ids)")
    }
}
