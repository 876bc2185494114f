import Foundation
import Synchronization

/// One execution's code, running on its own ``DeterministicExecutor``: the engine feeds it history
/// events one by one and drains the executor after each, so the code's decisions come out in an
/// order that depends only on the history.
final class OrchestrationExecution: Sendable {
    let context: OrchestrationContext
    let executor = DeterministicExecutor()
    private let handler: Registry.OrchestrationHandler
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// The tasks of running update handlers, cancelled with the code's.
    let updateTasks = Mutex<[Task<Void, Never>]>([])

    init(context: OrchestrationContext, handler: @escaping Registry.OrchestrationHandler) {
        self.context = context
        self.handler = handler
    }

    /// Re-runs the recorded history; throws the first divergence.
    func replay() throws(DurableError) {
        while let event = self.context.state.withLock({ state -> HistoryEvent? in
            guard state.cursor < state.history.count else { return nil }
            defer { state.cursor += 1 }
            return state.history[state.cursor]
        }) {
            if event.kind.isOutput {
                self.context.state.withLock { state in
                    state.divergence = state.divergence ?? state.nonDeterminism(
                        at: event.sequenceNumber,
                        "the history has \(event.kind.summary) but the code no longer makes this call"
                    )
                }
            } else {
                self.deliver(event)
            }
            if let divergence = self.context.state.withLock({ $0.divergence }) {
                throw divergence
            }
        }
        self.context.state.withLock { $0.isReplaying = false }
    }

    /// Appends new messages to the history and runs the code on them. Messages after the one that
    /// ended the execution are accounted for, never dropped silently: on continue-as-new, raised
    /// events and cancellations go on to the next execution after the events it buffered; the rest
    /// (results for the ended execution, or anything once the instance finished) are discarded with
    /// a reason the turn reports.
    func process(_ messages: [HistoryEvent.Kind], now: Date) throws(DurableError) {
        for (index, message) in messages.enumerated() {
            if case .updateRequested(let id, let name, let input) = message, !self.admit(update: id, name: name, input: input) {
                continue
            }
            enum Next { case deliver(HistoryEvent), discarded, finished }
            let next = self.context.state.withLock { state -> Next in
                guard !state.isFinished else { return .finished }
                if state.isAlreadyResolved(message) {
                    // A result delivered twice must not be recorded twice.
                    state.discardedMessages.append(DiscardedMessage(message: message, reason: .alreadyResolved))
                    return .discarded
                }
                state.now = now
                state.append(message)
                return state.newEvents.last.map(Next.deliver) ?? .finished
            }
            if case .discarded = next { continue }
            guard case .deliver(let event) = next else {
                self.context.state.withLock { $0.accountForUnconsumed(messages[index...]) }
                break
            }
            self.deliver(event)
            if let divergence = self.context.state.withLock({ $0.divergence }) {
                throw divergence
            }
        }
    }

    /// Ends the turn and keeps the suspended code for the next one (see ``ExecutionCache``).
    func endTurn() {
        self.context.state.withLock { $0.endTurn() }
    }

    /// The activities the code waits for: scheduled, no result yet.
    var outstandingActivities: Set<Int> {
        self.context.state.withLock { state in
            state.pending.filter { id in
                if case .activity = state.slots[id]?.kind { true } else { false }
            }
        }
    }

    var result: TurnResult {
        self.context.state.withLock { state in
            TurnResult(
                newEvents: state.newEvents, actions: state.actions, outcome: state.outcome, customStatus: state.customStatus,
                discardedMessages: state.discardedMessages, timersFired: state.timersFired,
                awaitedEvents: state.isFinished ? [] : state.eventWaiters.filter { !$0.value.isEmpty }.keys.sorted()
            )
        }
    }

