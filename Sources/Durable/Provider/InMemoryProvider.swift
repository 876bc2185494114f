public import Foundation
import Synchronization

/// A provider that keeps everything in memory, with the same semantics as the PostgreSQL provider:
/// leases with epochs, provider-clock visibility, atomic turns. It serves fast tests and an embedded
/// single-process mode; nothing survives the process.
public final class InMemoryProvider: DurableProvider {
    /// How long a claim is held before it may be taken over.
    public let leaseDuration: Duration
    /// The largest payload accepted, in bytes.
    public let maxPayloadBytes: Int

    let clock: @Sendable () -> Date
    let state = Mutex(State())
    let hub = NotificationHub()

    /// - Parameter clock: the provider's clock; tests pass a controllable one.
    public init(
        leaseDuration: Duration = .seconds(30),
        maxPayloadBytes: Int = 2 << 20,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.leaseDuration = leaseDuration
        self.maxPayloadBytes = maxPayloadBytes
        self.clock = clock
    }

    struct LeaseState {
        var owner: String
        var expiresAt: Date
    }

    struct Instance {
        var info: InstanceInfo
        var history: [HistoryEvent] = []
        var epoch: Int64 = 0
        var lease: LeaseState?
        var deliveries = 0
        var handlerMisses = 0
        /// Histories of executions that ended with a reset, by execution id.
        var resetExecutions: [String: [HistoryEvent]] = [:]
        /// The node that committed the last turn (``QueryRequest/Target/turnNode``).
        var turnNode: String?
        /// The concurrency key whose slot it holds while it runs.
        var concurrencyKey: String?

        var queryTarget: QueryRequest.Target {
            QueryRequest.Target(
                name: self.info.name, version: self.info.version, executionID: self.info.executionID,
                historyLength: self.history.count, status: self.info.status, turnNode: self.turnNode
            )
        }

        /// Whether nothing holds the instance now: no live lease, no pause in force.
        func isFree(at now: Date) -> Bool {
            (self.lease.map { $0.expiresAt <= now } ?? true) && (self.info.pause.map { $0.until.map { $0 <= now } ?? false } ?? true)
        }
    }

    struct Message {
        var id: Int64
        var executionID: String?
        var kind: HistoryEvent.Kind
        var visibleAt: Date
    }

    struct ActivityTask {
        var id: String
        var instanceID: String
        var executionID: String
        var request: ActivityRequest
        var attempt = 1
        var deliveries = 0
        var epoch: Int64 = 0
        var visibleAt: Date
        var lease: LeaseState?
        var cancelRequested = false
        var sequence: Int64
        var handlerMisses = 0
        var lastError: FailureDetails?
        var heartbeat: Payload?
        var heartbeatAt: Date?
        var rateAdmitted = false
    }

    struct Subscriber: Hashable {
        var instanceID: String
        var executionID: String
    }

    struct Query {
        var request: QueryRequest
        /// Arrival order (several can arrive within a millisecond).
        var sequence: Int64
        var createdAt: Date
        var expiresAt: Date
        var claim: LeaseState?
        var answer: QueryAnswer?
    }

    struct Node {
        var registration: NodeRegistration
        var startedAt: Date
        var heartbeatAt: Date
        var stoppedAt: Date?

        /// Not stopped, and heartbeated within `staleAfter`.
        func isAlive(now: Date, staleAfter: Duration) -> Bool {
            self.stoppedAt == nil && self.heartbeatAt.addingTimeInterval(staleAfter.seconds) > now
        }
    }

    struct State {
        var nodes: [String: Node] = [:]
        var instances: [String: Instance] = [:]
        var inbox: [String: [Message]] = [:]
        var tasks: [String: ActivityTask] = [:]
        var queries: [String: Query] = [:]
        /// Topic subscriptions by pattern; those of ended executions are dropped when a
        /// publication meets them.
        var subscriptions: [String: Set<Subscriber>] = [:]
        /// Updates by id: their instance and, once answered, their outcome.
        var updates: [String: (instanceID: String, outcome: UpdateOutcome?)] = [:]
        var rateLimits: [String: (limit: RateLimit, bucket: RateLimitBucket)] = [:]
        var concurrencyKeys: [String: ConcurrencySlots<StartRequest>] = [:]
        var nextID: Int64 = 1

        mutating func newID() -> Int64 {
            defer { self.nextID += 1 }
            return self.nextID
        }

        /// Whether a lease held by `owner` may be taken over before it expires: its node restarted,
        /// stopped or stopped heartbeating.
        func isOrphaned(_ owner: String, now: Date, staleAfter: Duration?) -> Bool {
            guard let staleAfter else { return false }
            let parts = owner.split(separator: "#", maxSplits: 1)
            guard parts.count == 2, let node = self.nodes[String(parts[0])] else { return false }
            return node.registration.incarnation != parts[1] || !node.isAlive(now: now, staleAfter: staleAfter)
        }

        /// Whether node `id` is registered and alive.
        func isAlive(_ id: String, now: Date, staleAfter: Duration) -> Bool {
            self.nodes[id]?.isAlive(now: now, staleAfter: staleAfter) ?? false
        }

        /// Releases the leases `matches` selects; returns how many.
        mutating func releaseLeases(now: Date, where matches: (String) -> Bool) -> Int {
            var released = 0
            for (id, instance) in self.instances {
                if let lease = instance.lease, matches(lease.owner) {
                    self.instances[id]?.lease = nil
                    released += 1
                }
            }
            for (id, task) in self.tasks {
                if let lease = task.lease, matches(lease.owner) {
                    self.tasks[id]?.lease = nil
                    self.tasks[id]?.visibleAt = now
                    released += 1
                }
            }
            return released
        }

        /// Leases an instance to `owner` and returns its turn: the history from `historyOffset` on
        /// and the visible messages of its current execution.
        mutating func lease(_ id: String, to owner: String, now: Date, until expiry: Date, historyOffset: Int = 0) -> OrchestrationWorkItem? {
            guard var instance = self.instances[id] else { return nil }
            instance.epoch += 1
            instance.deliveries += 1
            instance.lease = LeaseState(owner: owner, expiresAt: expiry)
            self.instances[id] = instance
            let messages = (self.inbox[id] ?? [])
                .filter { $0.visibleAt <= now && ($0.executionID == nil || $0.executionID == instance.info.executionID) }
                .map { InboxMessage(id: $0.id, kind: $0.kind) }
            let offset = min(historyOffset, instance.history.count)
            return OrchestrationWorkItem(
                lease: Lease(id: id, owner: owner, epoch: instance.epoch),
                instance: instance.info,
                history: Array(instance.history[offset...]),
                messages: messages,
                claimedAt: now,
                deliveryCount: instance.deliveries,
                handlerMisses: instance.handlerMisses,
                historyOffset: offset
            )
        }

        mutating func enqueue(_ instanceID: String, executionID: String?, _ kind: HistoryEvent.Kind, visibleAt: Date) {
            let message = Message(id: self.newID(), executionID: executionID, kind: kind, visibleAt: visibleAt)
            self.inbox[instanceID, default: []].append(message)
        }
    }

    func now() -> Date {
        self.clock().roundedToMilliseconds
    }

    func expiry(from now: Date) -> Date {
        now.addingTimeInterval(self.leaseDuration.seconds)
    }
}
