import Durable
import Foundation
import Synchronization

// Flow control end to end: a rate limit holds across the fleet.
extension RuntimeScenarios {
    static let flowControlScenarios: [Scenario] = [
        Scenario(name: "a 20/s rate limit holds across two nodes", body: rateLimitAcrossNodes),
        Scenario(name: "starts by key: a debounce of 100 calls starts one instance, singletons skip or queue", body: keyedStarts),
        Scenario(name: "a concurrency limit of 2 per key holds while 200 instances of 5 keys run on two nodes", body: concurrencyLimits),
        Scenario(name: "two nodes work a backlog of two priorities higher first", body: prioritizedBacklog),
    ]
}

/// When each attempt started, by the test's clock.
final class StartTimes: Sendable {
    private let times = Mutex<[ContinuousClock.Instant]>([])

    func record() { self.times.withLock { $0.append(.now) } }
    var sorted: [ContinuousClock.Instant] { self.times.withLock { $0.sorted() } }
}

/// Records when it started; its calls go through rate limit "api" (its type's default).
struct Limited: Activity {
    static let rateLimit: String? = "api"
    var starts = StartTimes()
    func run(_ input: Int, context: ActivityContext) async throws -> Int {
        self.starts.record()
        return input
    }
}

/// Fans out `input` rate-limited activities at once.
struct LimitedFanOut: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.whenAll((0..<input).map { context.scheduleActivity(Limited.self, $0) }).reduce(0, +)
    }
}

private func rateLimitAcrossNodes(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    try await client.defineRateLimit(try RateLimit(name: "api", limit: 20, per: .seconds(1)))
    let starts = StartTimes()
    let registry = try registry { try $0.register(LimitedFanOut()); try $0.register(Limited(starts: starts)) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let count = 100
        let id = try await client.start(LimitedFanOut.self, input: count)
        let sum = try await client.result(of: LimitedFanOut.self, instanceID: id, timeout: .seconds(60))
        try require(sum == count * (count - 1) / 2, "every activity ran once: \(sum)")
        let times = starts.sorted
        try require(times.count == count, "\(times.count) attempts started for \(count) activities")
        // The rate of the median stretch of 10 starts: a start woken late on a loaded machine (the
        // slots stay where they are, so a late one is followed by one on time) skews a few
        // stretches, not the median.
        let stretches = (0..<(count - 10)).map { (times[$0 + 10] - times[$0]).seconds }.sorted()
        let rate = 10 / stretches[stretches.count / 2]
        try require(abs(rate - 20) <= 2, "measured \(rate) starts/s for a limit of 20/s")
        let overall = Double(count - 1) / (times[count - 1] - times[0]).seconds
        try require(overall <= 22, "\(overall) starts/s from the first to the last, faster than the limit")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Returns its input after `Napping.nap`.
struct Napping: Orchestration {
    static let nap = Duration.milliseconds(300)
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        _ = try await context.createTimer(for: Self.nap).value
        return input
    }
}

private func keyedStarts(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Napping()) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        // Debounce: 100 calls in a row, far closer together than the quiet period.
        for input in 0..<100 { try await client.start(Napping.self, input: input, key: "doc", policy: .debounce(quiet: .seconds(2))) }
        try await waitForInstance("doc#0", provider)
        let output = try await client.result(of: Napping.self, instanceID: "doc#0", timeout: .seconds(30))
        try require(output == 99, "the debounced instance got the last call's input, not \(output)")
        let second = try await provider.instance(id: "doc#1")
        try require(second == nil, "one instance for the burst")

        // Singleton, queue: three calls run one after another, in order.
        for input in 1...3 { try await client.start(Napping.self, input: input, key: "sync", policy: .singleton(whenRunning: .queue)) }
        try await waitForInstance("sync#2", provider)
        let last = try await client.result(of: Napping.self, instanceID: "sync#2", timeout: .seconds(30))
        var previous: InstanceInfo?
        for (number, expected) in [(0, 1), (1, 2), (2, 3)] {
            let info = try await client.status(instanceID: "sync#\(number)")
            try require(info.output == (try Payload(encoding: expected)), "sync#\(number) got \(info.output?.json ?? "-")")
            if let previous, let ended = previous.completedAt {
                try require(info.createdAt >= ended, "sync#\(number) started before sync#\(number - 1) ended")
            }
            previous = info
        }
        try require(last == 3, "the queued calls ran in order")

        // Singleton, skip: calls while the first runs start nothing.
        for input in 1...3 { try await client.start(Napping.self, input: input, key: "once", policy: .singleton(whenRunning: .skip)) }
        try await waitForInstance("once#0", provider)
        _ = try await client.result(of: Napping.self, instanceID: "once#0", timeout: .seconds(30))
        let skipped = try await provider.instance(id: "once#1")
        try require(skipped == nil, "the calls made while once#0 ran were skipped")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Returns its input after a short timer.
struct Brief: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        _ = try await context.createTimer(for: .milliseconds(40)).value
        return input
    }
}

