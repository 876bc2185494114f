public import Foundation

/// The storage contract of Durable. `PostgresProvider` and ``InMemoryProvider`` implement it with the
/// same semantics, and `ProviderConformance` (in DurableTesting) checks any implementation.
///
/// The rules every implementation guarantees (docs/provider-contract.md has the long form):
/// - **Leases with fencing.** A claim sets an owner, a new epoch (monotonic per instance or task)
///   and an expiry. Every write made for that claim is conditional on the epoch still being current;
///   a stale holder's write throws `leaseLost` and changes nothing.
/// - **Provider time only.** Lease expiry, timers and visibility use the provider's clock.
/// - **Atomic turns.** ``commitTurn(_:_:)`` applies the whole ``TurnResult`` or nothing.
/// - **Expired leases are claimable** by any owner.
///
/// Its requirements are grouped by concern, one protocol (and file, in `Provider/Contract/`) each,
/// with their guarantees: ``DurableInstances``, ``DurableTurns``, ``DurableActivities``,
/// ``DurableReads``, ``DurableNodes``, ``DurableWaking``, ``DurableInstanceControl``,
/// ``DurableQueries``, ``DurableUpdates`` and ``DurableFlowControl``.
public protocol DurableProvider: DurableInstances, DurableTurns, DurableActivities, DurableReads, DurableNodes, DurableWaking, DurableInstanceControl,
    DurableQueries, DurableUpdates, DurableFlowControl {}

/// An activity's outcome to record, with the lease it was run under.
public struct ActivityCompletion: Sendable, Hashable {
    public var lease: Lease
    public var outcome: ActivityOutcome
    /// Set by a node that keeps the instance's execution in memory: the number of history events
    /// it has. It asks for the instance's next turn to be claimed with the outcome when no other
    /// activity of the instance is outstanding (see ``DurableProvider/completeActivities(_:claim:)``).
    public var knownHistory: Int?

    public init(lease: Lease, outcome: ActivityOutcome, knownHistory: Int? = nil) {
        self.lease = lease
        self.outcome = outcome
        self.knownHistory = knownHistory
    }
}

/// What ``DurableProvider/completeActivity(_:committing:)`` did.
public enum CompletionCommit: Sendable {
    /// The outcome and the turn were committed; the activity tasks the turn leased to the committer.
    case committed(prefetched: [ActivityWorkItem])
    /// Only the outcome was recorded; a later turn consumes it.
    case recorded
    /// The activity's lease was no longer current: nothing changed.
    case leaseLost
}

/// What ``DurableProvider/completeActivities(_:claim:)`` did.
public struct ActivityCompletionResult: Sendable {
    /// Leases that were no longer current: their outcomes changed nothing.
    public var lost: Set<Lease>
    /// Turns claimed for the completer in the same step.
    public var claimed: [OrchestrationWorkItem]
    /// Whether a result went to an instance that was not claimed here: a turn is ready for any node.
    public var readyForTurn: Bool

    public init(lost: Set<Lease> = [], claimed: [OrchestrationWorkItem] = [], readyForTurn: Bool = false) {
        self.lost = lost
        self.claimed = claimed
        self.readyForTurn = readyForTurn
    }
}

/// What a claim asks for.
public struct ClaimRequest: Sendable, Hashable {
    /// Identifies the claiming runtime (node id) in leases.
    public var owner: String
    public var limit: Int
    /// Orchestration names (with versions) this node can run; `nil` claims anything.
    public var capabilities: Capabilities?
    /// Leases held by a registered node whose heartbeat is older than this (or that stopped, or
    /// was restarted since) are claimable at once; `nil` waits for every lease to expire.
    public var staleNodeAfter: Duration?
    /// Whether the claim also looks for the leases that `staleNodeAfter` makes claimable before
    /// they expire. That search reads the leases in flight across the fleet, more than the ready
    /// work a claim returns, so a runtime asks for it when its heartbeat saw a silent node holding
    /// leases, and otherwise at most once a heartbeat interval (``TakeoverCadence``).
    public var searchesOrphans = true
    /// With `capabilities`: also claim an instance no live node can run once its oldest ready
    /// message waited this long, so that it is handed back with backoff and shows what it waits for.
    public var claimUnrunnableAfter: Duration?
    /// The task queue activity claims take from, and a commit's prefetch leases from (``TaskQueue``).
    public var queue: String
    /// The task queues turn claims take from (``TaskQueue``): instances whose turns go elsewhere
    /// are left to the nodes that serve those.
    public var orchestrationQueues = [TaskQueue.defaultName]
    /// Whether an activity claim also takes the tasks of session queues (``ActivitySession``) whose
    /// node stopped or went silent (heartbeat older than `staleNodeAfter`, 30 s without it).
    public var sessionsOfDeadNodes = false

