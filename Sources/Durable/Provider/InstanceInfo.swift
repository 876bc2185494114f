public import Foundation

/// The status of an orchestration instance.
public enum InstanceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Created; its first turn has not run yet.
    case pending
    /// Started and not finished.
    case running
    case completed
    case failed
    case cancelled

    /// Whether the instance has finished for good.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled: true
        case .pending, .running: false
        }
    }
}

/// An instance as a provider stores it.
public struct InstanceInfo: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The version the current execution runs; empty until the first turn resolved it.
    public var version: String
    public var executionID: String
    public var status: InstanceStatus
    public var input: Payload
    public var output: Payload?
    public var failure: FailureDetails?
    public var customStatus: Payload?
    public var parent: HistoryEvent.ParentReference?
    public var createdAt: Date
    public var updatedAt: Date
    public var completedAt: Date?
    /// Set while no node that claimed the instance had its handler: what it waits for, e.g.
    /// `Order 2.0.0`. Cleared by the next committed turn.
    public var waitingFor: String?
    /// The node that committed the turn that finished the instance.
    public var completedBy: String?
    /// The events its code waited for at its last turn, by name.
    public var awaitedEvents: [String] = []
    /// Set while the instance is paused (``DurableProvider/pauseInstance(_:)``); cleared by the
    /// resume, or by the first turn after the pause's deadline.
    public var pause: PauseRecord?
    /// The task queue its turns go to (``Orchestration/queue``).
    public var queue = TaskQueue.defaultName
    /// Its priority (``Priority``).
    public var priority = Priority.default

    public init(
        id: String, name: String, version: String, executionID: String, status: InstanceStatus, input: Payload,
        output: Payload? = nil, failure: FailureDetails? = nil, customStatus: Payload? = nil,
        parent: HistoryEvent.ParentReference? = nil, createdAt: Date, updatedAt: Date, completedAt: Date? = nil,
        waitingFor: String? = nil, completedBy: String? = nil, pause: PauseRecord? = nil
    ) {
        self.pause = pause
        self.waitingFor = waitingFor
        self.completedBy = completedBy
        self.id = id
        self.name = name
        self.version = version
        self.executionID = executionID
        self.status = status
        self.input = input
        self.output = output
        self.failure = failure
        self.customStatus = customStatus
        self.parent = parent
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
    }
}

/// A request to start an instance.
public struct StartRequest: Sendable, Hashable {
    public var instanceID: String
    public var name: String
    /// The version to run; `nil` runs the newest version registered on the node that runs the first
    /// turn (or the version pinned there).
    public var version: String?
    public var input: Payload
    /// The client's start span, parent of the instance's spans (``TraceCarrier``).
    public var traceContext: TraceCarrier?
    /// The task queue its turns go to; `nil` is the default queue.
    public var queue: String?
    /// Its priority (``Priority``); `nil` is the default.
    public var priority: Int?

    public init(
        instanceID: String, name: String, version: String? = nil, input: Payload, traceContext: TraceCarrier? = nil, queue: String? = nil,
        priority: Int? = nil
    ) {
        self.priority = priority.flatMap(Priority.recorded)
        self.instanceID = instanceID
        self.name = name
        self.version = version
        self.input = input
        self.traceContext = traceContext
        self.queue = queue == TaskQueue.defaultName ? nil : queue
    }

    /// The task queue its turns go to.
    public var queueName: String { self.queue ?? TaskQueue.defaultName }
}

/// What a start did.
public enum StartResult: Sendable, Hashable {
    case created
    /// An instance with the same id, name and input existed already; nothing changed.
    case alreadyExists
}

/// A filter and page of ``DurableProvider/listInstances(_:)``. Every filter that is set applies.
public struct InstanceQuery: Sendable, Hashable {
    public var statuses: Set<InstanceStatus>?
    public var name: String?
    /// The version the current execution runs (empty until its first turn resolved it).
    public var version: String?
    public var limit: Int
    /// The `nextCursor` of the previous page.
    public var cursor: String?
    /// Only instances updated (a turn committed, a pause or resume) at or after this time.
    public var updatedSince: Date?
    /// Created in `[createdAfter, createdBefore)`.
    public var createdAfter: Date?
    public var createdBefore: Date?
    /// Finished in `[completedAfter, completedBefore)` (so only finished instances match).
    public var completedAfter: Date?
    public var completedBefore: Date?
    /// Only instances whose custom status is a JSON string starting with this.
    public var customStatusPrefix: String?
    /// Only the children of this instance.
    public var parentInstanceID: String?

