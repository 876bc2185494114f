import Durable
import Foundation
import Synchronization

// Flow control end to end: a rate limit holds across the fleet.
extension RuntimeScenarios {
    static let flowControlScenarios: [Scenario] = [
        Scenario(name: "a 20/s rate limit holds across two nodes", body: rateLimitAcrossNodes),
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
        // Between the 6th and the 95th start: a start woken late on a loaded machine (the slots stay
        // where they are, so a late one is followed by one on time) moves the ends the least.
        let span = (times[count - 6] - times[5]).seconds
        let rate = Double(count - 11) / span
        try require(abs(rate - 20) <= 2, "measured \(rate) starts/s over \(span) s for a limit of 20/s")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}
