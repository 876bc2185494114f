/// Why work stopped before its code finished.
enum WorkInterruption: Error, Sendable {
    /// Another owner took the lease over.
    case leaseLost(DurableError)
    /// The orchestration asked the activity to stop.
    case cancelRequested
    /// The work ran past its longest allowed duration: it is treated like a crash, its lease left to
    /// expire so that the delivery counts towards poisoning.
    case hung(Duration)
    /// An activity with a heartbeat timeout sent no heartbeat for that long.
    case heartbeatTimedOut(Duration)
    /// The code was interrupted and did not return within the grace period: its result is no
    /// longer awaited (the code may still be running, Swift cannot stop it).
    indirect case abandoned(WorkInterruption, after: Duration)
}

/// Runs `body` while renewing its lease (``LeaseRenewal``).
func withLeaseRenewal<T: Sendable>(
    every interval: Duration,
    maxDuration: Duration? = nil,
    renew: @escaping @Sendable () async throws -> Bool,
    onRenewalError: @escaping @Sendable (any Error) -> Void,
    _ body: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error> {
    await LeaseRenewal<T>(every: interval, maxDuration: maxDuration, renew: renew, onRenewalError: onRenewalError).run(body)
}

/// Runs `body`, which records the outcome of work, while renewing the work's lease every `interval`:
/// a write that is slow or retried on a new connection must not let the lease lapse, or another
/// claim takes the work over and runs it a second time. Renewal never interrupts `body`; once the
/// outcome is known, only the write's fencing decides whether it counts.
func withLeaseHeld<T: Sendable>(
    every interval: Duration,
    renew: @escaping @Sendable () async throws -> Bool,
    _ body: () async -> T
) async -> T {
    // Most writes end long before the first renewal is due: nothing runs beside them until then.
    let renewal = LeaseRenewal<Void>(every: interval, renew: renew, onRenewalError: { _ in }, interruptible: false)
    renewal.startLazily()
    defer { renewal.stop() }
    return await body()
}

/// Runs `body`, cancelling it and throwing a `timedOut` error after `timeout`.
func withTimeout<T: Sendable>(
    _ timeout: Duration?,
    error: @autoclosure @escaping @Sendable () -> DurableError,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let timeout else { return try await body() }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await DeadlineQueue.shared.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw error()
        }
        return value
    }
}
