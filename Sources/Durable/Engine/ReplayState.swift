import Foundation

/// The engine's bookkeeping for one execution: the replay cursor, pending operations and what the
/// turn decided. It lives behind the context's mutex; all its methods are synchronous and do no I/O.
struct ReplayState: ~Copyable {
    typealias Waiter = CheckedContinuation<Result<Payload, DurableError>, Never>

    /// A durable operation (positive id, recorded in history) or an event wait (negative id, local).
    struct Slot {
        enum Kind {
            case activity(name: String)
            case timer(fireAt: Date)
            case subOrchestration(name: String, instanceID: String)
            case event(name: String)
        }

        var kind: Kind
        var result: Result<Payload, DurableError>?
        var waiters: [Waiter] = []
        var races: [Int] = []
        /// Asked to cancel, and waited for until it reports how it ended.
        var cancelRequested = false
    }

    struct Race {
        var slots: [Int]
        var continuation: CheckedContinuation<Int, Never>
    }

    /// Continuations to resume once the lock is released.
    struct Wakeups {
        var waiters: [(Waiter, Result<Payload, DurableError>)] = []
        var races: [(CheckedContinuation<Int, Never>, Int)] = []

        mutating func append(_ other: consuming Wakeups) {
            self.waiters += other.waiters
            self.races += other.races
        }

        consuming func resume() {
            for (waiter, result) in self.waiters { waiter.resume(returning: result) }
            for (race, winner) in self.races { race.resume(returning: winner) }
        }
    }

    let instanceID: String
    let start: HistoryEvent.ExecutionStarted

    // Replay.
    var history: [HistoryEvent]
    var cursor = 0
    /// Events recorded before this turn: the history replayed plus earlier turns' new events when the
    /// execution stays loaded between turns.
    var recordedCount: Int
    var isReplaying = true
    var divergence: DurableError?

    // The turn's decisions.
    var newEvents: [HistoryEvent] = []
    var actions: [TurnAction] = []
    var outcome: TurnOutcome?
    var customStatus: Payload?
    var continueAsNew: (input: Payload, version: String?)?
    /// Messages of this turn that arrived after the execution ended and do not go on to a next one.
    var discardedMessages: [DiscardedMessage] = []
    /// When the timers this turn delivered (not replayed) were due, for the timer-lag metric.
    var timersFired: [Date] = []

    // Operations.
    var now: Date
    var nextOperationID = 1
    var nextLocalID = -1
    var nextRaceID = 1
    var slots: [Int: Slot] = [:]
    /// The ids of slots without a result: a long execution keeps many resolved slots, and only these
    /// matter when it ends or is unloaded.
    var pending: Set<Int> = []
    var races: [Int: Race] = [:]
    /// Raised events no wait has consumed yet, in arrival order.
    var bufferedEvents: [(name: String, input: Payload)] = []
    var eventWaiters: [String: [Int]] = [:]
    var random: DeterministicRandom
    var isDisposed = false
    /// Set once a cooperative cancellation was delivered: its reason.
    var cancellation: String?
    /// Accepted updates whose handlers have not returned, in order of acceptance.
    var runningUpdates: [String] = []
    /// Every update accepted by this execution (a repeated id is not run again).
    var acceptedUpdates: Set<String> = []

    init(instanceID: String, start: HistoryEvent.ExecutionStarted, history: [HistoryEvent], now: Date) {
        self.instanceID = instanceID
        self.start = start
        self.history = history
        self.recordedCount = history.count
        self.now = history.first?.timestamp ?? now
        self.random = DeterministicRandom(seed: "\(instanceID)/\(start.executionID)")
    }

    var isFinished: Bool { self.outcome != nil }

    /// Accounts for messages that came after the one that ended the execution.
    mutating func accountForUnconsumed(_ messages: ArraySlice<HistoryEvent.Kind>) {
        guard case .continuedAsNew(let next, var carryOver) = self.outcome else {
            self.discardedMessages += messages.map { DiscardedMessage(message: $0, reason: .instanceFinished) }
            // An update that came too late is answered, not left waiting.
            for case .updateRequested(let id, let name, _) in messages {
                self.actions.append(.answerUpdate(id: id, .rejected(FailureDetails(DurableError(
                    .instanceFinished, "update '\(name)' arrived after instance '\(self.instanceID)' finished", instanceID: self.instanceID
                )))))
            }
            return
        }
        for message in messages {
            switch message {
            case .eventRaised, .cancelRequested, .cooperativeCancelRequested, .instancePaused, .instanceResumed, .updateRequested:
                carryOver.append(message)
            default:
                self.discardedMessages.append(DiscardedMessage(message: message, reason: .executionEnded))
            }
        }
        self.outcome = .continuedAsNew(next: next, carryOver: carryOver)
    }

