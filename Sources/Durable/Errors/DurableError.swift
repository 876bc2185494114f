/// An error raised by Durable itself: by the registry, the replay engine, a provider, the runtime or
/// the client.
///
/// Every error carries a ``Code`` to match on and whatever a user needs to act on it: the instance,
/// the orchestration or activity name and version, what the node has registered, and for failures of
/// user code the ``FailureDetails`` of the original error.
public struct DurableError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a value to match on.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case duplicateRegistration
            case orchestrationNotRegistered
            case activityNotRegistered
            case nonDeterminism
            case activityFailed
            case subOrchestrationFailed
            case orchestrationFailed
            case timedOut
            case cancelled
            case leaseLost
            case staleTurn
            case instanceNotFound
            case instanceAlreadyExists
            case instanceFinished
            case invalidInput
            case payloadTooLarge
            case serialization
            case poisoned
            case shutdown
            case storage
            case migration
            case queryNotDefined
            case queryNotReadOnly
            case queryFailed
            case updateRejected
            case updateFailed
        }

        let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A (name, version) pair was registered twice.
        public static let duplicateRegistration = Self(.duplicateRegistration)
        /// No handler for an orchestration name and version on this node.
        public static let orchestrationNotRegistered = Self(.orchestrationNotRegistered)
        /// No handler for an activity name on this node.
        public static let activityNotRegistered = Self(.activityNotRegistered)
        /// Replayed orchestration code did something other than what its history recorded.
        public static let nonDeterminism = Self(.nonDeterminism)
        /// An activity failed after its retry policy gave up; ``DurableError/failure`` has its error.
        public static let activityFailed = Self(.activityFailed)
        /// A sub-orchestration failed; ``DurableError/failure`` has its error.
        public static let subOrchestrationFailed = Self(.subOrchestrationFailed)
        /// An orchestration failed; ``DurableError/failure`` has its error.
        public static let orchestrationFailed = Self(.orchestrationFailed)
        /// A wait (for an event, an activity attempt, a completion) ran past its timeout.
        public static let timedOut = Self(.timedOut)
        /// The operation or instance was cancelled.
        public static let cancelled = Self(.cancelled)
        /// A write was made with a lease epoch that is no longer current: another owner took over.
        public static let leaseLost = Self(.leaseLost)
        /// A turn's new events do not continue the stored history: it was computed from a history
        /// that has moved on since (the claim raced another commit). Nothing was written; the turn is
        /// run again from the stored history.
        public static let staleTurn = Self(.staleTurn)
        /// No instance (or activity task) with that id.
        public static let instanceNotFound = Self(.instanceNotFound)
        /// An instance with that id exists already, with a different input.
        public static let instanceAlreadyExists = Self(.instanceAlreadyExists)
        /// The instance has finished: an operator action for running instances (pause, resume)
        /// does not apply.
        public static let instanceFinished = Self(.instanceFinished)
        /// The request was malformed: an empty id, a bad name, an invalid argument.
        public static let invalidInput = Self(.invalidInput)
        /// A payload exceeded the provider's size limit.
        public static let payloadTooLarge = Self(.payloadTooLarge)
        /// A payload could not be encoded or decoded.
        public static let serialization = Self(.serialization)
        /// A turn or activity delivery failed the node too many times and was given up.
        public static let poisoned = Self(.poisoned)
        /// The runtime or provider is shutting down.
        public static let shutdown = Self(.shutdown)
        /// The storage backend failed.
        public static let storage = Self(.storage)
        /// The database schema cannot be used by this release.
        public static let migration = Self(.migration)
        /// The instance's code defines no query handler by that name (the message lists those it
        /// defines).
        public static let queryNotDefined = Self(.queryNotDefined)
        /// A query handler tried a durable operation (an activity, a timer, a wait, a child, a custom
        /// status, randomness): queries only read.
        public static let queryNotReadOnly = Self(.queryNotReadOnly)
        /// A query handler threw; ``DurableError/failure`` has its error.
        public static let queryFailed = Self(.queryFailed)
        /// An update was refused before it ran: its validator threw, the code defines no handler by
        /// that name, or the instance had finished; ``DurableError/failure`` has the reason. Nothing
        /// of it is in the history.
        public static let updateRejected = Self(.updateRejected)
        /// An accepted update's handler threw, or the execution ended before it returned;
        /// ``DurableError/failure`` has the error.
        public static let updateFailed = Self(.updateFailed)

        /// The code named `name` (its ``description``), for errors that travel through a provider.
        public init?(named name: String) {
            guard let base = Base(rawValue: name) else { return nil }
            self.init(base)
        }

        public var description: String { self.base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for humans; it names what was expected and what was found.
    public var message: String
    /// The orchestration instance concerned, if any.
    public var instanceID: String?
    /// The orchestration or activity name concerned, if any.
    public var name: String?
    /// The orchestration version concerned, if any.
    public var version: String?
    /// The history sequence number concerned (non-determinism), if any.
    public var sequenceNumber: Int?
    /// The original error of user code, for `activityFailed`, `subOrchestrationFailed` and
    /// `orchestrationFailed`.
    public var failure: FailureDetails?

    public init(
        _ code: Code,
        _ message: String,
        instanceID: String? = nil,
        name: String? = nil,
        version: String? = nil,
        sequenceNumber: Int? = nil,
        failure: FailureDetails? = nil
    ) {
        self.code = code
        self.message = message
        self.instanceID = instanceID
        self.name = name
        self.version = version
        self.sequenceNumber = sequenceNumber
        self.failure = failure
    }

    public var description: String {
        var parts = ["DurableError.\(self.code): \(self.message)"]
        if let instanceID { parts.append("instance=\(instanceID)") }
        if let name { parts.append("name=\(name)") }
        if let version { parts.append("version=\(version)") }
        if let sequenceNumber { parts.append("sequence=\(sequenceNumber)") }
        if let failure { parts.append("cause=\(failure)") }
        return parts.joined(separator: " ")
    }
}
