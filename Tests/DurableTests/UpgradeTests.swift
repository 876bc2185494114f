import Durable
import DurableTesting
import Foundation
import Testing

@Suite struct UpgradeTests {
    struct Later: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            try await context.activity(Greet.self, input)
        }
    }

    static func configuration(_ node: String, capabilityAware: Bool) -> DurableRuntime.Configuration {
        var configuration = RuntimeHarness.configuration(node: node)
        configuration.capabilityAwareClaims = capabilityAware
        configuration.missingHandlerBackoffBase = .milliseconds(100)
        configuration.missingHandlerBackoffCap = .milliseconds(800)
        configuration.claimUnrunnableAfter = .milliseconds(300)
        return configuration
    }

    @Test func anUnregisteredOrchestrationWaitsWithGrowingBackoffThenCompletes() async throws {
        let provider = RecordingProvider(InMemoryProvider())
        let client = DurableClient(provider: provider)
        var old = Registry()
        try old.register(Greet())
        // The filter is off: backoff is the safety net.
        let oldNode = RuntimeHarness(provider: provider, registry: old, configuration: Self.configuration("old", capabilityAware: false))
        let id = try await client.start(Later.self, input: "x", version: "1.0.0")

        let expected: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(800), .milliseconds(800)]
        // Generous: the parallel suite's other tests share the two cooperative threads.
        let deadline = ContinuousClock.now + .seconds(60)
        while provider.abandons.count < expected.count {
            try #require(ContinuousClock.now < deadline, "only \(provider.abandons.count) hand-backs")
            try await Task.sleep(for: .milliseconds(20))
        }
        let abandons = Array(provider.abandons.prefix(expected.count))
        #expect(abandons.map(\.delay) == expected)
        #expect(abandons.allSatisfy { $0.reason == .missingHandler("Later 1.0.0") })
        let claims = provider.claims(of: id)
        for (i, abandon) in abandons.enumerated().dropLast() {
            // The next claim came no earlier than the delay asked for.
            #expect(claims[i + 1] - abandon.at >= abandon.delay - .milliseconds(5))
        }
        let waiting = try await client.status(instanceID: id)
        #expect(waiting.status == .pending && waiting.waitingFor == "Later 1.0.0")
        #expect(oldNode.runtime.statistics.missingHandler >= expected.count)

        var new = old
        try new.register(Later())
        let newNode = RuntimeHarness(provider: provider, registry: new, configuration: Self.configuration("new", capabilityAware: true))
        // The old node keeps claiming it too (its filter is off) and each time hands it back for
        // 800 ms: the new node gets it when it claims first after such a hand-back, usually within
        // a few cycles. Under the parallel suite, whose tests share the two cooperative threads,
        // it took 20-30 s more than once (and once over 30 s), hence the long timeout.
        #expect(try await client.result(of: Later.self, instanceID: id, timeout: .seconds(120)) == "Hello, x!")
        #expect(try await client.status(instanceID: id).waitingFor == nil)
        try await oldNode.stop()
        try await newNode.stop()
    }

    @Test func capabilityAwareNodesLeaveWorkTheyCannotRunAndShowWhatItWaitsFor() async throws {
        let provider = RecordingProvider(InMemoryProvider())
        let client = DurableClient(provider: provider)
        var old = Registry()
        try old.register(Greet())
        // No claim reports when the grace of work no live node can run ends (that would take a search
        // of the ready work): the node takes it at its next safety poll, here a short one.
        var configuration = Self.configuration("old", capabilityAware: true)
        configuration.safetyPollInterval = .milliseconds(500)
        let oldNode = RuntimeHarness(provider: provider, registry: old, configuration: configuration)
        let id = try await client.start(Later.self, input: "y", version: "1.0.0")
        // No live node has Later: after the grace period it is claimed, handed back and shows why.
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.status(instanceID: id).waitingFor == nil {
            try #require(ContinuousClock.now < deadline, "the instance never showed what it waits for")
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await client.list(InstanceQuery(statuses: [.pending])).instances.first?.waitingFor == "Later 1.0.0")

        // Once a live node has it, the old node leaves it alone: no more wasted claims.
        var new = old
        try new.register(Later())
        let newNode = RuntimeHarness(provider: provider, registry: new, configuration: Self.configuration("new", capabilityAware: true))
        #expect(try await client.result(of: Later.self, instanceID: id, timeout: .seconds(10)) == "Hello, y!")
        let wasted = oldNode.runtime.statistics.missingHandler
        let second = try await client.start(Later.self, input: "z", version: "1.0.0")
        #expect(try await client.result(of: Later.self, instanceID: second, timeout: .seconds(10)) == "Hello, z!")
        #expect(oldNode.runtime.statistics.missingHandler == wasted, "the old node claimed work a live node can run")
        try await oldNode.stop()
        try await newNode.stop()
    }
}

