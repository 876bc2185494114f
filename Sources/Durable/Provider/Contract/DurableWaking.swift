/// Hints that work may be ready or an instance finished (docs/provider-contract.md,
/// "Notifications"). A requirement group of ``DurableProvider``.
public protocol DurableWaking: Sendable {
    /// Hints that work may have become visible on a queue (or that an instance finished). A hint is
    /// never the source of truth: consumers re-read the tables.
    func notifications(_ channel: NotificationChannel) -> AsyncStream<Void>

    /// Hints that one instance may have finished, for a client waiting for it: unlike
    /// `notifications(.completions)`, other instances' completions do not wake it (many waiters in
    /// one process do not all re-read at every completion). The default is
    /// `notifications(.completions)`.
    func completionNotifications(instanceID: String) -> AsyncStream<Void>

    /// Hints that cancellation was requested for a running activity task, by task id (the lease's
    /// id), so that the node running it stops at once instead of at its next renewal, which remains
    /// the guarantee. The default never yields.
    func activityCancellations() -> AsyncStream<String>
}

extension DurableWaking {
    public func activityCancellations() -> AsyncStream<String> {
        AsyncStream { _ in }
    }

    public func completionNotifications(instanceID: String) -> AsyncStream<Void> {
        self.notifications(.completions)
    }
}
