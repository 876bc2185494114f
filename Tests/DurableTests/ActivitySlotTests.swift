@testable import Durable
import DurableTesting
import Testing

/// An activity's slot bounds running code: once the code has ended, the slot goes to the next
/// activity while the outcome waits for its write.
@Suite struct ActivitySlotTests {
    struct Ran: Activity {
        var probe: Probe
        func run(_ input: Int, context: ActivityContext) async throws -> Int {
            self.probe.hit("ran")
            return input
        }
    }

    struct FanOut: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            let tasks = (0..<input).map { context.scheduleActivity(Ran.self, $0) }
            return try await context.whenAll(tasks).reduce(0, +)
        }
    }

    @Test func theNextActivityRunsWhileAnOutcomeWaitsForItsWrite() async throws {
        let provider = RecordingProvider(InMemoryProvider())
        let probe = Probe()
        // No outcome is written until the test says so.
        provider.holdCompletions { await probe.wait(for: "writes-open", timeout: .seconds(60)) }
        var registry = Registry()
        try registry.register(FanOut())
        try registry.register(Ran(probe: probe))
        var configuration = RuntimeHarness.configuration(node: "one-slot")
        configuration.activityQueues = [TaskQueue.defaultName: 1]
        let node = RuntimeHarness(provider: provider, registry: registry, configuration: configuration)
        let client = DurableClient(provider: provider)
        let id = try await client.start(FanOut.self, input: 3)

        // One slot, and not one outcome written: each activity ran in the slot its predecessor
        // gave up when its code ended.
        #expect(await probe.wait(for: "ran", count: 3), "only \(probe.count("ran")) of 3 activities ran while the outcomes waited")
        probe.hit("writes-open")
        #expect(try await client.result(of: FanOut.self, instanceID: id, timeout: .seconds(30)) == 0 + 1 + 2)
        try await node.stop()
    }

    @Test func outcomesWaitingForTheirWriteAreBoundedPerSlot() {
        let lane = ActivityLane(queue: "q", concurrency: 2, metrics: .none)
        let allowance = ActivityLane.outcomesPerSlot * 2
        for i in 0..<allowance {
            #expect(lane.handOver(), "outcome \(i + 1) of \(allowance) gives its slot up")
        }
        #expect(!lane.handOver(), "beyond the allowance an activity keeps its slot through its write")
        lane.recorded()
        #expect(lane.handOver(), "a written outcome makes room")
    }
}
