import Synchronization

/// Keeps the lease of running work (a turn, an activity attempt, the write of an outcome): renews
/// it every `interval`, at once when ``renewNow()`` is called, and at the instant `checkBy` returns
/// when that comes sooner (a heartbeat timeout's deadline).
///
/// When a renewal reports the lease lost or a cancellation request, or the work runs past
/// `maxDuration`, the work is cancelled and its result is a ``WorkInterruption``; with a
/// `gracePeriod`, work that does not return within it after the interruption is abandoned
/// (``WorkInterruption/abandoned(_:after:)``), so that code which ignores cancellation does not hold
/// its slot forever. Work that finished wins over an interruption that raced with its end.
///
/// Most work ends long before its first renewal is due, so nothing runs beside it until then: a
/// deadline-queue entry starts the renewals when the first comes due (or ``renewNow()`` does). A
/// task group and a renewal task for every turn and attempt cost fanout5 about a tenth of its
/// throughput (docs/performance.md, session 21).
final class LeaseRenewal<T: Sendable>: Sendable {
    private enum Phase {
        case idle
        /// The first renewal is not due yet.
        case waiting(DeadlineQueue.Token)
        case renewing(Task<Void, Never>)
        case ended
    }

    private struct State {
        var phase = Phase.idle
        /// ``renewNow()`` was called before the renewals were set up.
        var hinted = false
        var work: Task<Void, Never>?
        var interruption: WorkInterruption?
        var grace: DeadlineQueue.Token?
    }

    private let state = Mutex(State())
    private let hint = WakeSignal()
    private let outcome = Abandonable<T>()
    private let interval: Duration
    private let maxDuration: Duration?
    private let deadline: ContinuousClock.Instant?
    private let checkBy: (@Sendable () -> ContinuousClock.Instant)?
    private let gracePeriod: Duration?
    private let renew: @Sendable () async throws -> Bool
    private let onRenewalError: @Sendable (any Error) -> Void
    /// Whether a renewal's report interrupts the work; when not, a lost lease only ends the renewals.
    private let interruptible: Bool

    init(
        every interval: Duration,
        maxDuration: Duration? = nil,
        checkBy: (@Sendable () -> ContinuousClock.Instant)? = nil,
        gracePeriod: Duration? = nil,
        renew: @escaping @Sendable () async throws -> Bool,
        onRenewalError: @escaping @Sendable (any Error) -> Void,
        interruptible: Bool = true
    ) {
        self.interval = interval
        self.maxDuration = maxDuration
        self.deadline = maxDuration.map { ContinuousClock.now + $0 }
        self.checkBy = checkBy
        self.gracePeriod = gracePeriod
        self.renew = renew
        self.onRenewalError = onRenewalError
        self.interruptible = interruptible
    }

    /// Runs `body` while the lease is kept; returns its result or the interruption.
    func run(_ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        let outcome = self.outcome
        // Unstructured, so that the caller can stop waiting for code that ignores cancellation.
        let work = Task {
            do {
                outcome.finish(.success(try await body()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        self.state.withLock { $0.work = work }
        self.startLazily()
        let result = await withTaskCancellationHandler {
            await outcome.result()
        } onCancel: {
            work.cancel()
            self.stop()
        }
        let interruption = self.stop()
        guard let result else {
            guard let interruption, let gracePeriod = self.gracePeriod else { return .failure(CancellationError()) }
            return .failure(WorkInterruption.abandoned(interruption, after: gracePeriod))
        }
        if let interruption, case .failure = result { return .failure(interruption) }
        return result
    }

    /// Renews at once: a hint (a cancellation request) that the work should learn of now.
    func renewNow() {
        let next = self.state.withLock { state -> HintStep in
            switch state.phase {
            case .idle:
                state.hinted = true
                return .none
            case .waiting: return .start
            case .renewing: return .signal
            case .ended: return .none
            }
        }
        switch next {
        case .none: break
        case .start: self.startRenewing()
        case .signal: self.hint.signal()
        }
    }

    /// Sets the first renewal up, at its due time (at once after an early ``renewNow()``).
    func startLazily() {
        let first = self.nextRenewal(after: .now)
        let token = DeadlineQueue.shared.schedule(at: first) { self.startRenewing() }
        let now = self.state.withLock { state -> Bool in
            guard case .idle = state.phase else { return false }
            state.phase = .waiting(token)
            return state.hinted
        }
        if now { self.startRenewing() }
    }

    /// Ends the renewals; returns the interruption, if one came.
    @discardableResult
    func stop() -> WorkInterruption? {
        let (phase, grace, interruption) = self.state.withLock { state in
            defer {
                state.phase = .ended
                state.grace = nil
            }
            return (state.phase, state.grace, state.interruption)
        }
        switch phase {
        case .waiting(let token): DeadlineQueue.shared.cancel(token)
        case .renewing(let task): task.cancel()
        case .idle, .ended: break
        }
        if let grace { DeadlineQueue.shared.cancel(grace) }
        return interruption
    }

    /// The first renewal came due or was asked for: from now on a task renews.
    private func startRenewing() {
        let token = self.state.withLock { state -> DeadlineQueue.Token? in
            let token: DeadlineQueue.Token?
            switch state.phase {
            case .idle: token = nil
            case .waiting(let waiting): token = waiting
            case .renewing, .ended: return nil
            }
            state.phase = .renewing(Task { await self.renewals() })
            return token
        }
        if let token { DeadlineQueue.shared.cancel(token) }
    }

    private func renewals() async {
        // The first renewal is due when this starts.
        var due = true
        while !Task.isCancelled {
            if !due {
                let now = ContinuousClock.now
                await self.hint.wait(timeout: max(.zero, self.nextRenewal(after: now) - now))
                if Task.isCancelled { return }
            }
            due = false
            if let deadline, let maxDuration, ContinuousClock.now >= deadline, self.interruptible {
                return self.interrupt(.hung(maxDuration))
            }
            do {
                if try await self.renew(), self.interruptible { return self.interrupt(.cancelRequested) }
            } catch let error as DurableError where error.code == .leaseLost {
                return self.interrupt(.leaseLost(error))
            } catch let interruption as WorkInterruption {
                return self.interrupt(interruption)
            } catch {
                // A transient failure: the next renewal may succeed before the lease runs out.
                self.onRenewalError(error)
            }
        }
    }

    /// The next instant a renewal is due after `now`: the interval, the longest duration, or the
    /// check `checkBy` names, whichever comes first.
    private func nextRenewal(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var next = now + self.interval
        if let deadline { next = min(next, deadline) }
        if let checkBy { next = min(next, checkBy()) }
        return next
    }

    /// Cancels the work and, with a grace period, stops waiting for it once the period is over.
    private func interrupt(_ reason: WorkInterruption) {
        guard self.interruptible else { return }
        let work = self.state.withLock { state -> Task<Void, Never>? in
            state.interruption = state.interruption ?? reason
            return state.work
        }
        work?.cancel()
        guard let gracePeriod else { return }
        let outcome = self.outcome
        let token = DeadlineQueue.shared.schedule(at: .now + gracePeriod) { outcome.abandon() }
        let ended = self.state.withLock { state -> Bool in
            if case .ended = state.phase { return true }
            state.grace = token
            return false
        }
        if ended { DeadlineQueue.shared.cancel(token) }
    }
}

/// What a ``LeaseRenewal/renewNow()`` hint does in each phase.
private enum HintStep {
    /// Before the run (the run starts the renewals at once) or after it.
    case none
    /// The first renewal was not due yet: it starts now.
    case start
    /// The renewals run: the next one comes now.
    case signal
}
