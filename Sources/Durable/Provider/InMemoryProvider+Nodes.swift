import Foundation
import Synchronization

// The node registry and notifications.
extension InMemoryProvider {
    // MARK: Nodes

    public func registerNode(_ node: NodeRegistration) async throws -> Int {
        let now = self.now()
        let released = self.state.withLock { state in
            state.nodes[node.id] = Node(registration: node, startedAt: now, heartbeatAt: now)
            let previous = "\(node.id)#"
            return state.releaseLeases(now: now) { $0.hasPrefix(previous) && $0 != node.leaseOwner }
        }
        if released > 0 {
            self.notify(.orchestrations)
            self.notify(.activities)
        }
        return released
    }

    public func heartbeat(_ node: NodeRegistration, staleAfter: Duration) async throws -> HeartbeatResult {
        let now = self.now()
        return try self.state.withLock { state throws(DurableError) -> HeartbeatResult in
            guard let current = state.nodes[node.id], current.registration.incarnation == node.incarnation else {
                throw DurableError(
                    .invalidInput,
                    "node id '\(node.id)' was registered by another process (incarnation \(state.nodes[node.id]?.registration.incarnation ?? "none")); give each node its own id"
                )
            }
            state.nodes[node.id]?.heartbeatAt = now
            let holders = Set(
                state.instances.values.compactMap { $0.lease.flatMap { $0.expiresAt > now ? $0.owner : nil } }
                    + state.tasks.values.compactMap { $0.lease.flatMap { $0.expiresAt > now ? $0.owner : nil } }
            )
            var result = HeartbeatResult(orphansNow: false, nextOrphanIn: nil, fleet: state.fleetSnapshot(now: now, staleAfter: staleAfter, node: node.capabilities))
            for other in state.nodes.values where other.registration.id != node.id && other.stoppedAt == nil && holders.contains(other.registration.leaseOwner) {
                let staleAt = other.heartbeatAt.addingTimeInterval(staleAfter.seconds)
                if staleAt <= now {
                    result.orphansNow = true
                    result.staleNodes.append(other.registration.id)
                } else {
                    let wait = Duration.milliseconds(Int64(staleAt.timeIntervalSince(now) * 1000))
                    result.nextOrphanIn = min(result.nextOrphanIn ?? wait, wait)
                }
            }
            return result
        }
    }

    public func deregisterNode(_ node: NodeRegistration) async throws {
        let now = self.now()
        let released = self.state.withLock { state -> Int in
            guard state.nodes[node.id]?.registration.incarnation == node.incarnation else { return 0 }
            state.nodes[node.id]?.stoppedAt = now
            return state.releaseLeases(now: now) { $0 == node.leaseOwner }
        }
        if released > 0 {
            self.notify(.orchestrations)
            self.notify(.activities)
        }
    }

    public func listNodes(staleAfter: Duration) async throws -> [NodeInfo] {
        let now = self.now()
        return self.state.withLock { state in
            state.nodes.values.sorted { $0.registration.id < $1.registration.id }.map { node in
                let owner = node.registration.leaseOwner
                return NodeInfo(
                    registration: node.registration,
                    startedAt: node.startedAt,
                    heartbeatAt: node.heartbeatAt,
                    stoppedAt: node.stoppedAt,
                    isAlive: node.isAlive(now: now, staleAfter: staleAfter),
                    instanceLeases: state.instances.values.filter { $0.lease?.owner == owner && ($0.lease?.expiresAt ?? now) > now }.map(\.info.id).sorted(),
                    activityLeases: state.tasks.values.filter { $0.lease?.owner == owner && ($0.lease?.expiresAt ?? now) > now }.count
                )
            }
        }
    }

    // MARK: Notifications

    public func notifications(_ channel: NotificationChannel) -> AsyncStream<Void> {
        self.hub.subscribe(channel)
    }

    public func completionNotifications(instanceID: String) -> AsyncStream<Void> {
        self.hub.subscribe(completionOf: instanceID)
    }

    func notify(_ channel: NotificationChannel) {
        self.hub.post(channel)
    }
}

extension Capabilities {
    /// Whether a node with these capabilities can run an instance. An empty version (not resolved
    /// yet) runs on any node that has the name.
    public func canRun(name: String, version: String) -> Bool {
        guard let versions = self.orchestrations[name] else { return false }
        return version.isEmpty || versions.contains(version)
    }
}

extension InMemoryProvider.State {
    /// The in-memory counterpart of the heartbeat's fleet columns in PostgreSQL.
    func fleetSnapshot(now: Date, staleAfter: Duration, node: Capabilities) -> FleetSnapshot {
        let queues = node.servedQueues
        let turnQueues = node.orchestrationQueues ?? [TaskQueue.defaultName]
        let alive = self.nodes.values.filter { $0.isAlive(now: now, staleAfter: staleAfter) }.count
        // An instance's turn is ready once it has a visible message and no live lease.
        let readySince = self.inbox.compactMap { id, messages -> (String, Date)? in
            guard let instance = self.instances[id], !instance.info.status.isTerminal, turnQueues.contains(instance.info.queue) else { return nil }
            guard let first = messages.filter({ ($0.executionID == nil || $0.executionID == instance.info.executionID) && $0.visibleAt <= now }).map(\.visibleAt).min()
            else { return nil }
            let since = max(first, instance.lease?.expiresAt ?? first)
            return since <= now ? (instance.info.queue, since) : nil
        }
        /// The depth of a queue whose items have been ready since `since`.
        func depth(_ since: [Date]) -> QueueDepth {
            QueueDepth(ready: min(since.count, FleetSnapshot.countLimit), oldestReady: since.min().map { .milliseconds(Int64(now.timeIntervalSince($0) * 1000)) })
        }
        let activityQueues = Dictionary(uniqueKeysWithValues: Set(queues).map { queue in
            (queue, depth(self.tasks.values.compactMap { task -> Date? in
                guard !task.cancelRequested, task.request.queueName == queue else { return nil }
                let since = max(task.visibleAt, task.lease?.expiresAt ?? task.visibleAt)
                return since <= now ? since : nil
            }))
        })
        let turnDepths = Dictionary(uniqueKeysWithValues: Set(turnQueues).map { queue in
            (queue, depth(readySince.filter { $0.0 == queue }.map(\.1)))
        })
        return FleetSnapshot(aliveNodes: alive, turnQueues: turnDepths, activityQueues: activityQueues)
    }
}
