import Foundation
public import Logging

/// What an activity knows about the call it serves.
public struct ActivityContext: Sendable {
    /// The orchestration instance that scheduled the activity.
    public var instanceID: String
    /// The activity's name.
    public var name: String
    /// The operation's sequence number within the orchestration.
    public var operationID: Int
    /// The attempt number, 1 for the first.
    public var attempt: Int
    /// A logger carrying the instance, activity and attempt as metadata.
    public var logger: Logger
    /// The details of the last heartbeat an earlier attempt (or delivery) of this activity sent.
    let previousHeartbeat: Payload?
    let heartbeats: ActivityHeartbeat?

    public init(instanceID: String, name: String, operationID: Int, attempt: Int, logger: Logger) {
        self.init(instanceID: instanceID, name: name, operationID: operationID, attempt: attempt, logger: logger, previousHeartbeat: nil, heartbeats: nil)
    }

    init(instanceID: String, name: String, operationID: Int, attempt: Int, logger: Logger, previousHeartbeat: Payload?, heartbeats: ActivityHeartbeat?) {
        self.instanceID = instanceID
        self.name = name
        self.operationID = operationID
        self.attempt = attempt
        self.logger = logger
        self.previousHeartbeat = previousHeartbeat
        self.heartbeats = heartbeats
    }

    /// Reports progress: `details` (a checkpoint) is kept as the activity's latest heartbeat,
    /// shown by `durable why` and handed to the next attempt after a retry or a takeover
    /// (``lastHeartbeat(as:)``). Cheap to call in a loop: it only records the latest details in
    /// memory, and the node writes them with its next lease renewal (at most once per renewal
    /// interval, or per fifth of the `heartbeatTimeout`). With a `heartbeatTimeout`, a heartbeat
    /// is also what keeps the attempt alive.
    ///
    /// - Throws: `CancellationError` once the activity was cancelled (its orchestration gave it up
    ///   or was cancelled): stop and return, or rethrow.
    public func heartbeat<T: Encodable>(_ details: T) throws {
        try Task.checkCancellation()
        self.heartbeats?.beat(try Payload(encoding: details))
    }

    /// The details of the last heartbeat an earlier attempt sent (`nil` on a first attempt, or if
    /// none sent any): resume from this checkpoint.
    public func lastHeartbeat<T: Decodable>(as type: T.Type = T.self) throws -> T? {
        try self.previousHeartbeat?.decode(T.self)
    }

    /// Whether the activity was cancelled (Swift task cancellation); ``heartbeat(_:)`` then throws.
    public var isCancellationRequested: Bool { Task.isCancelled }
}
