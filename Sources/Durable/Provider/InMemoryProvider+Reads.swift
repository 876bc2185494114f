import Foundation
import Synchronization

// Reads and management: instances, histories, listings, purge, queue depths.
extension InMemoryProvider {
    // MARK: Reads

    public func instance(id: String) async throws -> InstanceInfo? {
        self.state.withLock { $0.instances[id]?.info }
    }

    public func history(instanceID: String) async throws -> [HistoryEvent] {
        try self.state.withLock { state throws(DurableError) in
            guard let instance = state.instances[instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
            }
            return instance.history
        }
    }

    public func activities(instanceID: String) async throws -> [ActivityTaskInfo] {
        let now = self.now()
        return self.state.withLock { state in
            guard let execution = state.instances[instanceID]?.info.executionID else { return [] }
            return state.tasks.values.filter { $0.instanceID == instanceID && $0.executionID == execution }
                .sorted { $0.request.operationID < $1.request.operationID }
                .map { task in
                    let live = task.lease.flatMap { $0.expiresAt > now ? $0 : nil }
                    return ActivityTaskInfo(
                        operationID: task.request.operationID, name: task.request.name, attempt: task.attempt, maxAttempts: task.request.retry.maxAttempts,
                        visibleAt: live?.expiresAt ?? task.visibleAt, leaseOwner: live?.owner, cancelRequested: task.cancelRequested, lastError: task.lastError,
                        heartbeat: task.heartbeat, heartbeatAt: task.heartbeatAt, queue: task.request.queueName
                    )
                }
        }
    }

    public func listInstances(_ query: InstanceQuery) async throws -> InstancePage {
        guard query.limit > 0, query.limit <= 10_000 else {
            throw DurableError(.invalidInput, "a page holds 1 to 10,000 instances, not \(query.limit)")
        }
        return self.state.withLock { state in
            let matching = state.instances.values
                .map(\.info)
                .filter { info in query.matches(info) && (query.cursor.map { info.id > $0 } ?? true) }
                .sorted { $0.id < $1.id }
            let page = Array(matching.prefix(query.limit))
            return InstancePage(instances: page, nextCursor: matching.count > query.limit ? page.last?.id : nil)
        }
    }

    public func purgeInstances(_ query: PurgeQuery) async throws -> Int {
        self.state.withLock { state in
            let ids = state.instances.values.filter { instance in
                let info = instance.info
                return info.status.isTerminal && query.statuses.contains(info.status)
                    && (query.instanceIDs.map { $0.contains(info.id) } ?? true)
                    && (query.completedBefore.map { (info.completedAt ?? .distantFuture) < $0 } ?? true)
            }.map(\.info.id)
            for id in ids {
                state.instances[id] = nil
                state.inbox[id] = nil
            }
            let purged = Set(ids)
            state.tasks = state.tasks.filter { !purged.contains($0.value.instanceID) }
            // Their updates and subscriptions go with them, as on PostgreSQL.
            state.updates = state.updates.filter { !purged.contains($0.value.instanceID) }
            state.subscriptions = state.subscriptions.mapValues { $0.filter { !purged.contains($0.instanceID) } }.filter { !$0.value.isEmpty }
            return ids.count
        }
    }

    public func queueDepths() async throws -> QueueDepths {
        let now = self.now()
        return self.state.withLock { state in
            let messages = state.inbox.values.joined()
            let tasks = state.tasks.values
            let running = tasks.filter { ($0.lease?.expiresAt ?? .distantPast) > now }.count
            let delayed = tasks.filter { $0.visibleAt > now && $0.lease == nil }.count
            return QueueDepths(
                readyMessages: messages.filter { $0.visibleAt <= now }.count,
                delayedMessages: messages.filter { $0.visibleAt > now }.count,
                readyActivities: tasks.count - running - delayed,
                delayedActivities: delayed,
                runningActivities: running,
                readyActivitiesByQueue: Dictionary(
                    tasks.filter { ($0.lease?.expiresAt ?? .distantPast) <= now && !($0.visibleAt > now && $0.lease == nil) }.map { ($0.request.queueName, 1) },
                    uniquingKeysWith: +
                )
            )
        }
    }
}
