public import Foundation

/// Who paused an instance, why, when, and until when: stored with the instance while it is paused,
/// and recorded in its history (``HistoryEvent/Kind/instancePaused(_:)``) at the turn after it
/// resumes.
public struct PauseRecord: Sendable, Hashable, Codable {
    /// Who paused it: an operator, a tool, a bulk action.
    public var by: String
    public var reason: String
    /// When it was paused, by the provider's clock.
    public var at: Date
    /// When it resumes by itself; `nil` until someone resumes it.
    public var until: Date?

    /// Who resumes an instance at its pause's deadline, in ``HistoryEvent/Kind/instanceResumed(by:at:)``.
    public static let deadline = "deadline"

    public init(by: String, reason: String, at: Date, until: Date? = nil) {
        self.by = by
        self.reason = reason
        self.at = at
        self.until = until
    }
}

/// A request to pause an instance (``DurableProvider/pauseInstance(_:)``).
public struct PauseRequest: Sendable, Hashable {
    public var instanceID: String
    public var by: String
    public var reason: String
    /// Resume by itself after this long; `nil` waits for ``DurableProvider/resumeInstance(_:)``.
    public var duration: Duration?

    public init(instanceID: String, by: String, reason: String = "", for duration: Duration? = nil) {
        self.instanceID = instanceID
        self.by = by
        self.reason = reason
        self.duration = duration
    }
}

/// A request to resume a paused instance (``DurableProvider/resumeInstance(_:)``).
public struct ResumeRequest: Sendable, Hashable {
    public var instanceID: String
    public var by: String

    public init(instanceID: String, by: String) {
        self.instanceID = instanceID
        self.by = by
    }
}

/// What a pause did.
public enum PauseOutcome: Sendable, Hashable {
    /// The instance is paused now; a turn that was in flight is discarded (its lease fenced off).
    case paused(PauseRecord)
    /// It was paused already; nothing changed (a rerun of a pause is harmless).
    case alreadyPaused(PauseRecord)
}

/// What a resume did.
public enum ResumeOutcome: Sendable, Hashable {
    /// The instance takes turns again; what arrived meanwhile is delivered in order.
    case resumed
    /// It was not paused; nothing changed.
    case notPaused
}
