import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

extension MultiProcessTests {
    /// A 10 s activity heartbeating its progress (the example's ShipOrder: 20 parcels of 500 ms) is
    /// SIGKILLed with its worker; the other worker takes it over and resumes from the checkpoint.
    @Test func aKilledHeartbeatingActivityResumesFromItsCheckpoint() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        let schema = fleet.schema
        let arguments = ["--heartbeat-milliseconds", "1000", "--activity-delay-milliseconds", "500"]
        let pids = ["node-1": try fleet.start(nodeID: "node-1", arguments: arguments), "node-2": try fleet.start(nodeID: "node-2", arguments: arguments)]

        let client = DurableClient(provider: instance.provider)
        let items = (1...20).map { #""item-\#($0)""# }.joined(separator: ",")
        let order = #"{"id":"big","customer":"c","items":[\#(items)],"totalCents":500,"coolingOffMilliseconds":0}"#
        try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: "big-order")

        // Kill the worker shipping the order once it has checkpointed 4 parcels.
        let shipping = "SELECT coalesce(split_part(lock_owner, '#', 1), ''), coalesce(heartbeat, '0') FROM \(schema).activity_tasks WHERE name = 'ShipOrder' AND locked_until > now()"
        let deadline = ContinuousClock.now + .seconds(60)
        var victim = ""
        var checkpoint = 0
        while victim.isEmpty {
            if let row = try await PostgresTestDatabase.query(shipping).first {
                let (owner, heartbeat) = try row.decode((String, String).self)
                if let shipped = Int(heartbeat), shipped >= 4, let pid = pids[owner] {
                    fleet.kill(pid)
                    victim = owner
                    checkpoint = shipped
                }
            }
            try #require(ContinuousClock.now < deadline, "the order never got to shipping with checkpoints")
            if victim.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }

        let info = try await client.waitForCompletion(instanceID: "big-order", timeout: .seconds(60))
        #expect(info.status == .completed, "the order is \(info.status): \(String(describing: info.failure))")
        let history = try await client.history(instanceID: "big-order")
        let ship = history.compactMap { if case .activityScheduled(let op, "ShipOrder", _, _, _, _, _, _, _) = $0.kind { op } else { nil } }
        let completed = history.compactMap { if case .activityCompleted(let op, _) = $0.kind { op } else { nil } }
        #expect(ship.count == 1 && completed.filter { $0 == ship[0] }.count == 1, "ShipOrder scheduled \(ship), completions \(completed)")
        // The survivor logged the resume, from at least the checkpoint seen before the kill.
        let survivor = victim == "node-1" ? "node-2" : "node-1"
        let log = try String(contentsOf: fleet.logDirectory.appendingPathComponent("\(survivor).log"), encoding: .utf8)
        let resumed = log.split(separator: "\n").filter { $0.contains("shipping resumed from a checkpoint") }
        #expect(resumed.count == 1, "\(resumed.count) resumes logged by \(survivor)")
        let from = resumed.first.flatMap { line in line.range(of: "shipped=").map { Int(line[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } } ?? 0
        #expect(from >= checkpoint && from < 20, "resumed after parcel \(from); \(checkpoint) were checkpointed before the kill")
    }
}