    public init(
        statuses: Set<InstanceStatus>? = nil, name: String? = nil, version: String? = nil, limit: Int = 100, cursor: String? = nil,
        updatedSince: Date? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil, completedAfter: Date? = nil,
        completedBefore: Date? = nil, customStatusPrefix: String? = nil, parentInstanceID: String? = nil
    ) {
        self.version = version
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.completedAfter = completedAfter
        self.completedBefore = completedBefore
        self.customStatusPrefix = customStatusPrefix
        self.parentInstanceID = parentInstanceID
        self.updatedSince = updatedSince
        self.statuses = statuses
        self.name = name
        self.limit = limit
        self.cursor = cursor
    }
}

extension InstanceQuery {
    /// How a custom status that matches ``customStatusPrefix`` begins in its JSON text: a quote,
    /// then the prefix as JSON escapes it.
    public var customStatusJSONPrefix: String? {
        guard let prefix = self.customStatusPrefix, let encoded = try? DurableJSON.encode(prefix) else { return nil }
        return String(encoded.dropLast())
    }

    /// Whether `info` passes every filter but the cursor: what a provider without a query language
    /// checks.
    public func matches(_ info: InstanceInfo) -> Bool {
        func within(_ date: Date?, _ after: Date?, _ before: Date?) -> Bool {
            guard after != nil || before != nil else { return true }
            guard let date else { return false }
            return (after.map { date >= $0 } ?? true) && (before.map { date < $0 } ?? true)
        }
        return (self.statuses?.contains(info.status) ?? true) && (self.name.map { $0 == info.name } ?? true)
            && (self.version.map { $0 == info.version } ?? true)
            && (self.updatedSince.map { info.updatedAt >= $0 } ?? true)
            && within(info.createdAt, self.createdAfter, self.createdBefore)
            && within(info.completedAt, self.completedAfter, self.completedBefore)
            && (self.customStatusJSONPrefix.map { info.customStatus?.json.hasPrefix($0) ?? false } ?? true)
            && (self.parentInstanceID.map { $0 == info.parent?.instanceID } ?? true)
    }
}

/// One page of instances, ordered by id.
public struct InstancePage: Sendable, Hashable {
    public var instances: [InstanceInfo]
    /// Pass as ``InstanceQuery/cursor`` for the next page; `nil` on the last page.
    public var nextCursor: String?

    public init(instances: [InstanceInfo], nextCursor: String?) {
        self.instances = instances
        self.nextCursor = nextCursor
    }
}

/// Which finished instances to purge.
public struct PurgeQuery: Sendable, Hashable {
    public var instanceIDs: [String]?
    /// Only terminal statuses are purged, whatever this says.
    public var statuses: Set<InstanceStatus>
    public var completedBefore: Date?

    public init(instanceIDs: [String]? = nil, statuses: Set<InstanceStatus> = [.completed, .failed, .cancelled], completedBefore: Date? = nil) {
        self.instanceIDs = instanceIDs
        self.statuses = statuses
        self.completedBefore = completedBefore
    }
}

/// How much work is waiting.
public struct QueueDepths: Sendable, Hashable, Codable {
    /// Inbox messages visible now.
    public var readyMessages: Int
    /// Inbox messages not visible yet (timers, backoff).
    public var delayedMessages: Int
    /// Activity tasks visible now and not leased.
    public var readyActivities: Int
    /// Activity tasks not visible yet (retry backoff).
    public var delayedActivities: Int
    /// Activity tasks leased by a node.
    public var runningActivities: Int
    /// Ready activity tasks per task queue (``TaskQueue``) that has any.
    public var readyActivitiesByQueue: [String: Int]

    public init(
        readyMessages: Int, delayedMessages: Int, readyActivities: Int, delayedActivities: Int, runningActivities: Int, readyActivitiesByQueue: [String: Int] = [:]
    ) {
        self.readyActivitiesByQueue = readyActivitiesByQueue
        self.readyMessages = readyMessages
        self.delayedMessages = delayedMessages
        self.readyActivities = readyActivities
        self.delayedActivities = delayedActivities
        self.runningActivities = runningActivities
    }
}
