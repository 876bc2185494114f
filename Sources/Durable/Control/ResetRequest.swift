import Foundation

/// Where a reset rewinds an instance to (``DurableProvider/resetInstance(_:)``).
public enum ResetPoint: Sendable, Hashable {
    /// Keep the history before this sequence number, which must be a message the execution
    /// consumed (not a decision of its code): the code's state there is exactly what replaying the
    /// events before it gives.
    case sequence(Int)
    /// Just before the last failure the execution received (an activity's or a child's).
    case lastFailure
    /// From its start again, with the same input: an empty history.
    case start
}

/// A request to rewind an instance and run it on from there.
public struct ResetRequest: Sendable, Hashable {
    public var instanceID: String
    public var to: ResetPoint
    /// The version the new execution runs (a fixed release's); `nil` keeps the current one.
    public var version: String?
    /// An event delivered at the reset point, before anything else.
    public var event: Event?
    public var by: String
    public var reason: String

    /// A raised event.
    public struct Event: Sendable, Hashable {
        public var name: String
        public var input: Payload

        public init(name: String, input: Payload) {
            self.name = name
            self.input = input
        }
    }

    public init(instanceID: String, to: ResetPoint, version: String? = nil, event: Event? = nil, by: String, reason: String = "") {
        self.instanceID = instanceID
        self.to = to
        self.version = version
        self.event = event
        self.by = by
        self.reason = reason
    }
}

/// The end of an execution that was reset, recorded as its last event.
public struct ResetRecord: Sendable, Hashable, Codable {
    /// The events kept: the new execution's history is this execution's before this sequence.
    public var toSequence: Int
    public var newExecutionID: String
    public var version: String
    public var by: String
    public var reason: String

    public init(toSequence: Int, newExecutionID: String, version: String, by: String, reason: String) {
        self.toSequence = toSequence
        self.newExecutionID = newExecutionID
        self.version = version
        self.by = by
        self.reason = reason
    }
}

/// What a reset did.
public struct ResetOutcome: Sendable, Hashable {
    /// The execution that ended as reset; its history stays readable
    /// (``DurableProvider/history(instanceID:executionID:)``).
    public var previousExecutionID: String
    public var executionID: String
    /// How many events the new execution starts with.
    public var keptEvents: Int
    /// Activities and timers that were pending at the reset point and run again.
    public var rescheduled: Int

    public init(previousExecutionID: String, executionID: String, keptEvents: Int, rescheduled: Int) {
        self.previousExecutionID = previousExecutionID
        self.executionID = executionID
        self.keptEvents = keptEvents
        self.rescheduled = rescheduled
    }
}
