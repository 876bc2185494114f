public import Foundation

/// A runtime process as it registers itself.
public struct NodeRegistration: Sendable, Hashable {
    /// Stable across restarts when configured (`DurableRuntime.Configuration.nodeID`).
    public var id: String
    /// New at every process start.
    public var incarnation: String
    public var host: String
    public var pid: Int
    /// The release the node runs, for operators.
    public var buildVersion: String
    public var capabilities: Capabilities

    public init(id: String, incarnation: String, host: String, pid: Int, buildVersion: String, capabilities: Capabilities) {
        self.id = id
        self.incarnation = incarnation
        self.host = host
        self.pid = pid
        self.buildVersion = buildVersion
        self.capabilities = capabilities
    }

    /// The owner this node writes into leases: `<id>#<incarnation>`.
    public var leaseOwner: String { "\(self.id)#\(self.incarnation)" }
}

/// A node as the registry knows it.
public struct NodeInfo: Sendable, Hashable {
    public var registration: NodeRegistration
    public var startedAt: Date
    public var heartbeatAt: Date
    public var stoppedAt: Date?
    /// Whether its heartbeat is recent (by the provider's clock) and it has not stopped.
    public var isAlive: Bool
    /// The instances it holds live leases on.
    public var instanceLeases: [String]
    /// How many activity tasks it holds live leases on.
    public var activityLeases: Int

    public init(registration: NodeRegistration, startedAt: Date, heartbeatAt: Date, stoppedAt: Date?, isAlive: Bool, instanceLeases: [String], activityLeases: Int) {
        self.registration = registration
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.stoppedAt = stoppedAt
        self.isAlive = isAlive
        self.instanceLeases = instanceLeases
        self.activityLeases = activityLeases
    }
}

/// What a heartbeat learned about other nodes.
public struct HeartbeatResult: Sendable, Hashable {
    /// A node that holds leases stopped heartbeating: its work can be taken over now.
    public var orphansNow: Bool
    /// How long until the next lease-holding node becomes stale if it does not heartbeat again.
    public var nextOrphanIn: Duration?

    /// The nodes whose work can be taken over now (they hold leases and went stale).
    public var staleNodes: [String]
    /// What the fleet looks like as of this heartbeat, for metrics; `nil` when the provider does not
    /// say.
    public var fleet: FleetSnapshot?

    public init(orphansNow: Bool, nextOrphanIn: Duration?, staleNodes: [String] = [], fleet: FleetSnapshot? = nil) {
        self.orphansNow = orphansNow
        self.nextOrphanIn = nextOrphanIn
        self.staleNodes = staleNodes
        self.fleet = fleet
    }
}

/// Nodes alive and work waiting, read cheaply with a heartbeat: index descents and counts bounded
/// by ``FleetSnapshot/countLimit``, never a scan of the backlog.
public struct FleetSnapshot: Sendable, Hashable {
    /// Ready counts stop at this many (a deeper queue reports this number).
    public static let countLimit = 10_000

    /// Registered nodes that have not stopped and heartbeated within the stale limit.
    public var aliveNodes: Int
    /// The task queues this node takes turns from: their instances with a turn ready.
    public var turnQueues: [String: QueueDepth]
    /// Instances with a turn ready to be claimed in the queues this node serves, up to ``countLimit``.
    public var readyTurns: Int { min(Self.countLimit, self.turnQueues.values.reduce(0) { $0 + $1.ready }) }
    /// How long the longest-waiting ready turn of those queues has been ready.
    public var oldestReadyTurn: Duration? { self.turnQueues.values.compactMap(\.oldestReady).max() }
    /// The task queues this node serves: their ready activity tasks.
    public var activityQueues: [String: QueueDepth]
    /// Activity tasks ready to be claimed in the queues this node serves, up to ``countLimit``.
    public var readyActivities: Int { min(Self.countLimit, self.activityQueues.values.reduce(0) { $0 + $1.ready }) }
    /// How long the longest-waiting ready activity task of those queues has been ready.
    public var oldestReadyActivity: Duration? { self.activityQueues.values.compactMap(\.oldestReady).max() }

    public init(aliveNodes: Int, turnQueues: [String: QueueDepth], activityQueues: [String: QueueDepth]) {
        self.aliveNodes = aliveNodes
        self.turnQueues = turnQueues
        self.activityQueues = activityQueues
    }
}

/// A task queue's ready work.
public struct QueueDepth: Sendable, Hashable {
    /// Tasks ready to be claimed, up to ``FleetSnapshot/countLimit``.
    public var ready: Int
    /// How long the longest-waiting of them has been ready.
    public var oldestReady: Duration?

    public init(ready: Int, oldestReady: Duration?) {
        self.ready = ready
        self.oldestReady = oldestReady
    }
}

extension Lease {
    /// The node id part of an owner written as `<id>#<incarnation>`.
    public var nodeID: Substring {
        self.owner.split(separator: "#", maxSplits: 1).first ?? Substring(self.owner)
    }
}