private func concurrencyLimits(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Brief()) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let keys = (0..<5).map { "tenant-\($0)" }
        let perKey = 40
        // Samples the instances table for the unfinished instances of each key until told to stop.
        let sampler = Task { () throws -> (samples: Int, most: [String: Int]) in
            var samples = 0
            var most: [String: Int] = [:]
            while !Task.isCancelled {
                let page = try await provider.listInstances(InstanceQuery(statuses: [.pending, .running], name: Brief.name, limit: 1000))
                var running: [String: Int] = [:]
                for info in page.instances { running[String(info.id.prefix { $0 != "#" }), default: 0] += 1 }
                for (key, count) in running { most[key] = max(most[key] ?? 0, count) }
                samples += 1
                try? await Task.sleep(for: .milliseconds(5))
            }
            return (samples, most)
        }
        // The calls of the five keys interleaved; each key's n-th call carries n.
        for number in 0..<perKey {
            for key in keys { try await client.start(Brief.self, input: number, key: key, policy: .concurrency(limit: 2)) }
        }
        for key in keys {
            try await waitForInstance("\(key)#\(perKey - 1)", provider)
            for number in 0..<perKey {
                let output = try await client.result(of: Brief.self, instanceID: "\(key)#\(number)", timeout: .seconds(60))
                try require(output == number, "\(key)#\(number) got the input of call \(output): not in call order")
            }
        }
        sampler.cancel()
        let (samples, most) = try await sampler.value
        for key in keys {
            try require((most[key] ?? 0) <= 2, "\(most[key] ?? 0) instances of \(key) ran at once, over its limit of 2 (\(samples) samples)")
        }
        try require(most.values.contains(2), "no sample saw a key use both of its slots (\(samples) samples): \(most)")

        // One key's backlog does not hold another key back.
        for number in 0..<30 { try await client.start(Brief.self, input: number, key: "busy", policy: .concurrency(limit: 1)) }
        try await client.start(Brief.self, input: 0, key: "quiet", policy: .concurrency(limit: 1))
        try await waitForInstance("quiet#0", provider)
        _ = try await client.result(of: Brief.self, instanceID: "quiet#0", timeout: .seconds(30))
        let busyLast = try await provider.instance(id: "busy#29")
        try require(busyLast == nil, "quiet#0 waited for busy's backlog of 30")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// The order in which instances reached their first activity.
final class Arrivals: Sendable {
    let order = Mutex<[String]>([])
}

/// Records its instance's arrival.
struct Arrive: Activity {
    var arrivals = Arrivals()
    func run(_ input: String, context: ActivityContext) async throws -> Bool {
        self.arrivals.order.withLock { $0.append(input) }
        return true
    }
}

/// Arrives, then ends.
struct Ranked: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Bool {
        try await context.activity(Arrive.self, context.instanceID)
    }
}

private func prioritizedBacklog(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let arrivals = Arrivals()
    let registry = try registry { try $0.register(Ranked()); try $0.register(Arrive(arrivals: arrivals)) }
    // The backlog is there before any node: low-priority starts first, so that oldest-first alone
    // would run them first.
    let count = 30
    for i in 0..<count { try await client.start(Ranked.self, input: i, instanceID: "low-\(i)", priority: 5) }
    for i in 0..<count { try await client.start(Ranked.self, input: i, instanceID: "high-\(i)", priority: 1) }
    let slots = 2
    let nodes = ["node-1", "node-2"].map { node in
        var configuration = RuntimeHarness.configuration(node: node)
        configuration.orchestrationConcurrency = slots
        return RuntimeHarness(provider: provider, registry: registry, configuration: configuration)
    }
    do {
        for i in 0..<count {
            _ = try await client.result(of: Ranked.self, instanceID: "high-\(i)", timeout: .seconds(60))
            _ = try await client.result(of: Ranked.self, instanceID: "low-\(i)", timeout: .seconds(60))
        }
        let order = arrivals.order.withLock { $0 }
        try require(order.count == 2 * count, "\(order.count) arrivals for \(2 * count) instances")
        // A node takes a lower level only when no higher one is ready and unclaimed: once the last
        // high ones are claimed (at most the fleet's slots), low ones may run beside them.
        let firstLow = order.firstIndex { $0.hasPrefix("low-") } ?? order.count
        try require(firstLow >= count - 2 * slots, "a low-priority instance arrived at \(firstLow), before the high ones: \(order)")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Returns once instance `id` exists (its start makes work ready, which the provider announces).
private func waitForInstance(_ id: String, _ provider: any DurableProvider, timeout: Duration = .seconds(30)) async throws {
    let hints = provider.notifications(.orchestrations)
    let found = try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            if try await provider.instance(id: id) != nil { return true }
            for await _ in hints where try await provider.instance(id: id) != nil { return true }
            return false
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return false
        }
        defer { group.cancelAll() }
        return try await group.next() ?? false
    }
    try require(found, "instance \(id) was not started within \(timeout)")
}
