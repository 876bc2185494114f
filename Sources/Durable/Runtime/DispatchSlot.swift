import Synchronization

/// The slot a dispatched item holds (``DurableRuntime/dispatch(_:wake:concurrency:inFlight:local:claim:takesOver:process:handBack:)``),
/// freed once: by the work itself when only a write is left (an activity whose code has ended), else
/// when the work ends.
final class DispatchSlot: Sendable {
    private let freed = Atomic(false)
    private let onFree: @Sendable () -> Void

    init(onFree: @escaping @Sendable () -> Void) {
        self.onFree = onFree
    }

    /// Frees the slot for the dispatcher's next item; later calls do nothing.
    func free() {
        guard !self.freed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        self.onFree()
    }
}
