import Foundation
import Synchronization

// Starts, messages and turns: claims, commits, abandons and renewals of instance leases.
extension InMemoryProvider {
    // MARK: Client

    public func createInstance(_ request: StartRequest) async throws -> StartResult {
        try await self.start(request, claimingFirstTurnFor: nil).0
    }

    public func createInstance(_ request: StartRequest, claimingFirstTurnFor owner: String) async throws -> (StartResult, OrchestrationWorkItem?) {
        try await self.start(request, claimingFirstTurnFor: owner)
    }

    /// The start, then the turn committed under the lease the start took: nobody else can take the
    /// turn in between, and nothing of this provider outlives a crash that would split the two.
    public func createInstance(
        _ request: StartRequest,
        claimingFirstTurnFor owner: String,
        committing firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> (StartResult, FirstTurn) {
        let (result, claimed) = try await self.start(request, claimingFirstTurnFor: owner)
        guard let item = claimed else { return (result, .none) }
        guard let commit = await firstTurn(item) else { return (result, .claimed(item)) }
        do {
            return (result, .committed(item, commit, prefetched: try await self.commitTurn(item.lease, commit)))
        } catch {
            // The turn stays claimed, and its starter runs it again as any claimed turn.
            return (result, .claimed(item))
        }
    }

    private func start(_ request: StartRequest, claimingFirstTurnFor owner: String?) async throws -> (StartResult, OrchestrationWorkItem?) {
        try ProviderValidation.start(request, limit: self.maxPayloadBytes)
        let now = self.now()
        let result = try self.state.withLock { state throws(DurableError) -> (StartResult, OrchestrationWorkItem?) in
            if let existing = state.instances[request.instanceID] {
                guard existing.info.name == request.name, existing.info.input == request.input else {
                    throw DurableError(
                        .instanceAlreadyExists,
                        "instance '\(request.instanceID)' exists already (\(existing.info.name), status \(existing.info.status.rawValue)) with another name or input",
                        instanceID: request.instanceID,
                        name: existing.info.name
                    )
                }
                return (.alreadyExists, nil)
            }
            state.create(request, now: now)
            guard let owner else { return (.created, nil) }
            return (.created, state.lease(request.instanceID, to: owner, now: now, until: self.expiry(from: now)))
        }
        // An eagerly claimed turn is its starter's: nobody else needs waking.
        if result.0 == .created, result.1 == nil { self.notify(.orchestrations) }
        return result
    }

    public func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws {
        try ProviderValidation.instanceID(instanceID)
        if case .eventRaised(let name, let input, _) = message {
            try ProviderValidation.name(name)
            try ProviderValidation.payload(input, limit: self.maxPayloadBytes, what: "the event data", instanceID: instanceID)
        }
        let now = self.now()
        let sent = try self.state.withLock { state throws(DurableError) -> Bool in
            guard let instance = state.instances[instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
            }
            if instance.info.status.isTerminal {
                if message.isCancellation { return false }
                throw DurableError(
                    .invalidInput,
                    "instance '\(instanceID)' is \(instance.info.status.rawValue) and takes no more messages",
                    instanceID: instanceID
                )
            }
            state.enqueue(instanceID, executionID: nil, message, visibleAt: now)
            return true
        }
        if sent { self.notify(.orchestrations) }
    }

    public func signalWithStart(_ request: StartRequest, event: HistoryEvent.Kind) async throws -> StartResult {
        try ProviderValidation.signalWithStart(request, event: event, limit: self.maxPayloadBytes)
        let now = self.now()
        let result = try self.state.withLock { state throws(DurableError) -> StartResult in
            let id = request.instanceID
            if let existing = state.instances[id] {
                guard !existing.info.status.isTerminal else {
                    throw DurableError(.invalidInput, "instance '\(id)' is \(existing.info.status.rawValue) and takes no more messages", instanceID: id)
                }
                state.enqueue(id, executionID: nil, event, visibleAt: now)
                return .alreadyExists
            }
            state.create(request, now: now)
            state.enqueue(id, executionID: nil, event, visibleAt: now)
            return .created
        }
        self.notify(.orchestrations)
        return result
    }

    // MARK: Orchestrations

    public func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem> {
        let now = self.now()
        return self.state.withLock { state in
            var candidates: [(orphan: Bool, rank: Priority.ClaimRank, firstMessage: Int64, id: String)] = []
            var nextVisible: Date?
            func consider(_ date: Date) { nextVisible = min(nextVisible ?? date, date) }

            for (id, messages) in state.inbox where !messages.isEmpty {
                guard let instance = state.instances[id], !instance.info.status.isTerminal else {
                    state.inbox[id] = nil
                    continue
                }
                guard request.orchestrationQueues.contains(instance.info.queue) else { continue }
                let current = messages.filter { $0.executionID == nil || $0.executionID == instance.info.executionID }
                state.inbox[id] = current
                let visible = current.filter { $0.visibleAt <= now }
                guard let first = visible.map(\.id).min(), let oldest = visible.map(\.visibleAt).min() else {
                    if let date = current.map(\.visibleAt).min() { consider(date) }
                    continue
                }
                if let pause = instance.info.pause, pause.until.map({ $0 > now }) ?? true {
                    if let until = pause.until { consider(until) }
                    continue
                }
                if let lease = instance.lease, lease.expiresAt > now, !state.isOrphaned(lease.owner, now: now, staleAfter: request.orphanStaleness) {
                    consider(lease.expiresAt)
                    continue
                }
                if let capabilities = request.capabilities, !capabilities.canRun(name: instance.info.name, version: instance.info.version) {
                    // Work no live node can run is claimed after a grace period, to be handed back
                    // with backoff and show what it waits for.
                    guard let grace = request.claimUnrunnableAfter,
                        oldest.addingTimeInterval(grace.seconds) <= now,
                        !state.nodes.values.contains(where: { node in
                            node.isAlive(now: now, staleAfter: request.staleNodeAfter ?? .seconds(30))
                                && node.registration.capabilities.canRun(name: instance.info.name, version: instance.info.version)
                        })
                    else { continue }
                }
                // Ready since its oldest visible message, or since its lease expired; an orphan (its
                // silent node's lease still runs) goes first, as the oldest work.
                let orphan = instance.lease.map { $0.expiresAt > now } ?? false
                let readyAt = orphan ? now : max(oldest, instance.lease?.expiresAt ?? oldest)
                candidates.append((orphan, Priority.ClaimRank(priority: instance.info.priority, readyAt: readyAt, now: now), first, id))
            }
            candidates.sort { ($0.orphan ? 0 : 1, $0.rank, $0.firstMessage) < ($1.orphan ? 0 : 1, $1.rank, $1.firstMessage) }

            let items = candidates.prefix(max(0, request.limit)).compactMap { _, _, _, id in
                state.lease(id, to: request.owner, now: now, until: self.expiry(from: now))
            }
            return ClaimResult(items: items, nextVisibleIn: nextVisible.map { .milliseconds(max(0, Int64($0.timeIntervalSince(now) * 1000))) })
        }
    }

    @discardableResult
    public func commitTurn(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem] {
        try ProviderValidation.turn(commit.result, limit: self.maxPayloadBytes, instanceID: lease.id)
        let now = self.now()
        var prefetched: [ActivityWorkItem] = []
        var answered: [String] = []
        var cancelled: [String] = []
        let wake = try self.state.withLock { state throws(DurableError) -> Set<NotificationChannel> in
            if let applied = state.appliedCommit(lease, commit) {
                // The same commit again (a retry whose first run was applied): not a lost lease.
                prefetched = applied
                return []
            }
            var instance = try Self.fenced(state.instances[lease.id], lease)
            // Validate everything before changing anything: the commit is all or nothing.
            if let first = commit.result.newEvents.first, first.sequenceNumber != instance.history.count {
                throw DurableError(
                    .staleTurn,
                    "turn events start at sequence \(first.sequenceNumber) but the history has \(instance.history.count) events",
                    instanceID: lease.id
                )
            }
            var wake: Set<NotificationChannel> = []
            let id = lease.id
            let executionID = instance.info.executionID
            let consumed = Set(commit.consumedMessageIDs)
            state.inbox[id]?.removeAll { consumed.contains($0.id) }
            instance.history += commit.result.newEvents
            for event in commit.result.newEvents {
                if case .executionStarted(let start) = event.kind { instance.info.version = start.version }
            }

            for action in commit.result.actions {
                switch action {
                case .scheduleActivity(let request):
                    let taskID = "\(id)|\(executionID)|\(request.operationID)"
                    var task = ActivityTask(
                        id: taskID, instanceID: id, executionID: executionID, request: request, visibleAt: now, sequence: state.newID()
                    )
                    if let prefetch = commit.prefetch, prefetched.count < prefetch.limit, prefetch.takes(request) {
                        task.epoch = 1
                        task.deliveries = 1
                        task.lease = LeaseState(owner: prefetch.owner, expiresAt: self.expiry(from: now))
                        prefetched.append(
                            ActivityWorkItem(
                                lease: Lease(id: taskID, owner: prefetch.owner, epoch: 1), instanceID: id, executionID: executionID,
                                request: request, attempt: 1, deliveryCount: 1
                            )
                        )
                    } else {
                        wake.insert(.activities)
                    }
                    state.tasks[taskID] = task
                case .scheduleTimer(let operationID, let fireAt):
                    state.enqueue(id, executionID: executionID, .timerFired(operationID: operationID), visibleAt: fireAt)
                case .cancelTimer(let operationID):
                    state.inbox[id]?.removeAll { $0.kind == .timerFired(operationID: operationID) && $0.executionID == executionID }
                case .cancelActivity(let operationID, let reportOutcome):
                    let taskID = "\(id)|\(executionID)|\(operationID)"
                    if let task = state.tasks[taskID] {
                        if let lease = task.lease, lease.expiresAt > now, !prefetched.contains(where: { $0.lease.id == taskID }) {
                            // Running: its node hears at once and reports how it ended.
                            state.tasks[taskID]?.cancelRequested = true
                            cancelled.append(taskID)
                        } else {
                            // Not started (perhaps scheduled earlier in this turn): it never runs.
                            prefetched.removeAll { $0.lease.id == taskID }
                            state.tasks[taskID] = nil
                            if reportOutcome {
                                let failure = FailureDetails(DurableError(.cancelled, "cancelled before it started", instanceID: id))
                                state.enqueue(id, executionID: executionID, .activityFailed(operationID: operationID, failure: failure), visibleAt: now)
                            }
                        }
                    }
                case .startSubOrchestration(let childID, var start):
                    if let child = state.instances[childID] {
                        if child.info.parent?.instanceID != id || child.info.input != start.input {
                            let failure = FailureDetails(
                                type: String(reflecting: DurableError.self),
                                message: "instance '\(childID)' exists already",
                                code: DurableError.Code.instanceAlreadyExists.description
                            )
                            state.enqueue(id, executionID: executionID, .subOrchestrationFailed(operationID: start.parent?.operationID ?? 0, failure: failure), visibleAt: now)
                        }
                    } else {
                        start.executionID = UUID().uuidString.lowercased()
                        var info = InstanceInfo(
                            id: childID, name: start.name, version: start.version, executionID: start.executionID, status: .pending,
                            input: start.input, parent: start.parent, createdAt: now, updatedAt: now
                        )
                        info.queue = start.queueName
                        info.priority = start.priority ?? Priority.default
                        state.instances[childID] = Instance(info: info)
                        state.enqueue(childID, executionID: start.executionID, .executionStarted(start), visibleAt: now)
                    }
                    wake.insert(.orchestrations)
                case .cancelSubOrchestration(let childID, let reason, let cooperative):
                    if let child = state.instances[childID], !child.info.status.isTerminal {
                        let kind: HistoryEvent.Kind = cooperative ? .cooperativeCancelRequested(reason: reason) : .cancelRequested(reason: reason)
                        state.enqueue(childID, executionID: nil, kind, visibleAt: now)
                        wake.insert(.orchestrations)
                    }
                case .answerUpdate(let updateID, let outcome):
                    if state.updates[updateID]?.outcome == nil, state.updates[updateID] != nil {
                        state.updates[updateID]?.outcome = outcome
                        answered.append(updateID)
                    }
                case .subscribe(let pattern):
                    state.subscriptions[pattern, default: []].insert(Subscriber(instanceID: id, executionID: executionID))
                case .unsubscribe(let pattern):
                    state.subscriptions[pattern]?.remove(Subscriber(instanceID: id, executionID: executionID))
                case .notifyParent(let parent, let message):
                    if let target = state.instances[parent.instanceID], !target.info.status.isTerminal,
                        target.info.executionID == parent.executionID
                    {
                        state.enqueue(parent.instanceID, executionID: parent.executionID, message, visibleAt: now)
                        wake.insert(.orchestrations)
                    }
                }
            }

            instance.info.customStatus = commit.result.customStatus
            instance.info.awaitedEvents = commit.result.awaitedEvents
            instance.info.waitingFor = nil
            // Claimed, so any pause was over (its deadline passed): the turn recorded its resume.
            instance.info.pause = nil
            instance.info.updatedAt = now
            instance.lease = nil
            instance.turnNode = String(lease.nodeID)
            instance.deliveries = 0
            instance.handlerMisses = 0
            switch commit.result.outcome {
            case nil:
                instance.info.status = .running
            case .completed(let output):
                instance.info.status = .completed
                instance.info.output = output
            case .failed(let failure):
                instance.info.status = .failed
                instance.info.failure = failure
            case .cancelled(let reason):
                instance.info.status = .cancelled
                instance.info.failure = FailureDetails(type: String(reflecting: DurableError.self), message: "cancelled: \(reason)", code: DurableError.Code.cancelled.description)
            case .continuedAsNew(let next, let carryOver):
                instance.info.status = .running
                instance.info.executionID = next.executionID
                instance.info.version = next.version
                instance.info.input = next.input
                instance.history = []
                state.inbox[id]?.removeAll { $0.executionID == executionID }
                // Messages that arrived during the turn go after the carried-over ones, which arrived
                // before them: the next execution sees every message in arrival order.
                let later = state.inbox[id] ?? []
                state.inbox[id] = []
                state.enqueue(id, executionID: next.executionID, .executionStarted(next), visibleAt: now)
                for message in carryOver {
                    state.enqueue(id, executionID: nil, message, visibleAt: now)
                }
                for message in later {
                    state.enqueue(id, executionID: message.executionID, message.kind, visibleAt: message.visibleAt)
                }
                wake.insert(.orchestrations)
            }
            if instance.info.status.isTerminal {
                instance.info.completedAt = now
                instance.info.completedBy = String(lease.nodeID)
                state.inbox[id] = nil
                wake.insert(.completions)
                if let key = instance.concurrencyKey, state.releaseSlot(of: key, now: now) { wake.insert(.orchestrations) }
            } else if state.inbox[id]?.contains(where: { $0.visibleAt <= now }) == true {
                wake.insert(.orchestrations)
            }
            state.instances[id] = instance
            return wake
        }
        for channel in wake {
            if channel == .completions { self.hub.postCompletion(of: lease.id) } else { self.notify(channel) }
        }
        for id in answered { self.hub.postUpdate(of: id) }
        for id in cancelled { self.hub.postCancellation(ofTask: id) }
        return prefetched
    }

    public func abandonOrchestration(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let now = self.now()
        let visibleAt = now.addingTimeInterval(delay.seconds)
        try self.state.withLock { state throws(DurableError) in
            var instance = try Self.fenced(state.instances[lease.id], lease)
            instance.lease = nil
            switch reason {
            case .interrupted:
                instance.deliveries = max(0, instance.deliveries - 1)
            case .missingHandler(let waitingFor):
                instance.deliveries = max(0, instance.deliveries - 1)
                instance.handlerMisses += 1
                instance.info.waitingFor = waitingFor
            case .retry, .failedAttempt:
                break
            }
            state.instances[lease.id] = instance
            if let messages = state.inbox[lease.id] {
                state.inbox[lease.id] = messages.map { message in
                    var message = message
                    if message.visibleAt <= now { message.visibleAt = visibleAt }
                    return message
                }
            }
        }
        // Even a delayed hand-back notifies: other dispatchers may be sleeping until the lease
        // would have expired, later than the delay.
        self.notify(.orchestrations)
    }

    public func renewOrchestration(_ lease: Lease) async throws {
        let now = self.now()
        try self.state.withLock { state throws(DurableError) in
            var instance = try Self.fenced(state.instances[lease.id], lease)
            instance.lease?.expiresAt = self.expiry(from: now)
            state.instances[lease.id] = instance
        }
    }

    static func fenced(_ instance: Instance?, _ lease: Lease) throws(DurableError) -> Instance {
        guard let instance, instance.epoch == lease.epoch, instance.lease?.owner == lease.owner else {
            throw DurableError(
                .leaseLost,
                "the lease \(lease) of '\(lease.owner)' is no longer current (epoch now \(instance?.epoch ?? 0))",
                instanceID: lease.id
            )
        }
        return instance
    }
}

extension InMemoryProvider.State {
    /// The activities `commit` leased to its committer, when that very commit was applied already
    /// (the instance still carries the lease's epoch, unlocked, and its history ends with exactly
    /// the turn's events); `nil` otherwise. The PostgreSQL provider answers a retried commit the same way.
    func appliedCommit(_ lease: Lease, _ commit: TurnCommit) -> [ActivityWorkItem]? {
        let events = commit.result.newEvents
        guard let first = events.first, let instance = self.instances[lease.id], instance.epoch == lease.epoch, instance.lease == nil,
            first.sequenceNumber >= 0, instance.history.count == first.sequenceNumber + events.count,
            Array(instance.history[first.sequenceNumber...]) == events
        else { return nil }
        let owner = commit.prefetch?.owner
        // Only the tasks the commit leased: one it left unleased may have been claimed since, by
        // this very node, and is running already.
        let leased = commit.prefetchedOperations
        return self.tasks.values
            .filter {
                $0.instanceID == lease.id && $0.executionID == instance.info.executionID && $0.lease?.owner == owner && $0.epoch == 1
                    && leased.contains($0.request.operationID)
            }
            .sorted { $0.request.operationID < $1.request.operationID }
            .map { task in
                ActivityWorkItem(
                    lease: Lease(id: task.id, owner: task.lease?.owner ?? "", epoch: task.epoch), instanceID: task.instanceID,
                    executionID: task.executionID, request: task.request, attempt: 1, deliveryCount: 1
                )
            }
    }
}

extension InMemoryProvider.State {
    /// Creates a pending instance with its start message.
    mutating func create(_ request: StartRequest, now: Date) {
        let executionID = UUID().uuidString.lowercased()
        var info = InstanceInfo(
            id: request.instanceID, name: request.name, version: request.version ?? "", executionID: executionID,
            status: .pending, input: request.input, createdAt: now, updatedAt: now
        )
        info.queue = request.queueName
        info.priority = request.priority ?? Priority.default
        self.instances[request.instanceID] = InMemoryProvider.Instance(info: info)
        let start = HistoryEvent.ExecutionStarted(
            name: request.name, version: request.version ?? "", input: request.input, executionID: executionID, traceContext: request.traceContext,
            queue: request.queue, priority: request.priority
        )
        self.enqueue(request.instanceID, executionID: executionID, .executionStarted(start), visibleAt: now)
    }
}
