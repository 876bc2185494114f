import Synchronization

/// Wakes one waiting task: a dispatcher that sleeps until a notification, a freed slot or a due
/// time. A signal that arrives while nobody waits is kept, so no wake-up is lost between a claim and
/// the wait after it.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
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

    /// Returns at the next signal, after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let generation = self.state.withLock { state -> Int? in
            if state.pending {
                state.pending = false
                return nil
            }
            return state.generation
        }
        guard let generation, !Task.isCancelled else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.expire(generation)
        }
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
        timer.cancel()
    }

    /// Ends the wait of `generation` without leaving a pending signal behind.
    private func expire(_ generation: Int) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else {
                if state.generation == generation { state.generation += 1 }
                return nil
            }
            state.waiter = nil
            state.generation += 1
            return waiter
        }
        waiter?.resume()
    }
}
