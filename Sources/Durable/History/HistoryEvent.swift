public import Foundation

/// One entry of an orchestration execution's history.
///
/// The history is the source of truth of an execution: the messages it consumed (inputs) and the
/// decisions its code made (outputs), in the order they happened. Replaying the inputs through the
/// code must give the same outputs again.
public struct HistoryEvent: Sendable, Hashable, Codable {
    /// The format of events this release writes. Decoding accepts every earlier format.
    public static let schemaVersion = 1

    /// The position in the execution's history, from 0.
    public var sequenceNumber: Int
    /// When the event was recorded (the turn's time, from the provider's clock).
    public var timestamp: Date
    public var kind: Kind

    public init(sequenceNumber: Int, timestamp: Date, kind: Kind) {
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey {
        case v, seq, ts, kind
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decodeIfPresent(Int.self, forKey: .v) ?? 1
        guard version <= Self.schemaVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .v,
                in: container,
                debugDescription: "history event format \(version) is newer than this release understands (\(Self.schemaVersion))"
            )
        }
        self.sequenceNumber = try container.decode(Int.self, forKey: .seq)
        self.timestamp = try container.decode(Date.self, forKey: .ts)
        self.kind = try container.decode(Kind.self, forKey: .kind)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaVersion, forKey: .v)
        try container.encode(self.sequenceNumber, forKey: .seq)
        try container.encode(self.timestamp, forKey: .ts)
        try container.encode(self.kind, forKey: .kind)
    }
}

extension HistoryEvent {
    /// What happened.
    public enum Kind: Sendable, Hashable, Codable {
        // Inputs: messages an execution consumes.

        /// The execution began. Always the first event.
        case executionStarted(ExecutionStarted)
        /// A turn began; its timestamp is the orchestration's `now` for that turn.
        case turnStarted
        case activityCompleted(operationID: Int, result: Payload)
        case activityFailed(operationID: Int, failure: FailureDetails)
        case timerFired(operationID: Int)
        /// An external event; `traceContext` is the raiser's span (``TraceCarrier``), linked from
        /// the turn that consumes it.
        case eventRaised(name: String, input: Payload, traceContext: TraceCarrier? = nil)
        case subOrchestrationCompleted(operationID: Int, result: Payload)
        case subOrchestrationFailed(operationID: Int, failure: FailureDetails)
        /// Termination (`DurableClient.terminate`): the execution ends `cancelled` at once, its code
        /// runs no further. `by` names who asked (absent in histories written before it was recorded).
        case cancelRequested(reason: String, by: String? = nil)
        /// Cooperative cancellation (`DurableClient.cancel`): every wait of the code fails with a
        /// `cancelled` error; the code may clean up (run compensating activities) and ends
        /// `cancelled` when it throws that error on. `by` names who asked.
        case cooperativeCancelRequested(reason: String, by: String? = nil)
        /// An operator paused the instance; recorded by the first turn after it resumed, in the
        /// order of arrival with what came meanwhile.
        case instancePaused(PauseRecord)
        /// The paused instance resumed: `by` an operator, or at its pause's deadline.
        case instanceResumed(by: String, at: Date)
        /// A client's update (``DurableClient/update(instanceID:_:input:as:updateID:timeout:)``):
        /// in the history only once its validator accepted it; its handler then runs with the code.
        case updateRequested(id: String, name: String, input: Payload)

        // Outputs: decisions the orchestration code made.

        /// `heartbeatTimeout`: an attempt without a heartbeat for that long is given up and retried;
        /// `queue`: the task queue it is sent to, `nil` for the default queue (both absent in
        /// histories written before they existed); `rateLimit`: the ``RateLimit`` its attempts start under.
        case activityScheduled(
            operationID: Int, name: String, input: Payload, retry: RetryPolicy, timeout: Duration?, heartbeatTimeout: Duration? = nil, queue: String? = nil,
            rateLimit: String? = nil, priority: Int? = nil
        )
        case timerCreated(operationID: Int, fireAt: Date)
        case subOrchestrationScheduled(
            operationID: Int, name: String, version: String?, instanceID: String, input: Payload, queue: String? = nil, priority: Int? = nil
        )
        /// A pending operation was given up (the loser of a race): its activity or child is asked to
        /// cancel, its timer dropped, and a late result is ignored.
        case operationCancelled(operationID: Int)
        /// The code subscribed to a topic pattern (``TopicPattern``): publications that match it
        /// arrive as events (``OrchestrationContext/subscribe(to:)``) while this execution runs.
        case topicSubscribed(pattern: String)
        /// The code ended a subscription.
        case topicUnsubscribed(pattern: String)
        /// An accepted update's handler ended (or the execution ended before it did).
        case updateFinished(id: String, outcome: UpdateOutcome)
        case executionCompleted(output: Payload)
        case executionFailed(failure: FailureDetails)
        case executionCancelled(reason: String)
        case continuedAsNew(input: Payload, version: String?)
        /// An operator reset the instance: this execution ends here, and a new one goes on from
        /// the history before ``ResetRecord/toSequence``. Not a decision of the code.
        case executionReset(ResetRecord)
    }

