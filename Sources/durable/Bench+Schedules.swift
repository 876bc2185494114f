import ArgumentParser
import Durable
import Foundation
import PostgresNIO

/// What the schedules workload fires.
struct Fired: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int { input }
}

extension Bench {
    /// `scheduleCount` schedules due at the same minute (every 60 s): from each nominal time to the
    /// creation of its instance, p50 / p99 / max; then the statements a minute the fleet issues
    /// between two firings, with all those schedules defined (to compare with the idle workload).
    func schedules(url: String) async throws -> [String: Stat] {
        let environment = try await BenchEnvironment(url: url, bench: self)
        let client = DurableClient(provider: environment.client)
        let count = self.scheduleCount
        let definition = ScheduleDefinition(orchestration: Fired.name, input: try Payload(encoding: 1), spec: ScheduleSpec(.every(.seconds(60))))
        for i in 0..<count { try await client.createSchedule("s\(i)", definition) }
        // The first whole minute that all of them have waited for since their creation.
        let created = Date()
        let deadline = ContinuousClock.now + .seconds(150)
        var rows: [(String, Date)] = []
        while true {
            rows = try await environment.query("SELECT id, created_at FROM \(environment.schema).instances WHERE parent_instance LIKE 'schedule:%'")
                .map { try $0.decode((String, Date).self) }
            // Only the firings of one minute: the first minute after every schedule existed.
            let minute = (created.timeIntervalSince1970 / 60).rounded(.up) * 60
            let firstMinute = rows.filter { ScheduleStateMachine.nominal(ofInstance: $0.0).map { $0.timeIntervalSince1970 == minute } ?? false }
            if firstMinute.count >= count {
                rows = firstMinute
                break
            }
            guard ContinuousClock.now < deadline else { throw ValidationError("only \(firstMinute.count) of \(count) schedules fired at the same minute") }
            try await Task.sleep(for: .milliseconds(500))
        }
        let lags = rows.compactMap { id, createdAt in ScheduleStateMachine.nominal(ofInstance: id).map { createdAt.timeIntervalSince($0) * 1000 } }
        // Between two firings: from 15 s after this minute's to 5 s before the next.
        let nominal = ScheduleStateMachine.nominal(ofInstance: rows[0].0)!
        try await Task.sleep(for: .seconds(max(0, nominal.addingTimeInterval(15).timeIntervalSinceNow)))
        let before = try await environment.statementsAndCommits()
        try await Task.sleep(for: .seconds(40))
        let after = try await environment.statementsAndCommits()
        await environment.stop()
        return [
            "firing lag p50 ms": Stat([percentile(lags, 0.5)]),
            "firing lag p99 ms": Stat([percentile(lags, 0.99)]),
            "firing lag max ms": Stat([lags.max() ?? 0]),
            "statements/min between firings": Stat([Double(after.statements - before.statements - 2) * 60 / 40]),
        ]
    }
}
