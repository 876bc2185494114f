import Foundation
import Synchronization

// Activity tasks: claims, completions (alone, in batches, or with the turn they complete), abandons, renewals.
extension InMemoryProvider {
    // MARK: Activities

    public func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem> {
        let now = self.now()
        return self.state.withLock { state in
            var nextVisible: Date?
            var ready: [ActivityTask] = []
            let liveness = request.staleNodeAfter ?? .seconds(30)
            for task in state.tasks.values
            where task.request.queueName == request.queue
                || (request.sessionsOfDeadNodes && TaskQueue.sessionNode(of: task.request.queueName).map { !state.isAlive($0, now: now, staleAfter: liveness) } == true) {
                if let lease = task.lease, lease.expiresAt > now, !state.isOrphaned(lease.owner, now: now, staleAfter: request.orphanStaleness) {
                    nextVisible = min(nextVisible ?? lease.expiresAt, lease.expiresAt)
                    continue
                }
                if task.cancelRequested {
                    // Its node stopped before it reported the cancellation: any claimer reports it.
                    ready.append(task)
                    continue
                }
                guard task.visibleAt <= now else {
                    nextVisible = min(nextVisible ?? task.visibleAt, task.visibleAt)
                    continue
                }
                if let capabilities = request.capabilities, !capabilities.activities.contains(task.request.name) {
                    continue
                }
                ready.append(task)
            }
            // Orphans (still leased by a silent node) first: they are the oldest work; then in
            // priority order, aged by waiting (``Priority/ClaimRank``).
            func rank(_ task: ActivityTask) -> Priority.ClaimRank { Priority.ClaimRank(priority: task.request.priorityLevel, readyAt: task.visibleAt, now: now) }
            ready.sort { ($0.lease == nil ? 1 : 0, rank($0), $0.sequence) < ($1.lease == nil ? 1 : 0, rank($1), $1.sequence) }
            var items: [ActivityWorkItem] = []
            for var task in ready.prefix(max(0, request.limit)) {
                task.epoch += 1
                task.deliveries += 1
                task.lease = LeaseState(owner: request.owner, expiresAt: self.expiry(from: now))
                state.tasks[task.id] = task
                items.append(
                    ActivityWorkItem(
                        lease: Lease(id: task.id, owner: request.owner, epoch: task.epoch),
                        instanceID: task.instanceID,
                        executionID: task.executionID,
                        request: task.request,
                        attempt: task.attempt,
                        deliveryCount: task.deliveries,
                        handlerMisses: task.handlerMisses,
                        lastHeartbeat: task.heartbeat,
                        cancelRequested: task.cancelRequested,
                        rateAdmitted: task.rateAdmitted
                    )
                )
            }
            return ClaimResult(items: items, nextVisibleIn: nextVisible.map { .milliseconds(max(0, Int64($0.timeIntervalSince(now) * 1000))) })
        }
    }

    public func completeActivities(_ completions: [ActivityCompletion], claim: ClaimRequest?) async throws -> ActivityCompletionResult {
        let completions = completions.map { completion in
            var completion = completion
            completion.outcome = ProviderValidation.activityOutcome(completion.outcome, limit: self.maxPayloadBytes, taskID: completion.lease.id)
            return completion
        }
        let now = self.now()
        let result = self.state.withLock { state -> ActivityCompletionResult in
            var result = ActivityCompletionResult()
            var delivered: [String] = []
            var known: [String: Int] = [:]
            for completion in completions {
                guard let task = try? Self.fenced(state.tasks[completion.lease.id], completion.lease) else {
                    result.lost.insert(completion.lease)
                    continue
                }
                state.tasks[completion.lease.id] = nil
                guard let instance = state.instances[task.instanceID], !instance.info.status.isTerminal,
                    instance.info.executionID == task.executionID
                else { continue }
                state.enqueue(task.instanceID, executionID: task.executionID, completion.outcome.message(operationID: task.request.operationID), visibleAt: now)
                delivered.append(task.instanceID)
                if let count = completion.knownHistory { known[task.instanceID] = max(known[task.instanceID] ?? 0, count) }
            }
            var claimed: Set<String> = []
            for id in delivered where claimed.count < (claim?.limit ?? 0) && !claimed.contains(id) {
                guard let claim, let count = known[id], let instance = state.instances[id],
                    instance.isFree(at: now),
                    !state.tasks.values.contains(where: { $0.instanceID == id && $0.executionID == instance.info.executionID && !$0.cancelRequested }),
                    let item = state.lease(id, to: claim.owner, now: now, until: self.expiry(from: now), historyOffset: max(0, count - 1))
                else { continue }
                claimed.insert(id)
                result.claimed.append(item)
            }
            result.readyForTurn = delivered.contains { !claimed.contains($0) }
            return result
        }
        if result.readyForTurn { self.notify(.orchestrations) }
        return result
    }

