import Durable
import Foundation
import Testing

/// Query handlers in the engine: answered from a replay or from the kept execution, read-only.
@Suite struct QueryTests {
    struct Oops: Error {}

    struct Tracked: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            var stage = "greeting"
            var greetings: [String] = []
            context.setQueryHandler("stage") { stage }
            context.setQueryHandler("greeting") { (index: Int) -> String in greetings[index] }
            context.setQueryHandler("sneaky") { () -> Bool in
                _ = context.scheduleActivity(Greet.self, "not in a query")
                return true
            }
            context.setQueryHandler("dice") { context.random(in: 1...6) }
            context.setQueryHandler("broken") { () throws -> Int in throw Oops() }
            greetings.append(try await context.activity(Greet.self, input))
            stage = "waiting"
            let go = try await context.event("go", as: String.self)
            stage = "done: \(go)"
            return go
        }
    }

    func waiting(cache: Int = 0) throws -> EngineHarness {
        var registry = Registry()
        try registry.register(Tracked())
        try registry.register(Greet())
        var harness = EngineHarness(engine: OrchestrationEngine(registry: registry, cacheCapacity: cache))
        try harness.start("Tracked", "ada")
        try harness.turn(.activityCompleted(operationID: 1, result: try Payload(encoding: "Hello, ada!")))
        return harness
    }

    func ask(_ harness: EngineHarness, _ name: String, _ input: Payload = .null) -> Result<Payload, DurableError> {
        harness.engine.query(instanceID: harness.instanceID, history: harness.history, name: name, input: input)
    }

    @Test func aReplayAnswersFromTheStateOfTheLastTurn() throws {
        let harness = try self.waiting()
        #expect(try self.ask(harness, "stage").get().decode(String.self) == "waiting")
        #expect(try self.ask(harness, "greeting", json(0)).get().decode(String.self) == "Hello, ada!")
        // Up to the first turn only: the activity's result is not in that history yet.
        let firstTurn = harness.history.prefix { if case .activityCompleted = $0.kind { false } else { true } }
        let first = harness.engine.query(instanceID: harness.instanceID, history: Array(firstTurn), name: "stage", input: .null)
        #expect(try first.get().decode(String.self) == "greeting")
    }

    @Test func aFinishedInstanceAnswersFromItsFinalState() throws {
        var harness = try self.waiting()
        try harness.turn(.eventRaised(name: "go", input: json("now")))
        #expect(try self.ask(harness, "stage").get().decode(String.self) == "done: now")
    }

    @Test func theKeptExecutionAnswersOnlyForTheCommittedHistory() throws {
        var harness = try self.waiting(cache: 10)
        let answer = harness.engine.queryKept(instanceID: harness.instanceID, executionID: "exec-1", historyCount: harness.history.count, name: "stage", input: .null)
        #expect(try answer?.get().decode(String.self) == "waiting")
        // A history the kept execution does not end with (a commit in flight, another execution).
        #expect(harness.engine.queryKept(instanceID: harness.instanceID, executionID: "exec-1", historyCount: harness.history.count - 1, name: "stage", input: .null) == nil)
        #expect(harness.engine.queryKept(instanceID: harness.instanceID, executionID: "other", historyCount: harness.history.count, name: "stage", input: .null) == nil)
        // The execution is kept after the query: the next turn goes on from memory.
        #expect(harness.engine.cachedExecutions == 1)
        let done = try harness.turn(.eventRaised(name: "go", input: json("later")))
        #expect(try done.output?.decode(String.self) == "later")
    }

    @Test func aHandlerThatDoesSomethingDurableIsRefusedAndTheKeptExecutionDropped() throws {
        let harness = try self.waiting(cache: 10)
        for name in ["sneaky", "dice"] {
            #expect(throws: DurableError.self) { try self.ask(harness, name).get() }
            #expect(self.code(self.ask(harness, name)) == .queryNotReadOnly)
        }
        let kept = harness.engine.queryKept(instanceID: harness.instanceID, executionID: "exec-1", historyCount: harness.history.count, name: "dice", input: .null)
        #expect(kept.map(self.code) == .queryNotReadOnly)
        #expect(harness.engine.cachedExecutions == 0)
        // The next turn replays: its decisions are those of an untouched execution.
        var next = harness
        let done = try next.turn(.eventRaised(name: "go", input: json("ok")))
        #expect(try done.output?.decode(String.self) == "ok")
    }

    @Test func unknownAndFailingQueriesHaveTypedErrors() throws {
        let harness = try self.waiting()
        let unknown = self.ask(harness, "nope")
        #expect(self.code(unknown) == .queryNotDefined)
        if case .failure(let error) = unknown { #expect(error.message.contains("'broken', 'dice', 'greeting', 'sneaky', 'stage'")) }
        #expect(self.code(self.ask(harness, "broken")) == .queryFailed)
        #expect(self.code(self.ask(harness, "greeting", json("not a number"))) == .queryFailed)
        let notStarted = harness.engine.query(instanceID: "fresh", history: [], name: "stage", input: .null)
        #expect(self.code(notStarted) == .queryNotDefined)
    }

    func code(_ result: Result<Payload, DurableError>) -> DurableError.Code? {
        if case .failure(let error) = result { error.code } else { nil }
    }
}

/// Subscriptions are decisions; publications arrive as events of the pattern.
@Suite struct TopicEngineTests {
    struct Listener: Orchestration {
        func run(_ pattern: String, context: OrchestrationContext) async throws -> String {
            let subscription = try context.subscribe(to: pattern)
            let first = try await subscription.next(as: Int.self)
            try context.unsubscribe(from: pattern)
            return "\(first.topic)=\(first.data)"
        }
    }

    @Test func aSubscriptionIsRecordedAndAPublicationDelivered() throws {
        var harness = try EngineHarness { try $0.register(Listener()) }
        let started = try harness.start("Listener", "orders/#")
        #expect(started.actions.contains(.subscribe(pattern: "orders/#")))
        #expect(harness.decisions.contains(.topicSubscribed(pattern: "orders/#")))
        #expect(started.awaitedEvents == [TopicSubscription.eventName("orders/#")])
        let envelope = Payload(json: #"{"data":7,"topic":"orders/42"}"#)
        let done = try harness.turn(.eventRaised(name: TopicSubscription.eventName("orders/#"), input: envelope))
        #expect(done.actions.contains(.unsubscribe(pattern: "orders/#")))
        #expect(try done.output?.decode(String.self) == "orders/42=7")
        #expect(try harness.replay().newEvents.isEmpty)
    }

    @Test func aMalformedPatternFailsTheCall() throws {
        var harness = try EngineHarness { try $0.register(Listener()) }
        let result = try harness.start("Listener", "orders/#/eu")
        #expect(result.failure?.code == DurableError.Code.invalidInput.description)
    }
}
