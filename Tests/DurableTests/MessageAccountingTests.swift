import Durable
import Foundation
import Testing

/// The engine accounts for every message after the one that ended an execution.
@Suite struct MessageAccountingTests {
    struct ContinueAtOnce: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            if input == 0 { try context.continueAsNew(with: 1) }
            return input
        }
    }

    struct ContinueAfterActivity: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> Int {
            _ = try await context.activity(Greet.self, input)
            try context.continueAsNew(with: "next")
        }
    }

    struct NoCalls: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String { input }
    }

    struct OneCall: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            try await context.activity(Greet.self, input)
        }
    }

    struct TwoCalls: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            async let first = context.activity(Greet.self, input)
            async let second = context.activity(Greet.self, input + "!")
            return try await first + second
        }
    }

    /// A result delivered twice (a provider that handed a consumed message out again) is recorded
    /// once; the second is discarded and accounted for.
    @Test func aResultDeliveredTwiceIsRecordedOnce() throws {
        var harness = try EngineHarness { try $0.register(TwoCalls()) }
        try harness.start("TwoCalls", "x")
        let first = try harness.turn(.activityCompleted(operationID: 1, result: json("a")))
        #expect(first.discardedMessages.isEmpty)
        let second = try harness.turn(.activityCompleted(operationID: 1, result: json("a")), .activityCompleted(operationID: 2, result: json("b")))
        #expect(second.discardedMessages == [DiscardedMessage(message: .activityCompleted(operationID: 1, result: json("a")), reason: .alreadyResolved)])
        #expect(second.newEvents.filter { if case .activityCompleted(1, _) = $0.kind { true } else { false } }.isEmpty)
        #expect(second.outcome == .completed(output: json("ab")))
    }

    static let start = HistoryEvent.Kind.executionStarted(.init(name: "ContinueAtOnce", version: "", input: json(0), executionID: "exec-1"))

    @Test func eventsAndCancellationsAfterContinueAsNewAreCarriedOver() throws {
        var harness = try EngineHarness { try $0.register(ContinueAtOnce()) }
        let result = try harness.turn(Self.start, .eventRaised(name: "go", input: json("a")), .cancelRequested(reason: "stop"))
        guard case .continuedAsNew(_, let carryOver) = result.outcome else {
            Issue.record("expected continue-as-new, got \(String(describing: result.outcome))")
            return
        }
        #expect(carryOver == [.eventRaised(name: "go", input: json("a")), .cancelRequested(reason: "stop")])
        #expect(result.discardedMessages.isEmpty)
    }

    @Test func bufferedEventsGoBeforeTheOnesAfterTheEnd() throws {
        var harness = try EngineHarness { try $0.register(ContinueAfterActivity()) }
        try harness.start("ContinueAfterActivity", "x")
        let result = try harness.turn(
            .eventRaised(name: "b", input: json(1)),
            .activityCompleted(operationID: 1, result: json("Hello, x!")),
            .eventRaised(name: "c", input: json(2)),
            .timerFired(operationID: 7)
        )
        guard case .continuedAsNew(_, let carryOver) = result.outcome else {
            Issue.record("expected continue-as-new, got \(String(describing: result.outcome))")
            return
        }
        #expect(carryOver == [.eventRaised(name: "b", input: json(1)), .eventRaised(name: "c", input: json(2))])
        #expect(result.discardedMessages == [DiscardedMessage(message: .timerFired(operationID: 7), reason: .executionEnded)])
    }

    /// Messages are delivered in arrival order: code that finishes before it sees a cancellation
    /// completes; code that waits on a durable call is cancelled at that wait.
    @Test func aStartAndACancelInOneClaim() throws {
        let cancel = HistoryEvent.Kind.cancelRequested(reason: "r")
        var quick = try EngineHarness { try $0.register(NoCalls()) }
        let done = try quick.turn(.executionStarted(.init(name: "NoCalls", version: "", input: json("x"), executionID: "e")), cancel)
        #expect(done.output == json("x"))
        #expect(done.discardedMessages == [DiscardedMessage(message: cancel, reason: .instanceFinished)])

        var waiting = try EngineHarness { try $0.register(OneCall()) }
        let cancelled = try waiting.turn(.executionStarted(.init(name: "OneCall", version: "", input: json("x"), executionID: "e")), cancel)
        #expect(cancelled.outcome == .cancelled(reason: "r"))
        // What the turn scheduled is cancelled in the same turn, after it was scheduled.
        #expect(cancelled.actions.count == 2)
        #expect(cancelled.actions.last == .cancelActivity(operationID: 1))
    }
}