    public init(
        owner: String, limit: Int, capabilities: Capabilities? = nil, staleNodeAfter: Duration? = nil,
        claimUnrunnableAfter: Duration? = nil, queue: String = TaskQueue.defaultName
    ) {
        self.queue = queue
        self.owner = owner
        self.limit = limit
        self.capabilities = capabilities
        self.staleNodeAfter = staleNodeAfter
        self.claimUnrunnableAfter = claimUnrunnableAfter
    }
}

/// What a node can run, for capability-aware claims.
public struct Capabilities: Sendable, Hashable, Codable {
    /// Orchestration name to versions.
    public var orchestrations: [String: [String]]
    public var activities: [String]
    /// The task queues the node takes activities from; `nil` (a node of a release before queues)
    /// takes them from the default queue.
    public var activityQueues: [String]?

    /// The task queues the node takes activities from.
    public var servedQueues: [String] { self.activityQueues ?? [TaskQueue.defaultName] }
    /// The task queues the node takes turns from; `nil` (a node of a release before orchestration
    /// queues) takes them from every queue.
    public var orchestrationQueues: [String]?

    public init(orchestrations: [String: [String]], activities: [String]) {
        self.orchestrations = orchestrations
        self.activities = activities
    }

    public init(_ registry: Registry, activityQueues: [String]? = nil, orchestrationQueues: [String]? = nil) {
        self.init(
            orchestrations: Dictionary(uniqueKeysWithValues: registry.orchestrationVersions.map { ($0.name, $0.versions) }),
            activities: registry.activityNames
        )
        self.activityQueues = activityQueues
        self.orchestrationQueues = orchestrationQueues
    }
}

extension ClaimRequest {
    /// Whether a commit with this prefetch request leases `activity` to the committer: one on the
    /// request's queue that the node can run.
    public func takes(_ activity: ActivityRequest) -> Bool {
        activity.queueName == self.queue && (self.capabilities?.activities.contains(activity.name) ?? true)
    }

    /// `staleNodeAfter` when the claim searches for orphaned leases (``searchesOrphans``), else `nil`.
    public var orphanStaleness: Duration? {
        self.searchesOrphans ? self.staleNodeAfter : nil
    }
}

/// The result of a claim.
public struct ClaimResult<Item: Sendable>: Sendable {
    public var items: [Item]
    /// How long until the next item that is not visible yet becomes visible (a timer, a backoff, a
    /// lease that expires), by the provider's clock; `nil` when nothing is waiting.
    public var nextVisibleIn: Duration?

    public init(items: [Item], nextVisibleIn: Duration?) {
        self.items = items
        self.nextVisibleIn = nextVisibleIn
    }
}

/// A claim: the fencing token of every write made for it.
public struct Lease: Sendable, Hashable, CustomStringConvertible {
    /// The instance id (orchestrations) or task id (activities).
    public var id: String
    public var owner: String
    public var epoch: Int64

    public init(id: String, owner: String, epoch: Int64) {
        self.id = id
        self.owner = owner
        self.epoch = epoch
    }

    public var description: String { "\(self.id)@\(self.epoch)" }
}

/// Why work is handed back.
public enum AbandonReason: Sendable, Hashable {
    /// The node is shutting down or the work was interrupted: the delivery does not count.
    case interrupted
    /// The delivery failed: an activity attempt failed and is retried per its policy (counts an
    /// attempt), or a turn could not be run (its history did not load). The delivery counts towards
    /// poisoning.
    case retry
    /// An activity attempt failed and is retried per its policy: counts an attempt, like `.retry`,
    /// and keeps the failure as the task's last error (``ActivityTaskInfo/lastError``).
    case failedAttempt(FailureDetails)
    /// This node has no handler for the work: the delivery does not count, a handler miss does, and
    /// the instance shows what it waits for (e.g. `Order 2.0.0`).
    case missingHandler(String)
}

extension AbandonReason {
    /// Whether the hand-back counts the delivery: a retry or a failed attempt.
    public var countsDelivery: Bool {
        switch self {
        case .retry, .failedAttempt: true
        case .interrupted, .missingHandler: false
        }
    }
}

/// A claimed orchestration turn.
public struct OrchestrationWorkItem: Sendable {
    public var lease: Lease
    /// The instance as stored when claimed.
    public var instance: InstanceInfo
    /// The current execution's history, from sequence ``historyOffset`` on.
    public var history: [HistoryEvent]
    /// The sequence number of `history`'s first event: 0 for the whole history; more when the claim
    /// was made for a node that has the earlier events (see ``ActivityCompletion/knownHistory``).
    public var historyOffset: Int
    /// The visible messages for the current execution, oldest first.
    public var messages: [InboxMessage]
    /// The provider's time at the claim: the turn's `now`.
    public var claimedAt: Date
    /// How many times this instance has been claimed since its last committed turn (1 for a first
    /// delivery): grows when turns crash, hang or lose their lease. Interrupted deliveries and
    /// handler misses do not count.
    public var deliveryCount: Int
    /// How many claims since the last committed turn found no handler on the claiming node.
    public var handlerMisses: Int
    /// Set when the provider could not load the history or messages (e.g. written by a newer
    /// release); `history` and `messages` are then empty.
    public var loadError: DurableError?
    /// The number of events in the stored history, also when they could not be loaded: where a
    /// turn that records a failure appends.
    public var historyLength: Int

