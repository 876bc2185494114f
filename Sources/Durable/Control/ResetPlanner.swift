public import Foundation

/// The reset decision, without I/O: from an execution's history and a ``ResetRequest``, what the
/// new execution starts with and what the provider must do; a provider executes the plan under the
/// instance's lock.
///
/// A reset point is a message boundary: the engine records every decision a message causes right
/// after it, so the events before a consumed message are a complete state of the code, and
/// replaying them leaves it suspended exactly where it was. What was pending there runs again
/// (activities as new tasks, timers at their time); what was decided later is gone with the old
/// execution (its activities are cancelled, its children cancelled). Raised events the old
/// execution consumed after the point are delivered again, in order, after the injected event.
public struct ResetPlan: Sendable, Hashable {
    /// The new execution's start: the old one's, with a new execution id and the chosen version.
    public var start: HistoryEvent.ExecutionStarted
    /// The new execution's history: the kept events, with the new start first; empty for `.start`.
    public var history: [HistoryEvent]
    /// Activities pending at the point, as new tasks of the new execution.
    public var activities: [ActivityRequest]
    /// Timers pending at the point: `timerFired` messages due at their time.
    public var timers: [Timer]
    /// Messages for the new execution, in order: its start (for `.start`), the injected event, the
    /// raised events consumed after the point.
    public var messages: [HistoryEvent.Kind]
    /// Children the old execution started after the point and that did not finish in its history.
    public var childrenToCancel: [String]
    /// The old execution's last event.
    public var record: ResetRecord

    public struct Timer: Sendable, Hashable {
        public var operationID: Int
        public var fireAt: Date
    }
}

public enum ResetPlanner {
    /// - Throws: `invalidInput` for a history with nothing to reset to, a sequence out of range or
    ///   not at a message, a `lastFailure` with no failure, a point where a child is pending, or a
    ///   blank `by`.
    public static func plan(_ request: ResetRequest, history: [HistoryEvent], newExecutionID: String) throws(DurableError) -> ResetPlan {
        let id = request.instanceID
        func refuse(_ message: String) -> DurableError { DurableError(.invalidInput, message, instanceID: id, sequenceNumber: nil) }
        guard !request.by.trimmingCharacters(in: .whitespaces).isEmpty else { throw refuse("a reset needs to say who resets (by)") }
        guard case .executionStarted(let old)? = history.first?.kind else {
            throw refuse("instance '\(id)' has no history to reset: its first turn has not run")
        }
        let point: Int
        switch request.to {
        case .start:
            point = 0
        case .lastFailure:
            guard let failure = history.lastIndex(where: {
                switch $0.kind {
                case .activityFailed, .subOrchestrationFailed: true
                default: false
                }
            }) else { throw refuse("the history of '\(id)' has no failed activity or child to reset to") }
            point = failure
        case .sequence(let sequence):
            guard sequence >= 0, sequence < history.count else {
                throw refuse("sequence \(sequence) is outside the history of '\(id)' (0..<\(history.count))")
            }
            let kind = history[sequence].kind
            guard sequence == 0 || (!kind.isOutput && !kind.isTerminal) else {
                let boundaries = history.indices.filter { $0 > 0 && !history[$0].kind.isOutput && !history[$0].kind.isTerminal }
                let near = boundaries.filter { abs($0 - sequence) <= 10 }.map(String.init).joined(separator: ", ")
                throw refuse("sequence \(sequence) is not a turn boundary: it is \(kind.summary), a decision; reset to a message (\(near.isEmpty ? "0" : near))")
            }
            point = sequence
        }

        var start = old
        start.executionID = newExecutionID
        start.version = request.version ?? old.version
        let kept = point == 0 ? [] : [HistoryEvent(sequenceNumber: 0, timestamp: history[0].timestamp, kind: .executionStarted(start))] + history[1..<point]

        var activities: [Int: ActivityRequest] = [:]
        var timers: [Int: Date] = [:]
        var children: [Int: (name: String, instanceID: String, scheduledAt: Int)] = [:]
        for event in kept {
            switch event.kind {
            case .activityScheduled(let op, _, _, _, _, _, _, _, _):
                activities[op] = ActivityRequest(scheduled: event.kind)
            case .timerCreated(let op, let fireAt):
                timers[op] = fireAt
            case .subOrchestrationScheduled(let op, let name, _, let child, _, _, _):
                children[op] = (name, child, event.sequenceNumber)
            case .activityCompleted(let op, _), .activityFailed(let op, _), .timerFired(let op),
                .subOrchestrationCompleted(let op, _), .subOrchestrationFailed(let op, _), .operationCancelled(let op):
                activities[op] = nil
                timers[op] = nil
                children[op] = nil
            default:
                break
            }
        }
        if let (op, child) = children.min(by: { $0.key < $1.key }) {
            throw refuse(
                "child \(child.instanceID) (\(child.name), operation \(op)) is still running at sequence \(point): reset to before it was scheduled (\(child.scheduledAt)) or after it finished"
            )
        }

        // Children started after the point that did not report back in the old history are
        // cancelled; raised events consumed after it are delivered again.
        var childOf: [Int: String] = [:]
        var later: Set<String> = []
        var finished: Set<String> = []
        var raised: [HistoryEvent.Kind] = []
        for event in history {
            switch event.kind {
            case .subOrchestrationScheduled(let op, _, _, let child, _, _, _):
                childOf[op] = child
                if event.sequenceNumber >= point { later.insert(child) }
            case .subOrchestrationCompleted(let op, _), .subOrchestrationFailed(let op, _):
                if let child = childOf[op] { finished.insert(child) }
            case .eventRaised where event.sequenceNumber >= max(point, 1):
                raised.append(event.kind)
            default:
                break
            }
        }

        var messages: [HistoryEvent.Kind] = point == 0 ? [.executionStarted(start)] : []
        if let event = request.event { messages.append(.eventRaised(name: event.name, input: event.input)) }
        messages += raised
        return ResetPlan(
            start: start,
            history: kept,
            activities: activities.values.sorted { $0.operationID < $1.operationID },
            timers: timers.map { ResetPlan.Timer(operationID: $0.key, fireAt: $0.value) }.sorted { $0.operationID < $1.operationID },
            messages: messages,
            childrenToCancel: later.subtracting(finished).sorted(),
            record: ResetRecord(toSequence: point, newExecutionID: newExecutionID, version: start.version, by: request.by, reason: request.reason)
        )
    }
}
