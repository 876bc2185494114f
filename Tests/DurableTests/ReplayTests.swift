import Durable
import DurableTesting
import Foundation
import Testing

@Suite struct ReplayTests {
    /// Runs FanOutGroup to completion, delivering each turn's results in a scrambled but fixed order.
    static func runFanOut(_ name: String, input: Int, registry: Registry) throws -> EngineHarness {
        try runFanOut(name, input: input, engine: OrchestrationEngine(registry: registry))
    }

    static func runFanOut(
        _ name: String,
        input: Int,
        engine: OrchestrationEngine,
        beforeEachTurn: (EngineHarness) -> Void = { _ in }
    ) throws -> EngineHarness {
        var harness = EngineHarness(engine: engine)
        var result = try harness.start(name, input)
        var pending: [HistoryEvent.Kind] = []
        while result.outcome == nil {
            for action in result.actions {
                switch action {
                case .scheduleActivity(let request):
                    let value = try request.input.decode(Int.self) * 2
                    pending.append(.activityCompleted(operationID: request.operationID, result: json(value)))
                case .scheduleTimer(let id, _):
                    pending.append(.timerFired(operationID: id))
                default:
                    break
                }
            }
            // Deliver in reverse order, two at a time: a different order from scheduling.
            pending.reverse()
            let batch = Array(pending.prefix(2))
            pending.removeFirst(batch.count)
            beforeEachTurn(harness)
            result = try harness.turn(batch)
        }
        return harness
    }

    static let fanOutRegistry: Registry = {
        var registry = Registry()
        try! registry.register(FanOutGroup())
        try! registry.register(FanOutAsyncLet())
        try! registry.register(Double_())
        return registry
    }()

    @Test(arguments: [("FanOutGroup", 12), ("FanOutAsyncLet", 5)])
    func fanOutGivesTheSameEventOrderOver100Runs(name: String, input: Int) throws {
        let reference = try Self.runFanOut(name, input: input, registry: Self.fanOutRegistry)
        #expect(reference.decisions.contains { if case .executionCompleted = $0 { true } else { false } })
        for _ in 0..<100 {
            let again = try Self.runFanOut(name, input: input, registry: Self.fanOutRegistry)
            #expect(again.history == reference.history)
            let replay = try reference.replay()
            #expect(replay.newEvents.isEmpty)
            #expect(replay.actions.isEmpty)
        }
    }

    @Test(arguments: [("FanOutGroup", 12), ("FanOutAsyncLet", 5)])
    func theStickyCacheDecidesExactlyAsAFullReplay(name: String, input: Int) throws {
        let reference = try Self.runFanOut(name, input: input, registry: Self.fanOutRegistry)
        let engine = OrchestrationEngine(registry: Self.fanOutRegistry, cacheCapacity: 10)
        let cached = try Self.runFanOut(name, input: input, engine: engine) { harness in
            #expect(harness.engine.cachedExecutions == 1, "the suspended execution stays cached between turns")
        }
        #expect(cached.history == reference.history)
        #expect(cached.engine.cachedExecutions == 0, "a finished execution leaves the cache")
    }

    @Test func aCachedExecutionIsDiscardedWhenTheHistoryMovedOnElsewhere() throws {
        var registry = Registry()
        try registry.register(Sequence3())
        let engine = OrchestrationEngine(registry: registry, cacheCapacity: 10)
        var here = EngineHarness(engine: engine)
        try here.start("Sequence3", "x")
        // Another node ran the second turn: this engine's cache is behind the stored history.
        var elsewhere = EngineHarness(registry: registry)
        elsewhere.history = here.history
        elsewhere.clock = here.clock
        try elsewhere.turn(.activityCompleted(operationID: 1, result: json("1")))
        here.history = elsewhere.history
        here.clock = elsewhere.clock
        let result = try here.turn(.activityCompleted(operationID: 2, result: json("2")))
        #expect(result.scheduledActivities.map(\.operationID) == [3])
        let done = try here.turn(.activityCompleted(operationID: 3, result: json("3")))
        #expect(done.output == json(["1", "2", "3"]))
    }