@Suite struct PoisonTests {
    struct Once: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            do {
                return try await context.activity(Greet.self, input)
            } catch let error as DurableError where error.failure?.code == DurableError.Code.poisoned.description {
                return "activity poisoned: \(error.failure?.message ?? "")"
            }
        }
    }

    static func registry() throws -> Registry {
        var registry = Registry()
        try registry.register(Once())
        try registry.register(Greet())
        return registry
    }

    @Test func aTurnThatKeepsCrashingItsNodeIsPoisoned() async throws {
        let provider = InMemoryProvider(leaseDuration: .milliseconds(50))
        let client = DurableClient(provider: provider)
        let id = try await client.start(Once.self, input: "p")
        // Ten nodes claim the turn and die before committing.
        for crash in 1...10 {
            var claimed: [OrchestrationWorkItem] = []
            while claimed.isEmpty {
                claimed = try await provider.claimOrchestrations(ClaimRequest(owner: "crasher-\(crash)", limit: 1)).items
                if claimed.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(claimed[0].deliveryCount == crash)
        }
        let runtime = RuntimeHarness(provider: provider, registry: try Self.registry(), configuration: RuntimeHarness.configuration(node: "n"))
        let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(10))
        #expect(info.status == .failed)
        #expect(info.failure?.code == DurableError.Code.poisoned.description)
        #expect(info.failure?.message.contains("delivered 11 times") == true)
        #expect(runtime.runtime.statistics.poisoned == 1)
        try await runtime.stop()
    }

    @Test func anActivityThatKeepsHangingIsPoisoned() async throws {
        struct Hang: Activity {
            static let name = "Greet"
            func run(_ input: String, context: ActivityContext) async throws -> String {
                try await Task.sleep(for: .seconds(3600))
                return input
            }
        }
        let provider = InMemoryProvider(leaseDuration: .milliseconds(200))
        let client = DurableClient(provider: provider)
        var registry = Registry()
        try registry.register(Once())
        try registry.register(Hang())
        var configuration = RuntimeHarness.configuration(node: "n", renewal: .milliseconds(50))
        configuration.maxActivityDuration = .milliseconds(100)
        configuration.poisonLimit = 3
        let runtime = RuntimeHarness(provider: provider, registry: registry, configuration: configuration)
        let id = try await client.start(Once.self, input: "h")
        let output = try await client.result(of: Once.self, instanceID: id, timeout: .seconds(20))
        #expect(output.hasPrefix("activity poisoned: activity 'Greet' was delivered 4 times"))
        #expect(runtime.runtime.statistics.poisoned == 1)
        try await runtime.stop()
    }

    @Test func waitingForAHandlerNeverCountsTowardsPoison() async throws {
        let provider = InMemoryProvider()
        let client = DurableClient(provider: provider)
        var configuration = UpgradeTests.configuration("n", capabilityAware: false)
        configuration.poisonLimit = 2
        configuration.missingHandlerBackoffCap = .milliseconds(100)
        let runtime = RuntimeHarness(provider: provider, registry: Registry(), configuration: configuration)
        let id = try await client.start(Once.self, input: "w", version: "1.0.0")
        let deadline = ContinuousClock.now + .seconds(30)
        while runtime.runtime.statistics.missingHandler < 8 {
            try #require(ContinuousClock.now < deadline)
            try await Task.sleep(for: .milliseconds(20))
        }
        let info = try await client.status(instanceID: id)
        #expect(info.status == .pending, "eight handler misses with a poison limit of 2 must not fail it")
        #expect(runtime.runtime.statistics.poisoned == 0)
        try await runtime.stop()
    }
}