    // MARK: Recording decisions

    /// Records a decision of the code. While replaying it must match the next recorded event; after
    /// that it is appended to the new events and turned into actions.
    mutating func record(_ kind: HistoryEvent.Kind) throws(DurableError) {
        if self.isDisposed {
            throw DurableError(.cancelled, "the execution was unloaded", instanceID: self.instanceID)
        }
        if let divergence = self.divergence {
            throw divergence
        }
        guard self.isReplaying else {
            self.append(kind)
            self.actions += self.actions(for: kind)
            return
        }
        let recorded = self.cursor < self.history.count ? self.history[self.cursor] : nil
        if let recorded, recorded.kind.isOutput, Self.matches(recorded: recorded.kind, made: kind) {
            self.cursor += 1
            return
        }
        let error: DurableError
        if let recorded, recorded.kind.isOutput {
            error = self.nonDeterminism(
                at: recorded.sequenceNumber,
                "the history has \(recorded.kind.summary) but the code made \(kind.summary)"
            )
        } else {
            let next = recorded.map { "\($0.kind.summary) (sequence \($0.sequenceNumber))" } ?? "the end of the recorded history"
            error = self.nonDeterminism(
                at: recorded?.sequenceNumber ?? self.history.count,
                "the code made \(kind.summary), a call the history lacks: the history has \(next) next"
            )
        }
        self.divergence = error
        throw error
    }

    /// After an input was delivered and the code ran, any recorded decision still ahead of the
    /// cursor is one the code no longer makes.
    mutating func checkNoPendingRecordedDecision() {
        guard self.divergence == nil, self.isReplaying, self.cursor < self.history.count else { return }
        let recorded = self.history[self.cursor]
        guard recorded.kind.isOutput else { return }
        self.divergence = self.nonDeterminism(
            at: recorded.sequenceNumber,
            "the history has \(recorded.kind.summary) but the code no longer makes this call"
        )
    }

    func nonDeterminism(at sequenceNumber: Int, _ message: String) -> DurableError {
        DurableError(
            .nonDeterminism,
            "orchestration '\(self.start.name)' \(self.start.version) diverged from its history at sequence \(sequenceNumber): \(message)",
            instanceID: self.instanceID,
            name: self.start.name,
            version: self.start.version,
            sequenceNumber: sequenceNumber
        )
    }

    static func matches(recorded: HistoryEvent.Kind, made: HistoryEvent.Kind) -> Bool {
        switch (recorded, made) {
        case (.activityScheduled(let a, let n, _, _, _, _, _, _, _), .activityScheduled(let b, let m, _, _, _, _, _, _, _)):
            a == b && n == m
        case (.timerCreated(let a, _), .timerCreated(let b, _)):
            a == b
        case (.subOrchestrationScheduled(let a, let n, _, _, _, _, _), .subOrchestrationScheduled(let b, let m, _, _, _, _, _)):
            a == b && n == m
        case (.operationCancelled(let a), .operationCancelled(let b)):
            a == b
        case (.topicSubscribed(let a), .topicSubscribed(let b)), (.topicUnsubscribed(let a), .topicUnsubscribed(let b)),
            (.updateFinished(let a, _), .updateFinished(let b, _)):
            a == b
        case (.executionCompleted, .executionCompleted), (.executionFailed, .executionFailed),
            (.executionCancelled, .executionCancelled), (.continuedAsNew, .continuedAsNew):
            true
        default:
            false
        }
    }

    /// Makes this turn's events part of the recorded history, for an execution kept loaded until its
    /// next turn. The replayed history itself is no longer needed.
    mutating func endTurn() {
        self.recordedCount += self.newEvents.count
        self.newEvents = []
        self.actions = []
        self.timersFired = []
        self.history = []
        self.cursor = 0
    }

    mutating func append(_ kind: HistoryEvent.Kind) {
        let sequenceNumber = self.recordedCount + self.newEvents.count
        self.newEvents.append(HistoryEvent(sequenceNumber: sequenceNumber, timestamp: self.now, kind: kind))
    }

