import Durable
import Foundation
import Testing

@Suite struct EngineOperationTests {
    @Test func sequenceOfActivitiesCompletes() throws {
        var harness = try EngineHarness { try $0.register(Sequence3()) }
        var result = try harness.start("Sequence3", "x")
        #expect(result.scheduledActivities.map(\.name) == ["Greet"])
        #expect(result.outcome == nil)
        for (index, name) in ["xa", "xb", "xc"].enumerated() {
            let request = try #require(result.scheduledActivities.first)
            #expect(request.input == json(name))
            #expect(request.operationID == index + 1)
            result = try harness.turn(.activityCompleted(operationID: request.operationID, result: json("Hello, \(name)!")))
        }
        #expect(result.output == json(["Hello, xa!", "Hello, xb!", "Hello, xc!"]))
        #expect(harness.history.map(\.sequenceNumber) == Array(0..<harness.history.count))
    }

    @Test func activityFailureIsCatchableWithItsDetails() throws {
        struct Catching: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                do {
                    return try await context.activity(Greet.self, input, retry: .exponential(maxAttempts: 3), timeout: .seconds(10))
                } catch let error as DurableError where error.code == .activityFailed {
                    return "caught \(error.failure?.type ?? "") \(error.failure?.message ?? "") \(error.name ?? "")"
                }
            }
        }
        var harness = try EngineHarness { try $0.register(Catching()) }
        let first = try harness.start("Catching", "x")
        let request = try #require(first.scheduledActivities.first)
        #expect(request.retry.maxAttempts == 3)
        #expect(request.timeout == .seconds(10))
        let result = try harness.turn(.activityFailed(operationID: 1, failure: .init(type: "Shop.CardDeclined", message: "no funds")))
        #expect(result.output == json("caught Shop.CardDeclined no funds Greet"))
    }

    @Test func thrownErrorFailsTheOrchestrationWithTypeAndMessage() throws {
        struct Refused: Error, CustomStringConvertible {
            var description: String { "refused by policy" }
        }
        struct Failing: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                throw Refused()
            }
        }
        var harness = try EngineHarness { try $0.register(Failing()) }
        let result = try harness.start("Failing", "x")
        let failure = try #require(result.failure)
        #expect(failure.type.hasSuffix("Refused"))
        #expect(failure.message == "refused by policy")
        #expect(failure.is(Refused.self))
        #expect(harness.decisions.last == .executionFailed(failure: failure))
    }

    @Test func durableTimersRecordTheirFireTime() throws {
        struct Sleeper: Orchestration {
            func run(_ input: Int, context: OrchestrationContext) async throws -> Double {
                let before = context.now
                try await context.sleep(for: .seconds(Int64(input)))
                try await context.sleep(until: before.addingTimeInterval(3600))
                return context.now.timeIntervalSince(before)
            }
        }
        var harness = try EngineHarness { try $0.register(Sleeper()) }
        let startedAt = harness.clock.addingTimeInterval(1)
        let first = try harness.start("Sleeper", 30)
        #expect(first.actions == [.scheduleTimer(operationID: 1, fireAt: startedAt.addingTimeInterval(30))])
        let second = try harness.turn(.timerFired(operationID: 1))
        #expect(second.actions == [.scheduleTimer(operationID: 2, fireAt: startedAt.addingTimeInterval(3600))])
        harness.clock = startedAt.addingTimeInterval(3599)
        let done = try harness.turn(.timerFired(operationID: 2))
        #expect(done.output == json(3600.0))
    }

    @Test func eventRaisedBeforeTheWaitIsKept() throws {
        struct Approval: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> [Bool] {
                try await context.sleep(for: .seconds(1))
                let first = try await context.event("approval", as: Bool.self)
                let second = try await context.event("approval", as: Bool.self)
                return [first, second]
            }
        }
        var harness = try EngineHarness { try $0.register(Approval()) }
        try harness.start("Approval", "x")
        // Both events arrive while the orchestration still sleeps.
        let waiting = try harness.turn(.eventRaised(name: "approval", input: json(true)), .eventRaised(name: "other", input: json(1)))
        #expect(waiting.outcome == nil)
        try harness.turn(.eventRaised(name: "approval", input: json(false)))
        let done = try harness.turn(.timerFired(operationID: 1))
        #expect(done.output == json([true, false]))
    }

    @Test func eventWithTimeoutCancelsItsTimerWhenTheEventWins() throws {
        struct Wait: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                do {
                    return try await context.event("go", as: String.self, timeout: .seconds(60))
                } catch let error as DurableError where error.code == .timedOut {
                    return "timed out"
                }
            }
        }
        var harness = try EngineHarness { try $0.register(Wait()) }
        let first = try harness.start("Wait", "x")
        #expect(first.actions.count == 1)
        let done = try harness.turn(.eventRaised(name: "go", input: json("went")))
        #expect(done.output == json("went"))
        #expect(done.actions == [.cancelTimer(operationID: 1)])

        // A timer firing must not resolve the event wait, and vice versa.
        var other = try EngineHarness { try $0.register(Wait()) }
        try other.start("Wait", "x")
        let timedOut = try other.turn(.timerFired(operationID: 1))
        #expect(timedOut.output == json("timed out"))
        #expect(!other.decisions.contains(.operationCancelled(operationID: 1)))
    }

    @Test func subOrchestrationStartsAChildAndGetsItsResult() throws {
        struct Parent: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                let derived = try await context.subOrchestration(Sequence3.self, input)
                let named = try await context.subOrchestration(Sequence3.self, input, instanceID: "child-explicit", version: "1.0.0")
                return (derived + named).joined(separator: ",")
            }
        }
        var harness = try EngineHarness { try $0.register(Parent()); try $0.register(Sequence3()) }
        let first = try harness.start("Parent", "p")
        guard case .startSubOrchestration(let childID, let start) = try #require(first.actions.first) else {
            Issue.record("expected a child start, got \(first.actions)")
            return
        }
        #expect(childID == "instance-1:exec-1:1")
        #expect(start.name == "Sequence3")
        #expect(start.parent == .init(instanceID: "instance-1", executionID: "exec-1", operationID: 1))
        let second = try harness.turn(.subOrchestrationCompleted(operationID: 1, result: json(["a"])))
        guard case .startSubOrchestration("child-explicit", let named) = try #require(second.actions.first) else {
            Issue.record("expected the explicit child, got \(second.actions)")
            return
        }
        #expect(named.version == "1.0.0")
        let done = try harness.turn(.subOrchestrationCompleted(operationID: 2, result: json(["b"])))
        #expect(done.output == json("a,b"))
    }

    @Test func childReportsToItsParent() throws {
        var harness = try EngineHarness { try $0.register(Sequence3()) }
        let parent = HistoryEvent.ParentReference(instanceID: "parent", executionID: "e", operationID: 7)
        try harness.turn(.executionStarted(.init(name: "Sequence3", version: "", input: json("c"), executionID: "x", parent: parent)))
        try harness.turn(.activityCompleted(operationID: 1, result: json("1")))
        try harness.turn(.activityCompleted(operationID: 2, result: json("2")))
        let done = try harness.turn(.activityCompleted(operationID: 3, result: json("3")))
        #expect(done.actions == [.notifyParent(parent, .subOrchestrationCompleted(operationID: 7, result: json(["1", "2", "3"])))])
    }

    @Test func continueAsNewStartsAFreshExecutionCarryingUnconsumedEvents() throws {
        struct Counter: Orchestration {
            func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
                if input >= 3 { return input }
                try await context.sleep(for: .seconds(1))
                try context.continueAsNew(with: input + 1)
            }
        }
        var harness = try EngineHarness { try $0.register(Counter()) }
        try harness.start("Counter", 0)
        let result = try harness.turn(.eventRaised(name: "later", input: json(1)), .timerFired(operationID: 1))
        guard case .continuedAsNew(let next, let carryOver) = result.outcome else {
            Issue.record("expected continue-as-new, got \(String(describing: result.outcome))")
            return
        }
        #expect(next.input == json(1))
        #expect(next.name == "Counter")
        #expect(next.version == "1.0.0")
        #expect(next.executionID != "exec-1")
        #expect(carryOver == [.eventRaised(name: "later", input: json(1))])
        #expect(harness.decisions.last == .continuedAsNew(input: json(1), version: "1.0.0"))

        // The next execution, started from that event, runs to the end.
        var fresh = try EngineHarness { try $0.register(Counter()) }
        try fresh.turn(.executionStarted(.init(name: "Counter", version: "", input: json(3), executionID: next.executionID)))
        #expect(fresh.decisions.last == .executionCompleted(output: json(3)))
    }

    @Test func whenAnyCancelsTheLosers() throws {
        struct Race: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> Int {
                let activity = context.scheduleActivity(Greet.self, input)
                let timer = context.createTimer(for: .seconds(30))
                let child = context.scheduleSubOrchestration(Sequence3.self, input, instanceID: "child")
                let event = context.waitForEvent("stop", as: Bool.self)
                let winner = await context.whenAny([activity, timer, child, event])
                do {
                    _ = try await activity.value
                } catch let error as DurableError {
                    #expect(error.code == .cancelled)
                }
                return winner
            }
        }
        var harness = try EngineHarness { try $0.register(Race()) }
        let first = try harness.start("Race", "r")
        #expect(first.actions.count == 3)
        let done = try harness.turn(.eventRaised(name: "stop", input: json(true)))
        #expect(done.output == json(3))
        #expect(done.actions.contains(.cancelActivity(operationID: 1)))
        #expect(done.actions.contains(.cancelTimer(operationID: 2)))
        #expect(done.actions.contains(.cancelSubOrchestration(instanceID: "child", reason: "cancelled by its orchestration")))
        #expect(harness.decisions.filter { if case .operationCancelled = $0 { true } else { false } }.count == 3)
        // A late result of a loser is ignored.
        #expect(try harness.replay().newEvents.isEmpty)
    }

    @Test func whenAllJoinsInOrder() throws {
        struct All: Orchestration {
            func run(_ input: Int, context: OrchestrationContext) async throws -> [Int] {
                let tasks = (0..<input).map { context.scheduleActivity(Double_.self, $0) }
                return try await context.whenAll(tasks)
            }
        }
        var harness = try EngineHarness { try $0.register(All()) }
        let first = try harness.start("All", 4)
        #expect(first.scheduledActivities.map(\.operationID) == [1, 2, 3, 4])
        try harness.turn(.activityCompleted(operationID: 3, result: json(4)), .activityCompleted(operationID: 1, result: json(0)))
        let done = try harness.turn(.activityCompleted(operationID: 4, result: json(6)), .activityCompleted(operationID: 2, result: json(2)))
        #expect(done.output == json([0, 2, 4, 6]))
    }

    @Test func deterministicNowUUIDRandomAndCustomStatus() throws {
        struct Values: Codable, Equatable { var now: Date; var uuids: [UUID]; var dice: [Int]; var replaying: Bool }
        struct Deterministic: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> Values {
                try context.setCustomStatus("starting")
                let now = context.now
                let uuids = [context.newUUID(), context.newUUID()]
                var generator = context.randomNumberGenerator()
                let dice = [context.random(in: 1...6), Int.random(in: 1...100, using: &generator)]
                let replaying = context.isReplaying
                try await context.sleep(for: .seconds(1))
                try context.setCustomStatus(Values(now: now, uuids: uuids, dice: dice, replaying: replaying))
                try await context.sleep(for: .seconds(1))
                return Values(now: now, uuids: uuids, dice: dice, replaying: context.isReplaying)
            }
        }
        var harness = try EngineHarness { try $0.register(Deterministic()) }
        let first = try harness.start("Deterministic", "x")
        #expect(first.customStatus == json("starting"))
        let second = try harness.turn(.timerFired(operationID: 1))
        let status = try #require(second.customStatus).decode(Values.self)
        #expect(status.replaying == true)  // recorded while replaying the first turn
        #expect(status.now == harness.history[0].timestamp)
        #expect(Set(status.uuids).count == 2)
        let done = try harness.turn(.timerFired(operationID: 2))
        let output = try #require(done.output).decode(Values.self)
        #expect(output.uuids == status.uuids)
        #expect(output.dice == status.dice)
        #expect(output.now == status.now)
        #expect(output.replaying == false)
    }

    @Test func loggerIsQuietWhileReplaying() throws {
        let recorder = LogRecorder()
        struct Chatty: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                context.logger.info("before sleep")
                try await context.sleep(for: .seconds(1))
                context.logger.info("after sleep")
                return input
            }
        }
        var registry = Registry()
        try registry.register(Chatty())
        var harness = EngineHarness(engine: OrchestrationEngine(registry: registry, logger: recorder.logger), instanceID: "chatty")
        try harness.start("Chatty", "x")
        try harness.turn(.timerFired(operationID: 1))
        _ = try harness.replay()
        #expect(recorder.messages == ["before sleep", "after sleep"])
    }

    @Test func cancellationEndsTheExecutionAndItsWork() throws {
        struct Waiting: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                async let child = context.subOrchestration(Sequence3.self, input, instanceID: "kid")
                async let greeting = context.activity(Greet.self, input)
                return try await child.joined() + greeting
            }
        }
        var harness = try EngineHarness { try $0.register(Waiting()) }
        try harness.start("Waiting", "x")
        let result = try harness.turn(.cancelRequested(reason: "operator"))
        #expect(result.outcome == .cancelled(reason: "operator"))
        #expect(result.actions.contains(.cancelActivity(operationID: 2)))
        #expect(result.actions.contains(.cancelSubOrchestration(instanceID: "kid", reason: "operator")))
        #expect(try harness.replay().newEvents.isEmpty)
    }
}