    @Test func aKeptExecutionContinuesFromTheEndOfTheHistoryAlone() throws {
        var registry = Registry()
        try registry.register(Sequence3())
        let engine = OrchestrationEngine(registry: registry, cacheCapacity: 10)
        var harness = EngineHarness(engine: engine)
        try harness.start("Sequence3", "x")
        let history = harness.history
        let message = HistoryEvent.Kind.activityCompleted(operationID: 1, result: json("1"))
        let replayed = try OrchestrationEngine(registry: registry).runTurn(
            instanceID: harness.instanceID, history: history, messages: [message], now: harness.clock
        )
        #expect(engine.cachedHistoryCount(instanceID: harness.instanceID, executionID: "exec-1") == history.count)
        let continued = try engine.continueTurn(
            instanceID: harness.instanceID, executionID: "exec-1", historyTail: [history[history.count - 1]],
            historyOffset: history.count - 1, messages: [message], now: harness.clock
        )
        #expect(continued == replayed, "the last event alone is enough, and decides as a full replay")

        // A tail that does not end where the kept execution did: nothing runs, the caller replays.
        var other = EngineHarness(engine: engine, instanceID: "other")
        try other.start("Sequence3", "y")
        let stale = try engine.continueTurn(
            instanceID: "other", executionID: "exec-1", historyTail: [other.history[0]],
            historyOffset: other.history.count, messages: [message], now: other.clock
        )
        #expect(stale == nil)
        #expect(engine.cachedHistoryCount(instanceID: "other", executionID: "exec-1") == nil, "the mismatched execution is dropped")
    }

    @Test func theCacheIsBoundedAndEvictsTheLeastRecentlyUsed() throws {
        var registry = Registry()
        try registry.register(Sequence3())
        let engine = OrchestrationEngine(registry: registry, cacheCapacity: 2)
        var harnesses = (0..<3).map { EngineHarness(engine: engine, instanceID: "i\($0)") }
        for i in 0..<3 { try harnesses[i].start("Sequence3", "\(i)") }
        #expect(engine.cachedExecutions == 2)
        // The evicted one (i0) still completes, by replay.
        try harnesses[0].turn(.activityCompleted(operationID: 1, result: json("a")))
        try harnesses[0].turn(.activityCompleted(operationID: 2, result: json("b")))
        #expect(try harnesses[0].turn(.activityCompleted(operationID: 3, result: json("c"))).output == json(["a", "b", "c"]))
        engine.evict(instanceID: "i1")
        engine.evict(instanceID: "i2")
        #expect(engine.cachedExecutions == 0)
    }

    /// A full cache evicts its least recently used tenth at once, so that finding the oldest entries
    /// (which reads them all) is not paid at every turn.
    @Test func aFullCacheEvictsItsLeastRecentlyUsedTenth() throws {
        var registry = Registry()
        try registry.register(Sequence3())
        let engine = OrchestrationEngine(registry: registry, cacheCapacity: 20)
        var harnesses = (0..<21).map { EngineHarness(engine: engine, instanceID: "i\($0)") }
        for i in 0..<20 { try harnesses[i].start("Sequence3", "\(i)") }
        #expect(engine.cachedExecutions == 20)
        // i0 is used again: the least recently used are now i1, i2 and i3.
        try harnesses[0].turn(.activityCompleted(operationID: 1, result: json("a")))
        try harnesses[20].start("Sequence3", "20")
        #expect(engine.cachedExecutions == 18)
        let cached = (0..<21).filter { engine.cachedHistoryCount(instanceID: "i\($0)", executionID: "exec-1") != nil }
        #expect(cached == [0] + Array(4...20))
    }

    @Test func replayOfARecordedHistoryGivesTheSameDecisions() throws {
        var harness = try EngineHarness { try $0.register(Sequence3()) }
        var decisionsPerTurn: [[HistoryEvent.Kind]] = []
        var result = try harness.start("Sequence3", "r")
        var histories: [[HistoryEvent]] = [harness.history]
        decisionsPerTurn.append(result.newEvents.map(\.kind).filter(\.isOutput))
        for id in 1...3 {
            result = try harness.turn(.activityCompleted(operationID: id, result: json("\(id)")))
            histories.append(harness.history)
            decisionsPerTurn.append(result.newEvents.map(\.kind).filter(\.isOutput))
        }
        // Replaying each prefix of the history and delivering that turn's message decides the same.
        let engine = harness.engine
        for id in 1...3 {
            let again = try engine.runTurn(
                instanceID: harness.instanceID,
                history: histories[id - 1],
                messages: [.activityCompleted(operationID: id, result: json("\(id)"))],
                now: harness.clock
            )
            #expect(again.newEvents.map(\.kind).filter(\.isOutput) == decisionsPerTurn[id])
        }
    }

