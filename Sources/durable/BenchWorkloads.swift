import Durable
import Foundation

struct Noop: Activity {
    func run(_ input: Int, context: ActivityContext) async throws -> Int { input }
}

struct Fanout5: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        let tasks = (0..<5).map { context.scheduleActivity(Noop.self, input + $0) }
        return try await context.whenAll(tasks).reduce(0, +)
    }
}

struct Chain10: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        var value = input
        for _ in 0..<10 { value = try await context.activity(Noop.self, value + 1) }
        return value
    }
}

struct Single: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await context.activity(Noop.self, input)
    }
}

/// Returns the time of its first turn: the provider's clock at the claim.
struct WakeProbe: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Date {
        context.now
    }
}

/// A long history: `input` activities in sequence, then waits for an event.
struct LongHistory: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        var value = 0
        for _ in 0..<input { value = try await context.activity(Noop.self, value + 1) }
        return try await context.event("go", as: Int.self) + value
    }
}

extension Registry {
    static func bench() throws -> Registry {
        var registry = Registry()
        try registry.register(Noop())
        try registry.register(Fanout5())
        try registry.register(Chain10())
        try registry.register(Single())
        try registry.register(WakeProbe())
        try registry.register(LongHistory())
        try registry.register(TimerProbe())
        try registry.register(Hold())
        try registry.register(HoldOne())
        try registry.register(Queried())
        try registry.register(StopWatcher())
        try registry.register(Counted())
        try registry.register(HeartbeatJob())
        try registry.register(Fired())
        try registry.register(Beating())
        return registry
    }
}

/// Median and spread of repeated measurements.
struct Stat: Codable {
    var median: Double
    var min: Double
    var max: Double
    var runs: [Double]

    init(_ values: [Double]) {
        let sorted = values.sorted()
        self.runs = values
        self.median = sorted.isEmpty ? .nan : sorted[sorted.count / 2]
        self.min = sorted.first ?? .nan
        self.max = sorted.last ?? .nan
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return sorted[max(0, index)]
}

extension Duration {
    var secondsValue: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
