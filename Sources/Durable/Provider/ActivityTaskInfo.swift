public import Foundation

/// An activity task of an instance's current execution, as stored (``DurableProvider/activities(instanceID:)``).
public struct ActivityTaskInfo: Sendable, Hashable, Codable {
    public var operationID: Int
    public var name: String
    /// 1 for the first attempt.
    public var attempt: Int
    /// The retry policy's limit.
    public var maxAttempts: Int
    /// When the task can next be claimed: now, the end of a retry backoff, or its lease's expiry.
    public var visibleAt: Date
    /// The node holding its lease (`node#incarnation`), while one does.
    public var leaseOwner: String?
    public var cancelRequested: Bool
    /// The failure of the last attempt, while the task waits to be retried.
    public var lastError: FailureDetails?
    /// The details of its last heartbeat, and when it was written.
    public var heartbeat: Payload?
    public var heartbeatAt: Date?
    /// The task queue it waits in (``TaskQueue``).
    public var queue: String

    public init(
        operationID: Int, name: String, attempt: Int, maxAttempts: Int, visibleAt: Date, leaseOwner: String?, cancelRequested: Bool,
        lastError: FailureDetails?, heartbeat: Payload? = nil, heartbeatAt: Date? = nil, queue: String = TaskQueue.defaultName
    ) {
        self.queue = queue
        self.heartbeat = heartbeat
        self.heartbeatAt = heartbeatAt
        self.operationID = operationID
        self.name = name
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.visibleAt = visibleAt
        self.leaseOwner = leaseOwner
        self.cancelRequested = cancelRequested
        self.lastError = lastError
    }
}