    public init(
        lease: Lease, instance: InstanceInfo, history: [HistoryEvent], messages: [InboxMessage], claimedAt: Date,
        deliveryCount: Int, handlerMisses: Int = 0, loadError: DurableError? = nil, historyLength: Int? = nil, historyOffset: Int = 0
    ) {
        self.historyOffset = historyOffset
        self.historyLength = historyLength ?? historyOffset + history.count
        self.lease = lease
        self.instance = instance
        self.history = history
        self.messages = messages
        self.claimedAt = claimedAt
        self.deliveryCount = deliveryCount
        self.handlerMisses = handlerMisses
        self.loadError = loadError
    }
}

/// A message waiting in an instance's inbox.
public struct InboxMessage: Sendable, Hashable {
    public var id: Int64
    public var kind: HistoryEvent.Kind

    public init(id: Int64, kind: HistoryEvent.Kind) {
        self.id = id
        self.kind = kind
    }
}

/// What a turn commits.
public struct TurnCommit: Sendable {
    /// The inbox messages the turn consumed.
    public var consumedMessageIDs: [Int64]
    public var result: TurnResult
    /// Lease up to `limit` of the new activity tasks to this claimer in the same step.
    public var prefetch: ClaimRequest?

    public init(consumedMessageIDs: [Int64], result: TurnResult, prefetch: ClaimRequest? = nil) {
        self.consumedMessageIDs = consumedMessageIDs
        self.result = result
        self.prefetch = prefetch
    }

    /// The operations of the new activities this commit leases to the committer: up to the
    /// prefetch limit, in the turn's order, those ``ClaimRequest/takes(_:)`` takes. A provider that
    /// recognizes a commit applied already returns these tasks only: a task the commit left
    /// unleased may have been claimed since, by the same node.
    public var prefetchedOperations: Set<Int> {
        guard let prefetch = self.prefetch else { return [] }
        var operations: Set<Int> = []
        for case .scheduleActivity(let request) in self.result.actions where operations.count < prefetch.limit && prefetch.takes(request) {
            operations.insert(request.operationID)
        }
        return operations
    }
}

/// A claimed activity task.
public struct ActivityWorkItem: Sendable {
    public var lease: Lease
    public var instanceID: String
    public var executionID: String
    public var request: ActivityRequest
    /// 1 for the first attempt; counts retries (not interrupted deliveries).
    public var attempt: Int
    /// How many times the task has been claimed in all, less interrupted deliveries and handler
    /// misses.
    public var deliveryCount: Int
    /// How many claims found no handler on the claiming node.
    public var handlerMisses: Int
    /// The details of the last heartbeat an earlier attempt or delivery wrote.
    public var lastHeartbeat: Payload?
    /// The orchestration cancelled the task while an earlier delivery ran, and that delivery's
    /// node stopped before it reported how it ended: the claimer reports it cancelled, without
    /// running it.
    public var cancelRequested: Bool
    /// The attempt was admitted by its rate limit already and handed back until its slot
    /// (``DurableFlowControl/admitActivity(_:rateLimit:)``): it starts without another admission.
    public var rateAdmitted: Bool

    public init(
        lease: Lease, instanceID: String, executionID: String, request: ActivityRequest, attempt: Int, deliveryCount: Int, handlerMisses: Int = 0,
        lastHeartbeat: Payload? = nil, cancelRequested: Bool = false, rateAdmitted: Bool = false
    ) {
        self.rateAdmitted = rateAdmitted
        self.lastHeartbeat = lastHeartbeat
        self.cancelRequested = cancelRequested
        self.lease = lease
        self.instanceID = instanceID
        self.executionID = executionID
        self.request = request
        self.attempt = attempt
        self.deliveryCount = deliveryCount
        self.handlerMisses = handlerMisses
    }
}

/// An activity's final outcome.
public enum ActivityOutcome: Sendable, Hashable {
    case completed(Payload)
    case failed(FailureDetails)

    /// The message that delivers the outcome to its orchestration.
    public func message(operationID: Int) -> HistoryEvent.Kind {
        switch self {
        case .completed(let output): .activityCompleted(operationID: operationID, result: output)
        case .failed(let failure): .activityFailed(operationID: operationID, failure: failure)
        }
    }
}

/// What wakes dispatchers and waiters.
public enum NotificationChannel: String, Sendable, Hashable, CaseIterable {
    case orchestrations
    case activities
    /// An instance reached a terminal status.
    case completions
}
