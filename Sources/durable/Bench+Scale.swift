import ArgumentParser
import Durable
import Foundation

/// Sleeps until the time given as its input (milliseconds since 1970) and returns the time of the
/// turn the timer woke: the provider's clock at that claim.
struct TimerProbe: Orchestration {
    func run(_ input: Int64, context: OrchestrationContext) async throws -> Double {
        try await context.sleep(until: Date(timeIntervalSince1970: Double(input) / 1000))
        return context.now.timeIntervalSince1970
    }
}

extension Bench {
    var scaleSizes: [Int] {
        self.scaleBacklogs.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// fanout5 at growing backlogs: all n instances are started (ready) before the nodes start,
    /// and the throughput is measured from the nodes' start to the last completion, so what the
    /// claims cost at each backlog shows in it; the start phase (16 clients) is reported apart.
    /// After one unmeasured warm-up run, backlogs up to 5,000 (a second or so of work each) run
    /// `runs` times and give their median, so the ratio's base is not one cold run.
    func scale(url: String) async throws -> [String: Stat] {
        var results: [String: Stat] = [:]
        var base = Double.nan
        if let first = self.scaleSizes.first {
            _ = try await self.scaleRun(url: url, n: first)
        }
        for n in self.scaleSizes {
            var rates: [Double] = []
            var startRates: [Double] = []
            for _ in 0..<(n <= 5_000 ? max(1, self.runs) : 1) {
                let (rate, starts) = try await self.scaleRun(url: url, n: n)
                print("n=\(n): started at \(Int(starts)) starts/s, worked through at \(Int(rate)) orchestrations/s")
                rates.append(rate)
                startRates.append(starts)
            }
            let rate = percentile(rates, 0.5)
            if n == self.scaleSizes.first { base = rate }
            results["n=\(n) orchestrations/s"] = Stat(rates)
            results["n=\(n) ratio to n=\(self.scaleSizes.first!)"] = Stat([rate / base])
            results["n=\(n) starts/s"] = Stat(startRates)
        }
        return results
    }

    /// One scale run in a fresh schema: the throughput from the nodes' start, and the start rate.
    private func scaleRun(url: String, n: Int) async throws -> (rate: Double, starts: Double) {
        let environment = try await BenchEnvironment(url: url, bench: self, nodes: 0)
        let starting = ContinuousClock.now
        try await self.startAll(environment, Fanout5.self, count: n)
        let started = ContinuousClock.now
        environment.startNodes(self.nodes)
        _ = try await environment.waitUntilCompleted(n)
        let rate = Double(n) / (ContinuousClock.now - started).secondsValue
        await environment.stop()
        return (rate, Double(n) / (started - starting).secondsValue)
    }

    /// fanout5 in a schema that already holds `finishedCount` finished instances with their
    /// histories (seeded with SQL), against an empty schema.
    func finished(url: String) async throws -> [String: Stat] {
        var empty: [Double] = []
        var full: [Double] = []
        for run in 0..<max(1, self.runs) {
            for seeded in [false, true] {
                let environment = try await BenchEnvironment(url: url, bench: self)
                if seeded {
                    print("seeding \(self.finishedCount) finished instances…")
                    try await environment.seedFinished(self.finishedCount)
                }
                let rate = try await self.measureThroughput(environment, Fanout5.self, count: self.n)
                await environment.stop()
                (seeded ? { full.append(rate) } : { empty.append(rate) })()
                print("run \(run + 1) \(seeded ? "with \(self.finishedCount) finished" : "empty schema"): \(Int(rate)) orchestrations/s")
            }
        }
        let ratio = Stat(zip(full, empty).map { $0 / $1 })
        return ["empty orchestrations/s": Stat(empty), "finished orchestrations/s": Stat(full), "finished/empty": ratio]
    }

    /// `timerCount` instances whose timers come due in the same second: lag from due to fired.
    func timers(url: String) async throws -> [String: Stat] {
        let environment = try await BenchEnvironment(url: url, bench: self)
        let client = DurableClient(provider: environment.client)
        let due = Int64((Date().timeIntervalSince1970 + self.timerLead) * 1000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: self.timerCount, by: 16) {
                        // Due within one second: spread over it by the instance number.
                        try await client.start(TimerProbe.self, input: due + Int64(i % 1000), instanceID: "t\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let created = Date().timeIntervalSince1970
        guard created * 1000 < Double(due) else {
            throw ValidationError("starting \(self.timerCount) instances took longer than --timer-lead \(self.timerLead) s; raise it")
        }
        _ = try await environment.waitUntilCompleted(self.timerCount)
        let fired = try await environment.outputs()
        await environment.stop()
        var lags: [Double] = []
        for (id, output) in fired {
            guard let index = Int(id.dropFirst()), let firedAt = Double(output) else { continue }
            lags.append((firedAt - Double(due + Int64(index % 1000)) / 1000) * 1000)
        }
        return ["lag p50 ms": Stat([percentile(lags, 0.5)]), "lag p99 ms": Stat([percentile(lags, 0.99)]), "lag max ms": Stat([lags.max() ?? .nan])]
    }

    /// `resumeCount` instances held by a node that died (its leases live on for an hour, its
    /// heartbeat stopped): the time until a fresh node has finished all of them, and the largest
    /// claim it made.
    func resume(url: String) async throws -> [String: Stat] {
        let environment = try await BenchEnvironment(url: url, bench: self, nodes: 0)
        let client = DurableClient(provider: environment.client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: self.resumeCount, by: 16) {
                        try await client.start(Single.self, input: i, instanceID: "r\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        try await environment.killNode(holding: self.resumeCount)
        let started = ContinuousClock.now
        environment.startNodes(self.nodes)
        _ = try await environment.waitUntilCompleted(self.resumeCount)
        let elapsed = (ContinuousClock.now - started).secondsValue
        await environment.stopNodes()
        let largest = environment.runtimes.map(\.statistics.largestTurnClaim).max() ?? 0
        await environment.stop()
        return ["seconds": Stat([elapsed]), "largest claim": Stat([Double(largest)]), "instances/s": Stat([Double(self.resumeCount) / elapsed])]
    }
}
