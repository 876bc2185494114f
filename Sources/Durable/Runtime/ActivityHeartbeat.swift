import Synchronization

/// The heartbeats of one activity attempt: the latest details not yet written, and when the last
/// heartbeat came (for the heartbeat timeout). The runtime writes the details with its lease
/// renewals, so a tight loop of heartbeats costs one statement per renewal.
final class ActivityHeartbeat: Sendable {
    private let state: Mutex<(pending: Payload?, last: ContinuousClock.Instant)>

    init(startedAt: ContinuousClock.Instant = .now) {
        self.state = Mutex((nil, startedAt))
    }

    func beat(_ details: Payload) {
        self.state.withLock { $0 = (details, .now) }
    }

    /// The details to write now, if any came since the last call.
    func takePending() -> Payload? {
        self.state.withLock { state in
            defer { state.pending = nil }
            return state.pending
        }
    }

    /// When the attempt has been silent for `timeout`, unless a heartbeat comes first.
    func silentUntil(_ timeout: Duration) -> ContinuousClock.Instant {
        self.state.withLock { $0.last } + timeout
    }

    /// How long since the last heartbeat (or the start).
    var silence: Duration {
        ContinuousClock.now - self.state.withLock { $0.last }
    }
}
