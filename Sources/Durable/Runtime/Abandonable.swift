import Synchronization

/// The result of work, awaited until it arrives (``finish(_:)``) or until the waiter gives up on it
/// (``abandon()``), whichever comes first; the work itself runs on.
final class Abandonable<T: Sendable>: Sendable {
    private enum State {
        case running
        case waiting(CheckedContinuation<Result<T, any Error>?, Never>)
        case done(Result<T, any Error>?)
    }

    private let state = Mutex(State.running)

    /// The task's result, or `nil` once abandoned.
    func result() async -> Result<T, any Error>? {
        await withCheckedContinuation { continuation in
            let done: Result<T, any Error>?? = self.state.withLock { state in
                switch state {
                case .done(let result): return .some(result)
                case .running, .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Stops waiting: a pending ``result()`` returns `nil`, and a result that arrives later is dropped.
    func abandon() {
        self.finish(nil)
    }

    /// Delivers the work's result (`nil`: abandoned); only the first call counts.
    func finish(_ result: Result<T, any Error>?) {
        let waiter: CheckedContinuation<Result<T, any Error>?, Never>? = self.state.withLock { state in
            switch state {
            case .done: return nil
            case .running:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .done(result)
                return continuation
            }
        }
        waiter?.resume(returning: result)
    }
}