    private func deliver(_ event: HistoryEvent) {
        self.context.state.withLock { $0.now = event.timestamp }
        switch event.kind {
        case .executionStarted(let start):
            self.startCode(input: start.input)
        case .cancelRequested(let reason, _):
            let cancelled = self.context.state.withLock { state -> Bool in
                guard !state.isFinished else { return false }
                do {
                    state.failRunningUpdates()
                    try state.record(.executionCancelled(reason: reason))
                } catch {
                    return false
                }
                state.outcome = .cancelled(reason: reason)
                return true
            }
            if cancelled { self.unload() }
        case .cooperativeCancelRequested(let reason, _):
            self.context.state.withLock { $0.cancelCooperatively(reason: reason) }.resume()
        case .updateRequested(let id, let name, let input):
            self.startUpdate(id: id, name: name, input: input)
        default:
            self.context.state.withLock { $0.deliver(event.kind) }.resume()
        }
        self.executor.drain()
        self.context.state.withLock { $0.checkNoPendingRecordedDecision() }
    }

    private func startCode(input: Payload) {
        let context = self.context
        let handler = self.handler
        let task = Task(executorPreference: self.executor) {
            let result: Result<Payload, any Error>
            do {
                result = .success(try await handler(input, context))
            } catch {
                result = .failure(error)
            }
            Self.finish(context: context, result: result)
        }
        self.task.withLock { $0 = task }
    }

    private static func finish(context: OrchestrationContext, result: Result<Payload, any Error>) {
        let continueAsNew = context.state.withLock { $0.continueAsNew }
        // Drawn before taking the lock: the context's UUID source locks the state itself.
        let nextExecutionID = continueAsNew == nil ? nil : context.newUUID().uuidString.lowercased()
        context.state.withLock { state in
            guard !state.isDisposed, !state.isFinished, state.divergence == nil else { return }
            do {
                if let continueAsNew, let nextExecutionID {
                    let version = continueAsNew.version ?? context.registry.versionForNewStart(of: state.start.name) ?? state.start.version
                    let next = HistoryEvent.ExecutionStarted(
                        name: state.start.name,
                        version: version,
                        input: continueAsNew.input,
                        executionID: nextExecutionID,
                        parent: state.start.parent,
                        traceContext: state.start.traceContext,
                        queue: state.start.queue,
                        priority: state.start.priority
                    )
                    state.failRunningUpdates()
                    try state.record(.continuedAsNew(input: continueAsNew.input, version: version))
                    state.outcome = .continuedAsNew(next: next, carryOver: state.bufferedEvents.map { .eventRaised(name: $0.name, input: $0.input) })
                    return
                }
                state.failRunningUpdates()
                switch result {
                case .success(let output):
                    try state.record(.executionCompleted(output: output))
                    state.outcome = .completed(output: output)
                case .failure(let error as DurableError) where error.code == .cancelled && state.cancellation != nil:
                    // The code let the cooperative cancellation end it (after any cleanup it ran).
                    let reason = state.cancellation ?? ""
                    try state.record(.executionCancelled(reason: reason))
                    state.outcome = .cancelled(reason: reason)
                case .failure(let error):
                    let failure = FailureDetails(error)
                    try state.record(.executionFailed(failure: failure))
                    state.outcome = .failed(failure)
                }
            } catch {
                // The divergence is in the state; the turn fails with it.
            }
        }
    }

    /// Unwinds code that is still suspended: every pending wait throws `cancelled`, the task is
    /// cancelled and run to its end. Nothing it does from here on is recorded.
    func unload() {
        let wakeups = self.context.state.withLock { state -> ReplayState.Wakeups in
            guard !state.isDisposed else { return ReplayState.Wakeups() }
            state.isDisposed = true
            return state.failAllWaiters(DurableError(.cancelled, "the execution was unloaded", instanceID: state.instanceID))
        }
        wakeups.resume()
        self.task.withLock { $0?.cancel() }
        for task in self.updateTasks.withLock({ $0 }) { task.cancel() }
        // Bounded: code that swallows the cancellation and loops must not hang the node.
        self.executor.drain(maxJobs: 100_000)
    }
}
