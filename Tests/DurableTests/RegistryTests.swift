import Durable
import Testing

@Suite struct RegistryTests {
    struct OrderV1: Orchestration {
        static let name = "Order"
        static let version = "1.0.0"
        func run(_ input: String, context: OrchestrationContext) async throws -> String { "v1:\(input)" }
    }

    struct OrderV2: Orchestration {
        static let name = "Order"
        static let version = "2.0.0"
        func run(_ input: String, context: OrchestrationContext) async throws -> String { "v2:\(input)" }
    }

    struct OrderV10: Orchestration {
        static let name = "Order"
        static let version = "10.0.0"
        func run(_ input: String, context: OrchestrationContext) async throws -> String { "v10:\(input)" }
    }

    @Test func newStartsTakeTheNewestVersionAndRunningOnesKeepTheirs() throws {
        var registry = Registry()
        try registry.register(OrderV2())
        try registry.register(OrderV1())
        #expect(registry.versionForNewStart(of: "Order") == "2.0.0")

        var fresh = EngineHarness(registry: registry)
        let started = try fresh.start("Order", "a")
        #expect(started.output == json("v2:a"))
        guard case .executionStarted(let start) = fresh.history[0].kind else {
            Issue.record("first event is \(fresh.history[0].kind)")
            return
        }
        #expect(start.version == "2.0.0")

        var pinned = EngineHarness(registry: registry)
        #expect(try pinned.start("Order", "b", version: "1.0.0").output == json("v1:b"))
    }

    @Test func versionsCompareNumerically() throws {
        var registry = Registry()
        try registry.register(OrderV2())
        try registry.register(OrderV10())
        try registry.register(OrderV1())
        #expect(registry.versions(of: "Order") == ["1.0.0", "2.0.0", "10.0.0"])
        #expect(registry.versionForNewStart(of: "Order") == "10.0.0")
        try registry.pin("Order", to: "2.0.0")
        #expect(registry.versionForNewStart(of: "Order") == "2.0.0")
        #expect(throws: DurableError.self) { try registry.pin("Order", to: "3.0.0") }
    }

    @Test func registeringTwiceIsAnError() throws {
        var registry = Registry()
        try registry.register(OrderV1())
        let error = try #require(throws: DurableError.self) { try registry.register(OrderV1()) }
        #expect(error.code == .duplicateRegistration)
        #expect(error.name == "Order")
        #expect(error.version == "1.0.0")
        try registry.register(Greet())
        #expect(throws: DurableError.self) { try registry.register(Greet()) }
        #expect(throws: DurableError.self) { try registry.registerActivity(name: "") { input, _ in input } }
    }

    @Test func unknownOrchestrationNamesWhatIsRegistered() throws {
        var registry = Registry()
        try registry.register(OrderV1())
        var harness = EngineHarness(registry: registry)
        let error = try #require(throws: DurableError.self) { try harness.start("Order", "x", version: "3.0.0") }
        #expect(error.code == .orchestrationNotRegistered)
        #expect(error.version == "3.0.0")
        #expect(error.message.contains("versions 1.0.0 of 'Order'"))
        var other = EngineHarness(registry: registry)
        let unknown = try #require(throws: DurableError.self) { try other.start("Shipping", "x") }
        #expect(unknown.message.contains("no version of 'Shipping'"))
        #expect(unknown.message.contains("Order@1.0.0"))
    }

    @Test func nameBasedHandlersWorkOnJSON() throws {
        var registry = Registry()
        try registry.registerOrchestration(name: "Echo", version: "1") { input, context in
            let greeting = try await context.scheduleActivity(named: "Greet", input: try input.decode(String.self), as: String.self).value
            return try Payload(encoding: ["greeting": greeting])
        }
        var harness = EngineHarness(registry: registry)
        let first = try harness.start("Echo", "json")
        #expect(first.scheduledActivities.first?.name == "Greet")
        let done = try harness.turn(.activityCompleted(operationID: 1, result: json("hi")))
        #expect(done.output?.json == #"{"greeting":"hi"}"#)
    }
}

@Suite struct RetryPolicyTests {
    struct Declined: Error {}

    @Test func exponentialDelaysDoubleUpToTheCap() {
        let policy = RetryPolicy.exponential(maxAttempts: 8, initial: .seconds(1), multiplier: 2, maximum: .seconds(10))
        let failure = FailureDetails(type: "Transient", message: "x")
        let delays = (1...8).map { policy.delay(afterAttempt: $0, failure: failure) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10), .seconds(10), nil])
    }

    @Test func nonRetryableErrorsAreNotRetried() {
        let policy = RetryPolicy.exponential(maxAttempts: 5, nonRetryable: [Declined.self])
        #expect(policy.delay(afterAttempt: 1, failure: FailureDetails(Declined())) == nil)
        #expect(policy.delay(afterAttempt: 1, failure: FailureDetails(type: "Other", message: "")) == .seconds(1))
        #expect(RetryPolicy.none.delay(afterAttempt: 1, failure: FailureDetails(type: "Other", message: "")) == nil)
    }

    @Test func fractionalBackoff() {
        let policy = RetryPolicy(maxAttempts: 4, initialInterval: .milliseconds(100), backoffCoefficient: 1.5, maximumInterval: .seconds(1))
        #expect(policy.backoff(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.backoff(afterAttempt: 2) == .milliseconds(150))
        #expect(policy.backoff(afterAttempt: 3) == .milliseconds(225))
    }
}
