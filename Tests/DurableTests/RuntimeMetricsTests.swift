import Durable
import DurableTesting
import Logging
import MetricsTestKit
import Testing

/// The runtime's metrics as a metrics backend receives them, and metrics from orchestration code
/// emitted once, not again on replay.
@Suite struct RuntimeMetricsTests {
    struct Work: Activity {
        func run(_ input: Int, context: ActivityContext) async throws -> Int { input + 1 }
    }

    struct Counted: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            context.metrics.increment("orders_received_total")
            let value = try await context.activity(Work.self, input)
            try await context.sleep(for: .milliseconds(5))
            let bonus = try await context.event("go", as: Int.self)
            context.metrics.increment("orders_approved_total", dimensions: [("tier", "gold")])
            return value + bonus
        }
    }

    @Test func countersMoveOnceAndNotAgainOnReplay() async throws {
        let metrics = TestMetrics()
        let provider = InMemoryProvider()
        let client = DurableClient(provider: provider)
        var registry = Registry()
        try registry.register(Counted())
        try registry.register(Work())
        var configuration = RuntimeHarness.configuration(node: "metered")
        // No sticky cache: every turn replays the whole history, so a replay-unaware metric would
        // count again at each turn.
        configuration.stickyCacheCapacity = 0
        let runtime = DurableRuntime(
            provider: provider, registry: registry, configuration: configuration,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, metricsFactory: metrics
        )
        let task = Task { try await runtime.run() }
        var ids: [String] = []
        for index in 0..<3 { ids.append(try await client.start(Counted.self, input: index)) }
        for id in ids { try await client.raiseEvent(instanceID: id, name: "go", 10) }
        for (index, id) in ids.enumerated() {
            #expect(try await client.result(of: Counted.self, instanceID: id, timeout: .seconds(10)) == index + 11)
        }
        runtime.beginShutdown()
        try await task.value

        func total(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
            metrics.counters(label: label).filter { counter in
                dimensions.allSatisfy { wanted in counter.dimensions.contains { $0 == wanted } }
            }.map(\.totalValue).reduce(0, +)
        }
        #expect(total("orders_received_total", [("orchestration", "Counted")]) == 3)
        #expect(total("orders_approved_total", [("tier", "gold")]) == 3)
        #expect(total("durable_instances_finished_total", [("orchestration", "Counted"), ("status", "completed"), ("node", "metered")]) == 3)
        #expect(total("durable_turns_total", [("outcome", "committed")]) >= 9)
        #expect(total("durable_activity_attempts_total", [("activity", "Work"), ("outcome", "completed")]) == 3)
        #expect(total("durable_claims_total") > 0)
        #expect(total("durable_sticky_cache_hits_total") == 0)
        let lags = metrics.timers.filter { $0.label == "durable_timer_lag_seconds" }.flatMap(\.values)
        #expect(lags.count == 3, "one timer lag per fired timer")
    }
}
