import Durable
import Foundation
import Testing

/// Cancel (cooperative) against terminate, in the engine.
@Suite struct CooperativeCancellationTests {
    /// Books, waits for payment; on cancellation refunds and rethrows.
    struct Booking: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            _ = try await context.activity(Greet.self, "book \(input)")
            do {
                async let paid = context.event("paid", as: Bool.self)
                async let nap: Void = context.sleep(for: .seconds(3600))
                _ = try await (paid, nap)
                return "booked"
            } catch let error as DurableError where error.code == .cancelled && context.isCancellationRequested {
                _ = try await context.activity(Greet.self, "refund \(input)")
                throw error
            }
        }
    }

    func booked() throws -> EngineHarness {
        var harness = try EngineHarness { try $0.register(Booking()); try $0.register(Greet()) }
        try harness.start("Booking", "ada")
        try harness.turn(.activityCompleted(operationID: 1, result: try Payload(encoding: "ok")))
        return harness
    }

    @Test func aCancelledOrchestrationRunsItsCompensationThenEndsCancelled() throws {
        var harness = try self.booked()
        let cancelled = try harness.turn(.cooperativeCancelRequested(reason: "customer left"))
        #expect(cancelled.outcome == nil, "it is still running its compensation")
        #expect(cancelled.actions.contains(.cancelTimer(operationID: 2)))
        #expect(cancelled.scheduledActivities.map(\.input) == [try Payload(encoding: "refund ada")])
        #expect(harness.decisions.suffix(2).map(\.name) == ["operationCancelled", "activityScheduled"])
        #expect(harness.decisions.suffix(2).first == .operationCancelled(operationID: 2))

        let done = try harness.turn(.activityCompleted(operationID: 3, result: try Payload(encoding: "refunded")))
        #expect(done.outcome == .cancelled(reason: "customer left"))
        #expect(harness.decisions.last == .executionCancelled(reason: "customer left"))
        #expect(try harness.replay().newEvents.isEmpty, "the cancellation replays deterministically")
    }

    @Test func aTurnNamesTheEventsItsCodeWaitsFor() throws {
        var harness = try EngineHarness { try $0.register(Booking()); try $0.register(Greet()) }
        try harness.start("Booking", "ada")
        let waiting = try harness.turn(.activityCompleted(operationID: 1, result: try Payload(encoding: "ok")))
        #expect(waiting.awaitedEvents == ["paid"])
        let paid = try harness.turn(.eventRaised(name: "paid", input: try Payload(encoding: true)))
        #expect(paid.awaitedEvents.isEmpty)
    }

    @Test func aSecondCancellationChangesNothing() throws {
        var harness = try self.booked()
        try harness.turn(.cooperativeCancelRequested(reason: "first"))
        let again = try harness.turn(.cooperativeCancelRequested(reason: "second"))
        #expect(again.actions.isEmpty && again.outcome == nil)
    }

    @Test func terminationEndsAtOnceWithoutCompensation() throws {
        var harness = try self.booked()
        let terminated = try harness.turn(.cancelRequested(reason: "operator"))
        #expect(terminated.outcome == .cancelled(reason: "operator"))
        #expect(terminated.scheduledActivities.isEmpty, "no compensation runs")
        #expect(terminated.actions.contains(.cancelTimer(operationID: 2)))
    }

    @Test func anUncaughtCancellationEndsTheInstanceInTheSameTurn() throws {
        struct Plain: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                try await context.event("never", as: String.self)
            }
        }
        var harness = try EngineHarness { try $0.register(Plain()) }
        try harness.start("Plain", "x")
        let result = try harness.turn(.cooperativeCancelRequested(reason: "stop"))
        #expect(result.outcome == .cancelled(reason: "stop"))
    }

    @Test func childrenAreCancelledCooperatively() throws {
        struct Parent: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String {
                try await context.subOrchestration(Child.self, input, instanceID: "kid")
            }
        }
        struct Child: Orchestration {
            func run(_ input: String, context: OrchestrationContext) async throws -> String { input }
        }
        var harness = try EngineHarness { try $0.register(Parent()); try $0.register(Child()) }
        try harness.start("Parent", "x")
        let result = try harness.turn(.cooperativeCancelRequested(reason: "stop"))
        #expect(result.actions.contains(.cancelSubOrchestration(instanceID: "kid", reason: "stop", cooperative: true)))
        #expect(result.outcome == .cancelled(reason: "stop"))
    }
}
