public import Foundation

/// What one turn of an orchestration decided. The provider commits all of it atomically.
public struct TurnResult: Sendable, Hashable {
    /// Events to append to the history: the messages the turn consumed and the decisions it made.
    public var newEvents: [HistoryEvent]
    /// Work the turn asks for, derived from its decisions.
    public var actions: [TurnAction]
    /// How the execution ended in this turn, or `nil` when it waits for more messages.
    public var outcome: TurnOutcome?
    /// The custom status the code last set (it is recomputed by replay, not recorded in history).
    public var customStatus: Payload?

    public init(newEvents: [HistoryEvent] = [], actions: [TurnAction] = [], outcome: TurnOutcome? = nil, customStatus: Payload? = nil) {
        self.newEvents = newEvents
        self.actions = actions
        self.outcome = outcome
        self.customStatus = customStatus
    }
}

/// How an execution ended.
public enum TurnOutcome: Sendable, Hashable {
    case completed(output: Payload)
    case failed(FailureDetails)
    case cancelled(reason: String)
    /// The instance goes on as a new execution that starts with `next`, then receives `carryOver`
    /// (external events raised but not consumed yet).
    case continuedAsNew(next: HistoryEvent.ExecutionStarted, carryOver: [HistoryEvent.Kind])
}

/// Work a turn asks the provider and runtime to do.
public enum TurnAction: Sendable, Hashable {
    /// Create an activity task for this instance's execution.
    case scheduleActivity(ActivityRequest)
    /// Deliver `timerFired(operationID:)` to this execution at `fireAt`.
    case scheduleTimer(operationID: Int, fireAt: Date)
    /// Drop a pending timer.
    case cancelTimer(operationID: Int)
    /// Ask a pending or running activity task to stop; its result, if any, is ignored.
    case cancelActivity(operationID: Int)
    /// Create and start a child instance that reports to this execution.
    case startSubOrchestration(instanceID: String, start: HistoryEvent.ExecutionStarted)
    /// Cancel a child instance.
    case cancelSubOrchestration(instanceID: String, reason: String)
    /// Send a message (`subOrchestrationCompleted` or `subOrchestrationFailed`) to the parent.
    case notifyParent(HistoryEvent.ParentReference, HistoryEvent.Kind)
}

/// An activity invocation an orchestration asked for.
public struct ActivityRequest: Sendable, Hashable, Codable {
    public var operationID: Int
    public var name: String
    public var input: Payload
    public var retry: RetryPolicy
    /// The limit of one attempt.
    public var timeout: Duration?

    public init(operationID: Int, name: String, input: Payload, retry: RetryPolicy, timeout: Duration?) {
        self.operationID = operationID
        self.name = name
        self.input = input
        self.retry = retry
        self.timeout = timeout
    }
}