    public func completeActivity(_ completion: ActivityCompletion, committing turn: TurnCommit) async throws -> CompletionCommit {
        if ProviderValidation.activityOutcome(completion.outcome, limit: self.maxPayloadBytes, taskID: completion.lease.id) != completion.outcome {
            // Recorded as a failure, which the prepared turn does not consume.
            return try await self.completeActivities([completion], claim: nil).lost.isEmpty ? .recorded : .leaseLost
        }
        let now = self.now()
        // The task is done and the instance leased to the committer in one step; the turn then
        // commits under that lease, which nobody else can take meanwhile.
        enum Step { case lost, recorded, take(Lease, ActivityTask) }
        let step = self.state.withLock { state -> Step in
            guard let task = try? Self.fenced(state.tasks[completion.lease.id], completion.lease) else { return .lost }
            state.tasks[completion.lease.id] = nil
            guard let instance = state.instances[task.instanceID], !instance.info.status.isTerminal,
                instance.info.executionID == task.executionID
            else { return .recorded }
            let free = instance.isFree(at: now)
            let alone = !state.tasks.values.contains { $0.instanceID == task.instanceID && $0.executionID == task.executionID && !$0.cancelRequested }
            if free, alone, turn.result.newEvents.first?.sequenceNumber == instance.history.count,
                let item = state.lease(task.instanceID, to: completion.lease.owner, now: now, until: self.expiry(from: now))
            {
                return .take(item.lease, task)
            }
            state.enqueue(task.instanceID, executionID: task.executionID, completion.outcome.message(operationID: task.request.operationID), visibleAt: now)
            return .recorded
        }
        switch step {
        case .lost:
            return .leaseLost
        case .recorded:
            self.notify(.orchestrations)
            return .recorded
        case .take(let lease, let task):
            do {
                return .committed(prefetched: try await self.commitTurn(lease, turn))
            } catch {
                // The turn was invalid: the outcome waits for a turn of its own.
                self.state.withLock { state in
                    state.instances[lease.id]?.lease = nil
                    state.enqueue(task.instanceID, executionID: task.executionID, completion.outcome.message(operationID: task.request.operationID), visibleAt: now)
                }
                self.notify(.orchestrations)
                return .recorded
            }
        }
    }

    public func abandonActivity(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let now = self.now()
        try self.state.withLock { state throws(DurableError) in
            var task = try Self.fenced(state.tasks[lease.id], lease)
            task.lease = nil
            task.visibleAt = now.addingTimeInterval(delay.seconds)
            // The next attempt, or the next delivery of this one, is admitted anew.
            task.rateAdmitted = false
            switch reason {
            case .retry:
                task.attempt += 1
            case .failedAttempt(let failure):
                task.attempt += 1
                task.lastError = failure
            case .interrupted:
                task.deliveries = max(0, task.deliveries - 1)
            case .missingHandler:
                task.deliveries = max(0, task.deliveries - 1)
                task.handlerMisses += 1
            }
            state.tasks[lease.id] = task
        }
        self.notify(.activities)
    }

    public func renewActivity(_ lease: Lease) async throws -> Bool {
        let now = self.now()
        return try self.state.withLock { state throws(DurableError) -> Bool in
            var task = try Self.fenced(state.tasks[lease.id], lease)
            task.lease?.expiresAt = self.expiry(from: now)
            state.tasks[lease.id] = task
            return task.cancelRequested
        }
    }

    public func activityCancellations() -> AsyncStream<String> {
        self.hub.subscribeCancellations()
    }

    public func heartbeatActivity(_ lease: Lease, details: Payload?, extendBy: Duration?) async throws -> Bool {
        if let details { try ProviderValidation.payload(details, limit: self.maxPayloadBytes, what: "the heartbeat's details") }
        let now = self.now()
        return try self.state.withLock { state throws(DurableError) -> Bool in
            var task = try Self.fenced(state.tasks[lease.id], lease)
            task.lease?.expiresAt = extendBy.map { now.addingTimeInterval($0.seconds) } ?? self.expiry(from: now)
            if let details {
                task.heartbeat = details
                task.heartbeatAt = now
            }
            state.tasks[lease.id] = task
            return task.cancelRequested
        }
    }

    static func fenced(_ task: ActivityTask?, _ lease: Lease) throws(DurableError) -> ActivityTask {
        guard let task, task.epoch == lease.epoch, task.lease?.owner == lease.owner else {
            throw DurableError(
                .leaseLost,
                "the activity lease \(lease) of '\(lease.owner)' is no longer current (epoch now \(task?.epoch ?? 0))",
                instanceID: task?.instanceID
            )
        }
        return task
    }
}
