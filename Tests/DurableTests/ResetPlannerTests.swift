import Durable
import Foundation
import Testing

/// Reset plans from histories, without a provider.
@Suite struct ResetPlannerTests {
    let t = Date(timeIntervalSince1970: 1_000_000)

    func history(_ kinds: [HistoryEvent.Kind]) -> [HistoryEvent] {
        let start = HistoryEvent.Kind.executionStarted(.init(name: "Order", version: "1.0.0", input: .null, executionID: "e1"))
        return ([start] + kinds).enumerated().map { HistoryEvent(sequenceNumber: $0.offset, timestamp: self.t, kind: $0.element) }
    }

    func plan(_ point: ResetPoint, _ history: [HistoryEvent], version: String? = nil) throws(DurableError) -> ResetPlan {
        try ResetPlanner.plan(ResetRequest(instanceID: "i", to: point, version: version, by: "ops"), history: history, newExecutionID: "e2")
    }

    @Test func pendingWorkAtThePointRunsAgainAndLaterEventsAreDeliveredAgain() throws {
        let events = self.history([
            .activityScheduled(operationID: 1, name: "Charge", input: .null, retry: .none, timeout: nil),
            .timerCreated(operationID: 2, fireAt: self.t.addingTimeInterval(60)),
            .eventRaised(name: "note", input: .null),                              // 3: the point
            .subOrchestrationScheduled(operationID: 3, name: "Ship", version: nil, instanceID: "ship-1", input: .null),
            .activityFailed(operationID: 1, failure: FailureDetails(type: "E", message: "no")),
            .eventRaised(name: "note", input: Payload(json: "\"again\"")),
            .executionFailed(failure: FailureDetails(type: "E", message: "no")),
        ])
        let plan = try self.plan(.sequence(3), events, version: "2.0.0")
        #expect(plan.history.count == 3)
        #expect(plan.start.executionID == "e2" && plan.start.version == "2.0.0")
        #expect(plan.history.first?.kind == .executionStarted(plan.start))
        #expect(plan.activities.map(\.operationID) == [1])
        #expect(plan.timers.map(\.operationID) == [2] && plan.timers.map(\.fireAt) == [self.t.addingTimeInterval(60)])
        #expect(plan.messages == [.eventRaised(name: "note", input: .null), .eventRaised(name: "note", input: Payload(json: "\"again\""))])
        #expect(plan.childrenToCancel == ["ship-1"])
        #expect(plan.record == ResetRecord(toSequence: 3, newExecutionID: "e2", version: "2.0.0", by: "ops", reason: ""))
        // The last failure (sequence 5) comes after the child started and before it finished.
        #expect(throws: DurableError.self) { try self.plan(.lastFailure, events) }
    }

    @Test func aDecisionIsNotATurnBoundary() {
        let events = self.history([.activityScheduled(operationID: 1, name: "Charge", input: .null, retry: .none, timeout: nil)])
        do {
            _ = try self.plan(.sequence(1), events)
            Issue.record("a decision was accepted as a reset point")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.message.contains("not a turn boundary"))
        }
    }

    @Test func aRunningChildAtThePointIsRefused() {
        let events = self.history([
            .subOrchestrationScheduled(operationID: 1, name: "Ship", version: nil, instanceID: "ship-1", input: .null),
            .eventRaised(name: "note", input: .null),
        ])
        #expect(throws: DurableError.self) { try self.plan(.sequence(2), events) }
    }

    @Test func theStartKeepsNothingAndQueuesTheStartAgain() throws {
        let plan = try self.plan(.start, self.history([.eventRaised(name: "note", input: .null)]))
        #expect(plan.history.isEmpty)
        #expect(plan.messages == [.executionStarted(plan.start), .eventRaised(name: "note", input: .null)])
    }

    @Test func nothingToResetBeforeTheFirstTurnOrWithoutAFailure() {
        #expect(throws: DurableError.self) { try self.plan(.start, []) }
        #expect(throws: DurableError.self) { try self.plan(.lastFailure, self.history([])) }
        #expect(throws: DurableError.self) { try self.plan(.sequence(7), self.history([])) }
    }
}
