import ArgumentParser
import Durable
import Foundation

/// Waits for an event; its query "progress" answers with its input.
struct Queried: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        context.setQueryHandler("progress") { input }
        return try await context.event("go", as: Int.self)
    }
}

extension Bench {
    /// Query round trips through PostgreSQL (client → node → client), one at a time: answered from
    /// the node's kept execution, then with the sticky cache off (each query replays the history).
    func queries(url: String) async throws -> [String: Stat] {
        var results: [String: [Double]] = [:]
        for (source, cache) in [("memory", self.stickyCache), ("replay", 0)] {
            var bench = self
            bench.nodes = 1
            bench.stickyCache = cache
            for run in 0...self.runs {
                let environment = try await BenchEnvironment(url: url, bench: bench)
                let client = DurableClient(provider: environment.client)
                let id = try await client.start(Queried.self, input: 42)
                try await environment.waitUntilWaiting(count: 1, timeout: .seconds(30))
                var samples: [Double] = []
                var fromMemory = 0
                for i in 0..<(run == 0 ? 20 : self.samples) {
                    let started = ContinuousClock.now
                    let answer = try await client.query(instanceID: id, name: "progress", input: .null)
                    samples.append((ContinuousClock.now - started).secondsValue * 1000)
                    guard try answer.output(instanceID: id, query: "progress").decode(Int.self) == 42 else {
                        throw ValidationError("query \(i) got a wrong answer: \(answer)")
                    }
                    if answer.fromMemory { fromMemory += 1 }
                }
                await environment.stop()
                if run == 0 { continue }
                results["\(source) p50 ms", default: []].append(percentile(samples, 0.5))
                results["\(source) p99 ms", default: []].append(percentile(samples, 0.99))
                results["\(source) answered from memory %", default: []].append(100 * Double(fromMemory) / Double(samples.count))
            }
        }
        return results.mapValues(Stat.init)
    }
}

/// Waits for one stop order of its fleet.
struct StopWatcher: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        try await context.subscribe(to: "fleet/+/stop").next(as: String.self).topic
    }
}

extension Bench {
    /// One publication to `publishCount` subscribers (beside as many subscriptions to other
    /// topics): how long the publish takes (when it returns, every subscriber has it in its
    /// inbox), and how long until a node has run every subscriber's turn on it.
    func publications(url: String) async throws -> [String: Stat] {
        var bench = self
        bench.nodes = 1
        let environment = try await BenchEnvironment(url: url, bench: bench, nodes: 0)
        let client = DurableClient(provider: environment.client)
        try await environment.seedSubscribers(self.publishCount, pattern: "fleet/+/stop", name: StopWatcher.name)
        var deliver: [Double] = []
        for run in 0...self.runs {
            let started = ContinuousClock.now
            let delivered = try await client.publish(topic: "fleet/eu/stop", "run \(run)")
            deliver.append((ContinuousClock.now - started).secondsValue * 1000)
            guard delivered == self.publishCount else { throw ValidationError("delivered to \(delivered) of \(self.publishCount)") }
            if run < self.runs { try await environment.execute("DELETE FROM \(environment.schema).messages") }
        }
        let started = ContinuousClock.now
        environment.startNodes(1)
        _ = try await environment.waitUntilCompleted(self.publishCount)
        let consumed = (ContinuousClock.now - started).secondsValue * 1000
        let stopped = try await environment.outputs().filter { $0.1 == #""fleet/eu/stop""# }.count
        await environment.stop()
        guard stopped == self.publishCount else { throw ValidationError("\(stopped) of \(self.publishCount) subscribers completed with the publication") }
        return ["deliver ms": Stat(Array(deliver.dropFirst())), "all consumed ms": Stat([consumed])]
    }
}

/// Counts the updates it gets until its event comes.
struct Counted: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        var count = input
        context.setUpdateHandler("bump") { (by: Int) -> Int in
            count += by
            return count
        }
        return try await context.event("go", as: Int.self) + count
    }
}

extension Bench {
    /// Update round trips, one at a time: the send, the turn that runs the handler and commits
    /// its outcome, the client's read.
    func updates(url: String) async throws -> [String: Stat] {
        var p50: [Double] = []
        var p99: [Double] = []
        var bench = self
        bench.nodes = 1
        for run in 0...self.runs {
            let environment = try await BenchEnvironment(url: url, bench: bench)
            let client = DurableClient(provider: environment.client)
            let id = try await client.start(Counted.self, input: 0)
            try await environment.waitUntilWaiting(count: 1, timeout: .seconds(30))
            var samples: [Double] = []
            for i in 0..<(run == 0 ? 20 : self.samples) {
                let started = ContinuousClock.now
                let count = try await client.update(instanceID: id, "bump", input: 1, as: Int.self)
                samples.append((ContinuousClock.now - started).secondsValue * 1000)
                guard count == i + 1 else { throw ValidationError("update \(i) returned \(count)") }
            }
            await environment.stop()
            if run == 0 { continue }
            p50.append(percentile(samples, 0.5))
            p99.append(percentile(samples, 0.99))
        }
        return ["p50 ms": Stat(p50), "p99 ms": Stat(p99)]
    }
}
