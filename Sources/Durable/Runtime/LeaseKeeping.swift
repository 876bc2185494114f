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

enum LeaseRenewalEvent<T: Sendable>: Sendable {
    case finished(Result<T, any Error>)
    case interrupted(WorkInterruption)
    case renewalStopped
}

/// Runs `body` while renewing its lease every `interval`, at once when `renewNow` is signalled, and
/// at the instant `checkBy` returns when that comes sooner (a heartbeat timeout's deadline).
/// When renewal reports the lease lost or a cancellation request, `body` is cancelled and the result
/// is a ``WorkInterruption``; with a `gracePeriod`, a body that does not return within it after
/// the interruption is abandoned (``WorkInterruption/abandoned(_:after:)``), so that code which
/// ignores cancellation does not hold its slot forever.
func withLeaseRenewal<T: Sendable>(
    every interval: Duration,
    maxDuration: Duration? = nil,
    renewNow: WakeSignal? = nil,
    checkBy: (@Sendable () -> ContinuousClock.Instant)? = nil,
    gracePeriod: Duration? = nil,
    renew: @escaping @Sendable () async throws -> Bool,
    onRenewalError: @escaping @Sendable (any Error) -> Void,
    _ body: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error> {
    typealias Event = LeaseRenewalEvent<T>
    // Unstructured, so that the group can stop waiting for code that ignores cancellation.
    let work = Task { try await body() }
    let outcome = Abandonable(work)
    return await withTaskGroup(of: Event.self) { group in
        group.addTask {
            await withTaskCancellationHandler {
                guard let result = await outcome.result() else { return .renewalStopped }
                return .finished(result)
            } onCancel: {
                work.cancel()
            }
        }
        group.addTask {
            let deadline = maxDuration.map { ContinuousClock.now + $0 }
            while !Task.isCancelled {
                let now = ContinuousClock.now
                var sleep = deadline.map { min(interval, $0 - now) } ?? interval
                if let checkBy { sleep = min(sleep, checkBy() - now) }
                if let renewNow {
                    // A hint (a cancellation request) renews at once.
                    await renewNow.wait(timeout: max(.zero, sleep))
                    if Task.isCancelled { return .renewalStopped }
                } else {
                    do {
                        try await DeadlineQueue.shared.sleep(for: max(.zero, sleep))
                    } catch {
                        return .renewalStopped
                    }
                }
                if let deadline, let maxDuration, ContinuousClock.now >= deadline {
                    return .interrupted(.hung(maxDuration))
                }
                do {
                    if try await renew() { return .interrupted(.cancelRequested) }
                } catch let error as DurableError where error.code == .leaseLost {
                    return .interrupted(.leaseLost(error))
                } catch let interruption as WorkInterruption {
                    return .interrupted(interruption)
                } catch {
                    // A transient failure: the next renewal may succeed before the lease runs out.
                    onRenewalError(error)
                }
            }
            return .renewalStopped
        }
        var interruption: WorkInterruption?
        while let event = await group.next() {
            switch event {
            case .finished(let result):
                group.cancelAll()
                // Work that finished wins over an interruption that raced with its end: a turn
                // whose commit returned was committed (a lost lease fails the commit), and its
                // commit released the lease, which a renewal in flight then reports as lost.
                if let interruption, case .failure = result { return .failure(interruption) }
                return result
            case .interrupted(.abandoned(let reason, let after)):
                outcome.abandon()
                group.cancelAll()
                return .failure(WorkInterruption.abandoned(interruption ?? reason, after: after))
            case .interrupted(let reason):
                interruption = reason
                // Not the group: a task added to a cancelled group starts cancelled.
                work.cancel()
                if let gracePeriod {
                    group.addTask {
                        try? await DeadlineQueue.shared.sleep(for: gracePeriod)
                        return .interrupted(.abandoned(reason, after: gracePeriod))
                    }
                }
            case .renewalStopped:
                break
            }
        }
        return .failure(CancellationError())
    }
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
    let renewal = Task {
        while (try? await DeadlineQueue.shared.sleep(for: interval)) != nil {
            do {
                _ = try await renew()
            } catch let error as DurableError where error.code == .leaseLost {
                return
            } catch {
                // Transient: the write itself is being retried.
            }
        }
    }
    defer { renewal.cancel() }
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
