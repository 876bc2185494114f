import ArgumentParser
import Durable
import Foundation

/// Sleeps a millisecond `input` times, heartbeating its progress each time unless the input is
/// negative (the same work, silent).
struct Beating: Activity {
    func run(_ input: Int, context: ActivityContext) async throws -> Int {
        for step in 1...abs(input) {
            if input > 0 { try context.heartbeat(step) }
            try await Task.sleep(for: .milliseconds(1))
        }
        return abs(input)
    }
}

/// One long activity: heartbeating with a heartbeat timeout of 5 s (a check every second), or
/// silent without one (a negative input).
struct HeartbeatJob: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.activity(Beating.self, input, heartbeatTimeout: input > 0 ? .seconds(5) : nil)
    }
}

extension Bench {
    /// What heartbeats cost PostgreSQL: 10 activities heartbeating once a millisecond for about
    /// 10 s each with a 5 s heartbeat timeout, against the same activities silent (without one). The
    /// statements all of it issued (claims, commits, renewals, the node's own heartbeats) per 1,000
    /// heartbeats, less those of the silent run.
    func heartbeats(url: String) async throws -> [String: Stat] {
        var bench = self
        bench.nodes = 1
        let activities = 10
        let steps = 10_000
        var perThousand: [Double] = []
        var written: [Double] = []
        for _ in 0..<max(1, self.runs) {
            var statements: [Bool: Int64] = [:]
            var seconds: [Bool: Double] = [:]
            for beating in [true, false] {
                let environment = try await BenchEnvironment(url: url, bench: bench)
                let client = DurableClient(provider: environment.client)
                let before = try await environment.statementsAndCommits()
                let started = ContinuousClock.now
                for i in 0..<activities { _ = try await client.start(HeartbeatJob.self, input: beating ? steps : -steps, instanceID: "beat-\(i)") }
                // Polled once a second: the polls cost as much in both runs.
                while try await environment.outputs().filter({ !$0.1.isEmpty }).count < activities {
                    guard ContinuousClock.now - started < .seconds(120) else { throw ValidationError("the heartbeat workload did not finish in 2 min") }
                    try await Task.sleep(for: .seconds(1))
                }
                seconds[beating] = (ContinuousClock.now - started).secondsValue
                statements[beating] = try await environment.statementsAndCommits().statements - before.statements
                await environment.stop()
            }
            let beats = Double(activities * steps)
            let extra = Double(statements[true]! - statements[false]!)
            perThousand.append(max(0, extra) / beats * 1000)
            written.append(Double(statements[true]!) / (seconds[true]! * Double(activities)))
        }
        return [
            "statements per 1000 heartbeats": Stat(perThousand),
            "statements/s per heartbeating activity": Stat(written),
        ]
    }
}
