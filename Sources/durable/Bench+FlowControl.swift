import Durable
import Foundation

extension Bench {
    /// fanout5 started by key, `n` instances spread over `concurrencyKeys` keys with a concurrency
    /// limit of `concurrencyLimit` each, against the same fanout5 started by id; each measured run
    /// does both, one after the other, in fresh schemas.
    func keyed(url: String) async throws -> [String: Stat] {
        var byID: [Double] = []
        var byKey: [Double] = []
        for run in 0...self.runs {
            let count = run == 0 ? max(10, self.n / 10) : self.n
            for keyed in [false, true] {
                let environment = try await BenchEnvironment(url: url, bench: self)
                let rate = keyed ? try await self.measureKeyed(environment, count: count) : try await self.measure(environment, Fanout5.self, count: count).rate
                await environment.stop()
                guard run > 0 else { continue }
                if keyed { byKey.append(rate) } else { byID.append(rate) }
            }
        }
        return [
            "fanout5 by id orchestrations/s": Stat(byID),
            "fanout5 by key orchestrations/s": Stat(byKey),
            "by key / by id": Stat(zip(byKey, byID).map { $0 / $1 }),
        ]
    }

    /// Starts `count` fanout5 by key (16 clients at once; start `i` takes key `i % concurrencyKeys`)
    /// and waits until all finished: orchestrations per second over the whole.
    private func measureKeyed(_ environment: BenchEnvironment, count: Int) async throws -> Double {
        let client = DurableClient(provider: environment.client)
        let (keys, limit) = (self.concurrencyKeys, self.concurrencyLimit)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: count, by: 16) {
                        try await client.start(Fanout5.self, input: i, key: "k\(i % keys)", policy: .concurrency(limit: limit))
                    }
                }
            }
            try await group.waitForAll()
        }
        // The keys' own instances wait for calls and never finish: only the starts count.
        _ = try await environment.waitUntilCompleted(count)
        return Double(count) / (ContinuousClock.now - started).secondsValue
    }
}
