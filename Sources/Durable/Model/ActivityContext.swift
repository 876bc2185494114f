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

    public init(instanceID: String, name: String, operationID: Int, attempt: Int, logger: Logger) {
        self.instanceID = instanceID
        self.name = name
        self.operationID = operationID
        self.attempt = attempt
        self.logger = logger
    }
}