    /// The actions a new decision asks for.
    func actions(for kind: HistoryEvent.Kind) -> [TurnAction] {
        switch kind {
        case .activityScheduled:
            return ActivityRequest(scheduled: kind).map { [.scheduleActivity($0)] } ?? []
        case .timerCreated(let id, let fireAt):
            return [.scheduleTimer(operationID: id, fireAt: fireAt)]
        case .subOrchestrationScheduled(let id, let name, let version, let childID, let input, let queue, let priority):
            let start = HistoryEvent.ExecutionStarted(
                name: name,
                version: version ?? "",
                input: input,
                executionID: "",
                parent: .init(instanceID: self.instanceID, executionID: self.start.executionID, operationID: id),
                queue: queue,
                priority: priority
            )
            return [.startSubOrchestration(instanceID: childID, start: start)]
        case .operationCancelled(let id):
            let action = self.slots[id].flatMap { self.cancelAction(id: id, slot: $0, reason: "cancelled by its orchestration") }
            return action.map { [$0] } ?? []
        case .topicSubscribed(let pattern):
            return [.subscribe(pattern: pattern)]
        case .topicUnsubscribed(let pattern):
            return [.unsubscribe(pattern: pattern)]
        case .updateFinished(let id, let outcome):
            return [.answerUpdate(id: id, outcome)]
        case .executionCompleted(let output):
            return self.cleanupActions(cancelChildren: false) + self.parentNotification { .subOrchestrationCompleted(operationID: $0, result: output) }
        case .executionFailed(let failure):
            return self.cleanupActions(cancelChildren: false) + self.parentNotification { .subOrchestrationFailed(operationID: $0, failure: failure) }
        case .executionCancelled(let reason):
            let failure = FailureDetails(type: String(reflecting: DurableError.self), message: "cancelled: \(reason)", code: DurableError.Code.cancelled.description)
            return self.cleanupActions(cancelChildren: true, reason: reason) + self.parentNotification { .subOrchestrationFailed(operationID: $0, failure: failure) }
        case .continuedAsNew:
            return self.cleanupActions(cancelChildren: false)
        default:
            return []
        }
    }

    private func cancelAction(id: Int, slot: Slot, reason: String) -> TurnAction? {
        switch slot.kind {
        case .activity: .cancelActivity(operationID: id, reportOutcome: slot.cancelRequested)
        case .timer: .cancelTimer(operationID: id)
        // A cooperatively cancelled parent cancels its children cooperatively too.
        // A child waited for is cancelled cooperatively, so its compensation runs before the parent goes on.
        case .subOrchestration(_, let childID):
            .cancelSubOrchestration(instanceID: childID, reason: self.cancellation ?? reason, cooperative: self.cancellation != nil || slot.cancelRequested)
        case .event: nil
        }
    }

    /// Pending timers are dropped and pending activities cancelled when an execution ends; children
    /// only when it is cancelled (a finished parent does not take its running children down).
    private func cleanupActions(cancelChildren: Bool, reason: String = "the parent execution ended") -> [TurnAction] {
        self.pendingSlotIDs.compactMap { id -> TurnAction? in
            guard id > 0, let slot = self.slots[id] else { return nil }
            if case .subOrchestration = slot.kind, !cancelChildren { return nil }
            return self.cancelAction(id: id, slot: slot, reason: reason)
        }
    }

    private func parentNotification(_ message: (Int) -> HistoryEvent.Kind) -> [TurnAction] {
        guard let parent = self.start.parent else { return [] }
        return [.notifyParent(parent, message(parent.operationID))]
    }

    // MARK: Operations

    mutating func newOperationID() -> Int {
        defer { self.nextOperationID += 1 }
        return self.nextOperationID
    }

    mutating func newLocalID() -> Int {
        defer { self.nextLocalID -= 1 }
        return self.nextLocalID
    }

    /// Resolves a slot, unless it has a result already (a late result of a cancelled operation is
    /// ignored).
    mutating func resolve(_ id: Int, _ result: Result<Payload, DurableError>) -> Wakeups {
        guard var slot = self.slots[id], slot.result == nil else { return Wakeups() }
        var wakeups = Wakeups()
        self.pending.remove(id)
        slot.result = result
        wakeups.waiters = slot.waiters.map { ($0, result) }
        slot.waiters = []
        for raceID in slot.races {
            if let race = self.races.removeValue(forKey: raceID) {
                wakeups.races.append((race.continuation, id))
            }
        }
        slot.races = []
        self.slots[id] = slot
        return wakeups
    }

    // MARK: Delivering inputs

    /// Whether `message` is the result of an operation that has its result already.
    func isAlreadyResolved(_ message: HistoryEvent.Kind) -> Bool {
        switch message {
        case .activityCompleted(let id, _), .activityFailed(let id, _), .subOrchestrationCompleted(let id, _),
            .subOrchestrationFailed(let id, _), .timerFired(let id):
            self.slots[id]?.result != nil
        default:
            false
        }
    }

