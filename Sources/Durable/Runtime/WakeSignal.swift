import Synchronization

/// Wakes one waiting task: a dispatcher that sleeps until a notification, a freed slot or a due
/// time. A signal that arrives while nobody waits is kept, so no wake-up is lost between a claim and
/// the wait after it.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        /// Whether a signal since the last wait said there may be work to claim.
        var claim = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    /// - Parameter claim: whether there may be work to claim; `false` when the work was handed over
    ///   locally and a claim would most likely find nothing.
    func signal(claim: Bool = true) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.claim = state.claim || claim
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            state.generation += 1
            return waiter
        }
        waiter?.resume()
    }

    /// Signals after `delay`: for work this node made due later (a timer its turn created), which
    /// no notification will announce.
    func signal(after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            self.signal()
        }
    }

    /// Returns at the next signal, after `timeout`, or when the task is cancelled: `true` when there
    /// may be work to claim (a signal said so, or the wait timed out).
    @discardableResult
    func wait(timeout: Duration) async -> Bool {
        let generation = self.state.withLock { state -> Int? in
            if state.pending {
                state.pending = false
                return nil
            }
            return state.generation
        }
        guard let generation, !Task.isCancelled else { return self.takeClaim() || Task.isCancelled }
        let timer = DeadlineQueue.shared.schedule(at: .now + timeout) { self.expire(generation) }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.pending || state.generation != generation {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.expire(generation)
        }
        DeadlineQueue.shared.cancel(timer)
        return self.takeClaim()
    }

    private func takeClaim() -> Bool {
        self.state.withLock { state in
            defer { state.claim = false }
            return state.claim
        }
    }

    /// Ends the wait of `generation` (a time-out: claim) without leaving a pending signal behind.
    private func expire(_ generation: Int) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else {
                if state.generation == generation {
                    state.generation += 1
                    state.claim = true
                }
                return nil
            }
            state.claim = true
            state.waiter = nil
            state.generation += 1
            return waiter
        }
        waiter?.resume()
    }
}
