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
    /// Claimed messages the turn neither recorded nor carried over to a next execution, because they
    /// came after the one that ended the execution. The provider deletes them with the rest of the
    /// turn's messages; the runtime logs and counts them.
    public var discardedMessages: [DiscardedMessage]
    /// When each timer the turn delivered was due (for the timer-lag metric; not committed).
    public var timersFired: [Date]
    /// The events the code waits for at the end of the turn, by name (stored with the instance for
    /// `durable why`; not in the history).
    public var awaitedEvents: [String]

    public init(
        newEvents: [HistoryEvent] = [],
        actions: [TurnAction] = [],
        outcome: TurnOutcome? = nil,
        customStatus: Payload? = nil,
        discardedMessages: [DiscardedMessage] = [],
        timersFired: [Date] = [],
        awaitedEvents: [String] = []
    ) {
        self.awaitedEvents = awaitedEvents
        self.newEvents = newEvents
        self.actions = actions
        self.outcome = outcome
        self.customStatus = customStatus
        self.discardedMessages = discardedMessages
        self.timersFired = timersFired
    }
}

/// A message a turn deliberately did not deliver, and why.
public struct DiscardedMessage: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// The instance completed, failed or was cancelled before the message's turn came.
        case instanceFinished = "instance finished"
        /// The execution it belonged to continued as new (activity results, timers, child outcomes
        /// of that execution).
        case executionEnded = "execution ended"
        /// A result for an operation that has one already: delivered a second time, or late after
        /// the operation was cancelled. The code would ignore it; it is not recorded either.
        case alreadyResolved = "already resolved"
    }

    public var message: HistoryEvent.Kind
    public var reason: Reason

    public init(message: HistoryEvent.Kind, reason: Reason) {
        self.message = message
        self.reason = reason
    }
}

/// How an execution ended.
public enum TurnOutcome: Sendable, Hashable {
    case completed(output: Payload)
    case failed(FailureDetails)
    case cancelled(reason: String)
    /// The instance goes on as a new execution that starts with `next`, then receives `carryOver`
    /// (events raised but not consumed yet, in arrival order, and cancellations that came after the
    /// execution ended)     /// (external events raised but not consumed yet).
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
    /// Ask a pending or running activity task to stop. Its result is ignored unless the code waits
    /// for the cancellation to complete (`reportOutcome`): then a task that had not started is
    /// answered with a `cancelled` failure at once, and a running one reports how it ended.
    case cancelActivity(operationID: Int, reportOutcome: Bool = false)
    /// Create and start a child instance that reports to this execution.
    case startSubOrchestration(instanceID: String, start: HistoryEvent.ExecutionStarted)
    /// Cancel a child instance: terminate it, or cancel it cooperatively (its code sees the
    /// cancellation at its waits).
    case cancelSubOrchestration(instanceID: String, reason: String, cooperative: Bool = false)
    /// Send a message (`subOrchestrationCompleted` or `subOrchestrationFailed`) to the parent.
    case notifyParent(HistoryEvent.ParentReference, HistoryEvent.Kind)
    /// Deliver publications matching `pattern` to this execution from now on, until it ends.
    case subscribe(pattern: String)
    /// Stop delivering publications matching `pattern`.
    case unsubscribe(pattern: String)
    /// Record how an update ended, for the client that waits for it.
    case answerUpdate(id: String, UpdateOutcome)
}

/// An activity invocation an orchestration asked for.
public struct ActivityRequest: Sendable, Hashable, Codable {
    public var operationID: Int
    public var name: String
    public var input: Payload
    public var retry: RetryPolicy
    /// The limit of one attempt.
    public var timeout: Duration?
    /// An attempt that sends no heartbeat (``ActivityContext/heartbeat(_:)``) for this long is given
    /// up and retried; its lease lasts only that long past each heartbeat.
    public var heartbeatTimeout: Duration?
    /// The task queue it is sent to (``TaskQueue``); `nil` for the default queue.
    public var queue: String?
    /// The rate limit its attempts start under (``RateLimit``).
    public var rateLimit: String?
    /// Its claim order in its queue (``Priority``); `nil` is the default.
    public var priority: Int?
    /// The span of the turn that scheduled it, parent of its attempts' spans (``TraceCarrier``).
    public var traceContext: TraceCarrier?

    public init(
        operationID: Int, name: String, input: Payload, retry: RetryPolicy, timeout: Duration?, heartbeatTimeout: Duration? = nil, queue: String? = nil,
        rateLimit: String? = nil, priority: Int? = nil, traceContext: TraceCarrier? = nil
    ) {
        self.queue = queue
        self.rateLimit = rateLimit
        self.priority = priority.flatMap(Priority.recorded)
        self.operationID = operationID
        self.name = name
        self.input = input
        self.retry = retry
        self.timeout = timeout
        self.heartbeatTimeout = heartbeatTimeout
        self.traceContext = traceContext
    }
}

extension ActivityRequest {
    /// The request an `activityScheduled` decision makes.
    init?(scheduled kind: HistoryEvent.Kind) {
        guard case .activityScheduled(let id, let name, let input, let retry, let timeout, let heartbeatTimeout, let queue, let rateLimit, let priority) = kind
        else { return nil }
        self.init(
            operationID: id, name: name, input: input, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: queue, rateLimit: rateLimit,
            priority: priority
        )
    }

    /// The queue it is sent to, the default one when none was named.
    public var queueName: String { self.queue ?? TaskQueue.defaultName }
    /// Its priority, the default one when none was given.
    public var priorityLevel: Int { self.priority ?? Priority.default }
}

extension TurnResult {
    /// The turn's new work (activities, child starts) parented to the turn's span.
    func tracing(_ carrier: TraceCarrier?) -> TurnResult {
        guard let carrier else { return self }
        var result = self
        result.actions = self.actions.map { action in
            switch action {
            case .scheduleActivity(var request):
                request.traceContext = carrier
                return .scheduleActivity(request)
            case .startSubOrchestration(let instanceID, var start):
                start.traceContext = carrier
                return .startSubOrchestration(instanceID: instanceID, start: start)
            default:
                return action
            }
        }
        return result
    }
}
