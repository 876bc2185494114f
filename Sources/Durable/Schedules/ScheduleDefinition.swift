public import Foundation

/// A schedule as the client creates it: what to start (an orchestration by name, its version and
/// input), when (``ScheduleSpec``) and how (``SchedulePolicy``).
public struct ScheduleDefinition: Sendable, Hashable, Codable {
    public var orchestration: String
    /// `nil`: the newest registered version at each firing.
    public var version: String?
    public var input: Payload
    public var spec: ScheduleSpec
    public var policy: SchedulePolicy

    public init(orchestration: String, version: String? = nil, input: Payload = .null, spec: ScheduleSpec, policy: SchedulePolicy = SchedulePolicy()) {
        self.orchestration = orchestration
        self.version = version
        self.input = input
        self.spec = spec
        self.policy = policy
    }
}

/// What `durable schedule describe` shows.
public struct ScheduleDescription: Sendable, Hashable, Codable {
    public struct Run: Sendable, Hashable, Codable {
        public var nominal: Date
        public var instanceID: String
        /// `started`, `completed`, `failed`, or why it was skipped (`skipped: overlap`).
        public var outcome: String
    }

    public var scheduleID: String
    public var definition: ScheduleDefinition
    /// Paused with this note (`nil`: running).
    public var pausedNote: String?
    /// The next nominal firing times (up to 10).
    public var next: [Date]
    /// The latest firings, newest last (up to 10).
    public var recent: [Run]
    /// Firings waiting for the running instance.
    public var buffered: [Date]
}

/// A request to a running schedule (raised as an event on its instance).
enum ScheduleControl: Sendable, Hashable, Codable {
    case pause(note: String)
    case resume
    case trigger
    case update(ScheduleDefinition)
    case backfill(from: Date, through: Date)
    case delete
}