    @Test func historyEventsRoundTripThroughJSON() throws {
        let harness = try Self.runFanOut("FanOutAsyncLet", input: 2, registry: Self.fanOutRegistry)
        let data = try JSONEncoder().encode(harness.history)
        let decoded = try JSONDecoder().decode([HistoryEvent].self, from: data)
        #expect(decoded == harness.history)
    }

    @Test func historyWrittenWithoutAFormatVersionStillDecodes() throws {
        let text = #"{"seq":0,"ts":1700000000000,"kind":{"timerFired":{"operationID":3}}}"#
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        let event = try decoder.decode(HistoryEvent.self, from: Data(text.utf8))
        #expect(event.kind == .timerFired(operationID: 3))
        let newer = #"{"v":99,"seq":0,"ts":1700000000000,"kind":{"timerFired":{"operationID":3}}}"#
        #expect(throws: DecodingError.self) { try decoder.decode(HistoryEvent.self, from: Data(newer.utf8)) }
    }
}

@Suite struct DivergenceTests {
    struct V1: Orchestration {
        static let name = "Flow"
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            let a = try await context.activity(Greet.self, input)
            try await context.sleep(for: .seconds(1))
            return a
        }
    }

    /// Records a history with V1: activity, timer, completion.
    func recordedHistory() throws -> [HistoryEvent] {
        var harness = try EngineHarness { try $0.register(V1()) }
        try harness.start("Flow", "x")
        try harness.turn(.activityCompleted(operationID: 1, result: json("hi")))
        try harness.turn(.timerFired(operationID: 2))
        return harness.history
    }

    func replay<O: Orchestration>(_ orchestration: O) throws -> DurableError {
        var registry = Registry()
        try registry.register(orchestration)
        let engine = OrchestrationEngine(registry: registry)
        let history = try self.recordedHistory()
        do {
            _ = try engine.runTurn(instanceID: "diverged", history: history, messages: [], now: Date())
        } catch {
            return error
        }
        Issue.record("replay did not diverge")
        return DurableError(.invalidInput, "none")
    }

    @Test func anotherActivityNameIsDetected() throws {
        struct Renamed: Orchestration {
            static let name = "Flow"
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                try await context.activity(Double_.self, 1).description
            }
        }
        let error = try self.replay(Renamed())
        #expect(error.code == .nonDeterminism)
        #expect(error.instanceID == "diverged")
        #expect(error.sequenceNumber == 1)
        #expect(error.message.contains("the history has activity 'Greet' (operation 1) but the code made activity 'Double' (operation 1)"))
    }

    @Test func anotherKindIsDetected() throws {
        struct TimerFirst: Orchestration {
            static let name = "Flow"
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                try await context.sleep(for: .seconds(1))
                return input
            }
        }
        let error = try self.replay(TimerFirst())
        #expect(error.code == .nonDeterminism)
        #expect(error.sequenceNumber == 1)
        #expect(error.message.contains("the history has activity 'Greet' (operation 1) but the code made timer (operation 1)"))
    }

    @Test func aCallTheHistoryLacksIsDetected() throws {
        struct Extra: Orchestration {
            static let name = "Flow"
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                let a = context.scheduleActivity(Greet.self, input)
                let b = context.scheduleActivity(Greet.self, input + "!")
                return try await a.value + b.value
            }
        }
        let error = try self.replay(Extra())
        #expect(error.code == .nonDeterminism)
        #expect(error.sequenceNumber == 2)
        #expect(error.message.contains("the code made activity 'Greet' (operation 2), a call the history lacks"))
    }

    @Test func aRecordedCallTheCodeNoLongerMakesIsDetected() throws {
        struct Shorter: Orchestration {
            static let name = "Flow"
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                try await context.activity(Greet.self, input)
            }
        }
        let error = try self.replay(Shorter())
        #expect(error.code == .nonDeterminism)
        #expect(error.message.contains("timer (operation 2)"))
        #expect(error.sequenceNumber == 3)
    }

    @Test func replayTesterAcceptsAnUnchangedOrchestration() throws {
        var registry = Registry()
        try registry.register(V1())
        try ReplayTester(registry: registry).check(history: try self.recordedHistory(), instanceID: "same")
    }
}