    /// The first event of every execution.
    public struct ExecutionStarted: Sendable, Hashable, Codable {
        public var name: String
        public var version: String
        public var input: Payload
        public var executionID: String
        /// The instance that started this one as a sub-orchestration.
        public var parent: ParentReference?
        /// The trace the instance's spans belong to (the start's span); see ``TraceCarrier``.
        public var traceContext: TraceCarrier?
        /// The task queue the instance's turns go to; `nil` (and in histories from before queues) is
        /// the default queue.
        public var queue: String?
        /// Its priority (``Priority``); `nil` is the default.
        public var priority: Int?

        public init(
            name: String,
            version: String,
            input: Payload,
            executionID: String,
            parent: ParentReference? = nil,
            traceContext: TraceCarrier? = nil,
            queue: String? = nil,
            priority: Int? = nil
        ) {
            self.priority = priority.flatMap(Priority.recorded)
            self.name = name
            self.version = version
            self.input = input
            self.executionID = executionID
            self.parent = parent
            self.traceContext = traceContext
            self.queue = queue == TaskQueue.defaultName ? nil : queue
        }

        /// The task queue the instance's turns go to.
        public var queueName: String { self.queue ?? TaskQueue.defaultName }
    }

    /// Where a sub-orchestration reports its result.
    public struct ParentReference: Sendable, Hashable, Codable {
        public var instanceID: String
        public var executionID: String
        public var operationID: Int

        public init(instanceID: String, executionID: String, operationID: Int) {
            self.instanceID = instanceID
            self.executionID = executionID
            self.operationID = operationID
        }
    }
}

extension HistoryEvent.Kind {
    /// Whether the event is a decision of the orchestration code (checked on replay) rather than a
    /// message it consumed.
    public var isOutput: Bool {
        switch self {
        case .executionStarted, .turnStarted, .activityCompleted, .activityFailed, .timerFired, .eventRaised,
            .subOrchestrationCompleted, .subOrchestrationFailed, .cancelRequested, .cooperativeCancelRequested, .instancePaused, .instanceResumed,
            .executionReset, .updateRequested:
            return false
        case .activityScheduled, .timerCreated, .subOrchestrationScheduled, .operationCancelled, .topicSubscribed, .topicUnsubscribed, .updateFinished,
            .executionCompleted, .executionFailed, .executionCancelled, .continuedAsNew:
            return true
        }
    }

    /// Whether the message asks the instance to end: a termination or a cooperative cancellation.
    public var isCancellation: Bool {
        switch self {
        case .cancelRequested, .cooperativeCancelRequested: true
        default: false
        }
    }

    /// Whether the event ends the execution.
    public var isTerminal: Bool {
        switch self {
        case .executionCompleted, .executionFailed, .executionCancelled, .continuedAsNew, .executionReset: return true
        default: return false
        }
    }

    /// The operation a result or decision belongs to.
    public var operationID: Int? {
        switch self {
        case .activityCompleted(let id, _), .activityFailed(let id, _), .timerFired(let id),
            .subOrchestrationCompleted(let id, _), .subOrchestrationFailed(let id, _),
            .activityScheduled(let id, _, _, _, _, _, _, _, _), .timerCreated(let id, _),
            .subOrchestrationScheduled(let id, _, _, _, _, _, _), .operationCancelled(let id):
            return id
        default:
            return nil
        }
    }

    /// A short name of the event's kind, for logs, errors and storage.
    public var name: String {
        switch self {
        case .executionStarted: "executionStarted"
        case .turnStarted: "turnStarted"
        case .activityCompleted: "activityCompleted"
        case .activityFailed: "activityFailed"
        case .timerFired: "timerFired"
        case .eventRaised: "eventRaised"
        case .subOrchestrationCompleted: "subOrchestrationCompleted"
        case .subOrchestrationFailed: "subOrchestrationFailed"
        case .cancelRequested: "cancelRequested"
        case .cooperativeCancelRequested: "cooperativeCancelRequested"
        case .instancePaused: "instancePaused"
        case .instanceResumed: "instanceResumed"
        case .activityScheduled: "activityScheduled"
        case .timerCreated: "timerCreated"
        case .subOrchestrationScheduled: "subOrchestrationScheduled"
        case .operationCancelled: "operationCancelled"
        case .topicSubscribed: "topicSubscribed"
        case .topicUnsubscribed: "topicUnsubscribed"
        case .updateRequested: "updateRequested"
        case .updateFinished: "updateFinished"
        case .executionCompleted: "executionCompleted"
        case .executionFailed: "executionFailed"
        case .executionCancelled: "executionCancelled"
        case .continuedAsNew: "continuedAsNew"
        case .executionReset: "executionReset"
        }
    }

    /// The event as a reader of a non-determinism error wants it: kind, operation and name.
    var summary: String {
        switch self {
        case .activityScheduled(let id, let name, _, _, _, _, _, _, _): "activity '\(name)' (operation \(id))"
        case .timerCreated(let id, _): "timer (operation \(id))"
        case .subOrchestrationScheduled(let id, let name, _, _, _, _, _): "sub-orchestration '\(name)' (operation \(id))"
        case .operationCancelled(let id): "cancellation of operation \(id)"
        case .topicSubscribed(let pattern): "subscription to '\(pattern)'"
        case .topicUnsubscribed(let pattern): "end of the subscription to '\(pattern)'"
        case .updateFinished(let id, _): "the end of update '\(id)'"
        case .executionCompleted: "completion"
        case .executionFailed: "failure"
        case .executionCancelled: "cancellation"
        case .continuedAsNew: "continue-as-new"
        default: self.name
        }
    }
}