    /// Applies an input message to the pending operations.
    mutating func deliver(_ kind: HistoryEvent.Kind) -> Wakeups {
        switch kind {
        case .activityCompleted(let id, let result), .subOrchestrationCompleted(let id, let result):
            return self.resolve(id, .success(result))
        case .activityFailed(let id, let failure):
            let name = self.slots[id].flatMap { if case .activity(let name) = $0.kind { name } else { nil } }
            // An activity that stopped when asked reports a cancellation, not a failure.
            let code: DurableError.Code = failure.code == DurableError.Code.cancelled.description ? .cancelled : .activityFailed
            let error = DurableError(
                code,
                "activity '\(name ?? "?")' (operation \(id)) failed: \(failure)",
                instanceID: self.instanceID,
                name: name,
                failure: failure
            )
            return self.resolve(id, .failure(error))
        case .subOrchestrationFailed(let id, let failure):
            var name: String?
            var childID: String?
            if case .subOrchestration(let n, let c) = self.slots[id]?.kind { (name, childID) = (n, c) }
            let code: DurableError.Code = failure.code == DurableError.Code.cancelled.description ? .cancelled : .subOrchestrationFailed
            let error = DurableError(
                code,
                "sub-orchestration '\(name ?? "?")' (instance \(childID ?? "?"), operation \(id)) failed: \(failure)",
                instanceID: childID,
                name: name,
                failure: failure
            )
            return self.resolve(id, .failure(error))
        case .timerFired(let id):
            guard case .timer(let fireAt) = self.slots[id]?.kind else { return Wakeups() }
            if !self.isReplaying { self.timersFired.append(fireAt) }
            return self.resolve(id, Result { () throws(DurableError) in try Payload(encoding: fireAt) })
        case .eventRaised(let name, let input, _):
            if var waiters = self.eventWaiters[name], !waiters.isEmpty {
                let id = waiters.removeFirst()
                self.eventWaiters[name] = waiters
                return self.resolve(id, .success(input))
            }
            self.bufferedEvents.append((name, input))
            return Wakeups()
        case .executionStarted, .cancelRequested, .cooperativeCancelRequested:
            // Handled by the execution: they start and end the code rather than resolve operations.
            return Wakeups()
        default:
            return Wakeups()
        }
    }

    /// A cooperative cancellation: every pending operation is given up (recorded, so that its
    /// activity, timer or child is cancelled) and every wait fails with a `cancelled` error the code
    /// can catch; what the code starts afterwards (compensation) runs as usual.
    mutating func cancelCooperatively(reason: String) -> Wakeups {
        guard !self.isFinished, self.cancellation == nil else { return Wakeups() }
        self.cancellation = reason
        var wakeups = Wakeups()
        for id in self.pendingSlotIDs {
            wakeups.append(self.giveUp(id, DurableError(.cancelled, "the instance was cancelled: \(reason)", instanceID: self.instanceID)))
        }
        return wakeups
    }

    /// Gives a pending operation or event wait up: an operation's cancellation is recorded (its
    /// activity, timer or child is cancelled), an event wait just stops waiting; its waiters get
    /// `error`.
    mutating func giveUp(_ id: Int, _ error: DurableError) -> Wakeups {
        guard let slot = self.slots[id], slot.result == nil else { return Wakeups() }
        if case .event(let name) = slot.kind {
            self.eventWaiters[name]?.removeAll { $0 == id }
        } else if !self.isDisposed, !slot.cancelRequested {
            // A divergence is kept in the state and fails the turn.
            try? self.record(.operationCancelled(operationID: id))
        }
        return self.resolve(id, .failure(error))
    }

    /// Asks a pending activity or child to cancel and keeps its slot pending until the outcome
    /// arrives (recorded like ``giveUp(_:_:)``, with an action that asks for the outcome); timers and
    /// event waits are given up with `error` at once.
    mutating func requestCancellation(_ id: Int, otherwise error: DurableError) -> Wakeups {
        guard var slot = self.slots[id], slot.result == nil, !slot.cancelRequested else { return Wakeups() }
        switch slot.kind {
        case .activity, .subOrchestration:
            slot.cancelRequested = true
            self.slots[id] = slot
            if !self.isDisposed { try? self.record(.operationCancelled(operationID: id)) }
            return Wakeups()
        case .timer, .event:
            return self.giveUp(id, error)
        }
    }

    /// The operations and event waits without a result, in id order.
    var pendingSlotIDs: [Int] {
        self.pending.sorted()
    }

    mutating func add(_ slot: Slot, id: Int) {
        self.slots[id] = slot
        if slot.result == nil { self.pending.insert(id) } else { self.pending.remove(id) }
    }

    /// Every continuation still waiting, failed with `error`: used to unwind an execution that is
    /// unloaded while suspended.
    mutating func failAllWaiters(_ error: DurableError) -> Wakeups {
        var wakeups = Wakeups()
        for id in self.pendingSlotIDs {
            wakeups.append(self.resolve(id, .failure(error)))
        }
        for (_, race) in self.races {
            wakeups.races.append((race.continuation, race.slots.first ?? 0))
        }
        self.races = [:]
        return wakeups
    }
}
