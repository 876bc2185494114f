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

    private let clock: @Sendable () -> Date
    private let state = Mutex(State())
    private let hub = NotificationHub()

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
    }

    struct Node {
        var registration: NodeRegistration
        var startedAt: Date
        var heartbeatAt: Date
        var stoppedAt: Date?
    }

    struct State {
        var nodes: [String: Node] = [:]
        var instances: [String: Instance] = [:]
        var inbox: [String: [Message]] = [:]
        var tasks: [String: ActivityTask] = [:]
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
            return node.registration.incarnation != parts[1] || node.stoppedAt != nil
                || node.heartbeatAt.addingTimeInterval(staleAfter.seconds) <= now
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

    private func now() -> Date {
        self.clock().roundedToMilliseconds
    }

    private func expiry(from now: Date) -> Date {
        now.addingTimeInterval(self.leaseDuration.seconds)
    }

    // MARK: Client

    public func createInstance(_ request: StartRequest) async throws -> StartResult {
        try ProviderValidation.instanceID(request.instanceID)
        try ProviderValidation.name(request.name)
        try ProviderValidation.payload(request.input, limit: self.maxPayloadBytes, what: "the input", instanceID: request.instanceID)
        let now = self.now()
        let result = try self.state.withLock { state throws(DurableError) -> StartResult in
            if let existing = state.instances[request.instanceID] {
                guard existing.info.name == request.name, existing.info.input == request.input else {
                    throw DurableError(
                        .instanceAlreadyExists,
                        "instance '\(request.instanceID)' exists already (\(existing.info.name), status \(existing.info.status.rawValue)) with another name or input",
                        instanceID: request.instanceID,
                        name: existing.info.name
                    )
                }
                return .alreadyExists
            }
            let executionID = UUID().uuidString.lowercased()
            let info = InstanceInfo(
                id: request.instanceID, name: request.name, version: request.version ?? "", executionID: executionID,
                status: .pending, input: request.input, createdAt: now, updatedAt: now
            )
            state.instances[request.instanceID] = Instance(info: info)
            let start = HistoryEvent.ExecutionStarted(name: request.name, version: request.version ?? "", input: request.input, executionID: executionID)
            state.enqueue(request.instanceID, executionID: executionID, .executionStarted(start), visibleAt: now)
            return .created
        }
        if result == .created { self.notify(.orchestrations) }
        return result
    }

    public func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws {
        try ProviderValidation.instanceID(instanceID)
        if case .eventRaised(let name, let input) = message {
            try ProviderValidation.name(name)
            try ProviderValidation.payload(input, limit: self.maxPayloadBytes, what: "the event data", instanceID: instanceID)
        }
        let now = self.now()
        let sent = try self.state.withLock { state throws(DurableError) -> Bool in
            guard let instance = state.instances[instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
            }
            if instance.info.status.isTerminal {
                if case .cancelRequested = message { return false }
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

    // MARK: Orchestrations

    public func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem> {
        let now = self.now()
        return self.state.withLock { state in
            var candidates: [(firstMessage: Int64, id: String)] = []
            var nextVisible: Date?
            func consider(_ date: Date) { nextVisible = min(nextVisible ?? date, date) }

            for (id, messages) in state.inbox where !messages.isEmpty {
                guard let instance = state.instances[id], !instance.info.status.isTerminal else {
                    state.inbox[id] = nil
                    continue
                }
                let current = messages.filter { $0.executionID == nil || $0.executionID == instance.info.executionID }
                state.inbox[id] = current
                guard let first = current.filter({ $0.visibleAt <= now }).map(\.id).min() else {
                    if let date = current.map(\.visibleAt).min() { consider(date) }
                    continue
                }
                if let lease = instance.lease, lease.expiresAt > now, !state.isOrphaned(lease.owner, now: now, staleAfter: request.staleNodeAfter) {
                    consider(lease.expiresAt)
                    continue
                }
                if let capabilities = request.capabilities, !capabilities.canRun(name: instance.info.name, version: instance.info.version) {
                    // Work no live node can run is claimed after a grace period, to be handed back
                    // with backoff and show what it waits for.
                    guard let grace = request.claimUnrunnableAfter,
                        let oldest = current.filter({ $0.visibleAt <= now }).map(\.visibleAt).min(),
                        oldest.addingTimeInterval(grace.seconds) <= now,
                        !state.nodes.values.contains(where: { node in
                            node.stoppedAt == nil
                                && node.heartbeatAt.addingTimeInterval((request.staleNodeAfter ?? .seconds(30)).seconds) > now
                                && node.registration.capabilities.canRun(name: instance.info.name, version: instance.info.version)
                        })
                    else { continue }
                }
                candidates.append((first, id))
            }
            candidates.sort { $0.firstMessage < $1.firstMessage }

            let items = candidates.prefix(max(0, request.limit)).compactMap { _, id in
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
        let wake = try self.state.withLock { state throws(DurableError) -> Set<NotificationChannel> in
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
                    if let prefetch = commit.prefetch, prefetched.count < prefetch.limit,
                        prefetch.capabilities?.activities.contains(request.name) ?? true
                    {
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
                case .cancelActivity(let operationID):
                    let taskID = "\(id)|\(executionID)|\(operationID)"
                    if let task = state.tasks[taskID] {
                        if prefetched.contains(where: { $0.lease.id == taskID }) {
                            // Scheduled earlier in this turn: it never starts.
                            prefetched.removeAll { $0.lease.id == taskID }
                            state.tasks[taskID] = nil
                        } else if let lease = task.lease, lease.expiresAt > now {
                            state.tasks[taskID]?.cancelRequested = true
                        } else {
                            state.tasks[taskID] = nil
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
                        let info = InstanceInfo(
                            id: childID, name: start.name, version: start.version, executionID: start.executionID, status: .pending,
                            input: start.input, parent: start.parent, createdAt: now, updatedAt: now
                        )
                        state.instances[childID] = Instance(info: info)
                        state.enqueue(childID, executionID: start.executionID, .executionStarted(start), visibleAt: now)
                    }
                    wake.insert(.orchestrations)
                case .cancelSubOrchestration(let childID, let reason):
                    if let child = state.instances[childID], !child.info.status.isTerminal {
                        state.enqueue(childID, executionID: nil, .cancelRequested(reason: reason), visibleAt: now)
                        wake.insert(.orchestrations)
                    }
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
            instance.info.waitingFor = nil
            instance.info.updatedAt = now
            instance.lease = nil
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
            } else if state.inbox[id]?.contains(where: { $0.visibleAt <= now }) == true {
                wake.insert(.orchestrations)
            }
            state.instances[id] = instance
            return wake
        }
        for channel in wake {
            if channel == .completions { self.hub.postCompletion(of: lease.id) } else { self.notify(channel) }
        }
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
            case .retry:
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

    private static func fenced(_ instance: Instance?, _ lease: Lease) throws(DurableError) -> Instance {
        guard let instance, instance.epoch == lease.epoch, instance.lease?.owner == lease.owner else {
            throw DurableError(
                .leaseLost,
                "the lease \(lease) of '\(lease.owner)' is no longer current (epoch now \(instance?.epoch ?? 0))",
                instanceID: lease.id
            )
        }
        return instance
    }

    // MARK: Activities

    public func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem> {
        let now = self.now()
        return self.state.withLock { state in
            var nextVisible: Date?
            var ready: [ActivityTask] = []
            for task in state.tasks.values {
                if let lease = task.lease, lease.expiresAt > now, !state.isOrphaned(lease.owner, now: now, staleAfter: request.staleNodeAfter) {
                    nextVisible = min(nextVisible ?? lease.expiresAt, lease.expiresAt)
                    continue
                }
                if task.cancelRequested {
                    state.tasks[task.id] = nil
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
            // Orphans (still leased by a silent node) first: they are the oldest work.
            ready.sort { ($0.lease == nil ? 1 : 0, $0.visibleAt, $0.sequence) < ($1.lease == nil ? 1 : 0, $1.visibleAt, $1.sequence) }
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
                        handlerMisses: task.handlerMisses
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
                    instance.lease.map({ $0.expiresAt <= now }) ?? true,
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
            let free = instance.lease.map { $0.expiresAt <= now } ?? true
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
            switch reason {
            case .retry:
                task.attempt += 1
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

    private static func fenced(_ task: ActivityTask?, _ lease: Lease) throws(DurableError) -> ActivityTask {
        guard let task, task.epoch == lease.epoch, task.lease?.owner == lease.owner else {
            throw DurableError(
                .leaseLost,
                "the activity lease \(lease) of '\(lease.owner)' is no longer current (epoch now \(task?.epoch ?? 0))",
                instanceID: task?.instanceID
            )
        }
        return task
    }

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

    public func listInstances(_ query: InstanceQuery) async throws -> InstancePage {
        guard query.limit > 0, query.limit <= 10_000 else {
            throw DurableError(.invalidInput, "a page holds 1 to 10,000 instances, not \(query.limit)")
        }
        return self.state.withLock { state in
            let matching = state.instances.values
                .map(\.info)
                .filter { info in
                    (query.statuses?.contains(info.status) ?? true) && (query.name.map { $0 == info.name } ?? true)
                        && (query.cursor.map { info.id > $0 } ?? true)
                }
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
                runningActivities: running
            )
        }
    }

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
            var result = HeartbeatResult(orphansNow: false, nextOrphanIn: nil)
            for other in state.nodes.values where other.registration.id != node.id && other.stoppedAt == nil && holders.contains(other.registration.leaseOwner) {
                let staleAt = other.heartbeatAt.addingTimeInterval(staleAfter.seconds)
                if staleAt <= now {
                    result.orphansNow = true
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
                    isAlive: node.stoppedAt == nil && node.heartbeatAt.addingTimeInterval(staleAfter.seconds) > now,
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

    private func notify(_ channel: NotificationChannel) {
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
