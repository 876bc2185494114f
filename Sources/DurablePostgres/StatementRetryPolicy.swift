/// Which failed provider statements are run again, and after how long: one policy for every
/// statement, decided from what failed, not from the statement.
///
/// Retried: failures where nothing reached the server (the connection was closing or not yet
/// established, the pool was reconnecting), connections lost mid-statement, serialization failures
/// and deadlocks, and a server shutting down or starting up. A statement that may have been applied
/// before its connection broke is safe to run again: every write is fenced (a lease epoch, a task
/// that is gone, an id that exists), so the second run is rejected or changes nothing.
struct StatementRetryPolicy: Sendable, Hashable {
    /// What a failure was, as far as retrying goes.
    enum Failure: Sendable, Hashable {
        /// The statement was never sent (`clientClosedConnection`, `poolClosed`).
        case notSent
        /// The connection failed or was lost (`connectionError`, `serverClosedConnection`, `uncleanShutdown`).
        case connectionLost
        /// The server reported an error with this SQLSTATE.
        case server(sqlState: String)
        /// Anything else: a bug, bad input, a decoding error.
        case other

        /// The server's SQLSTATE, when the server reported the failure.
        var sqlState: String? {
            if case .server(let state) = self { state } else { nil }
        }
    }

    enum Decision: Sendable, Hashable {
        case retry(after: Duration)
        case fail
    }

    /// Attempts in all, the first included.
    var maxAttempts = 6
    /// The delay before the second attempt; it doubles after each.
    var initialDelay = Duration.milliseconds(25)

    /// SQLSTATEs worth another attempt: serialization failure, deadlock, admin or crash shutdown,
    /// the server starting up, too many connections, and the connection exception class.
    static let transientStates: Set<String> = ["40001", "40P01", "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004"]

    /// What to do after attempt number `attempt` (1 for the first) failed with `failure`.
    func decision(after attempt: Int, _ failure: Failure) -> Decision {
        guard attempt < self.maxAttempts, Self.isTransient(failure) else { return .fail }
        return .retry(after: self.initialDelay * (1 << min(attempt - 1, 10)))
    }

    static func isTransient(_ failure: Failure) -> Bool {
        switch failure {
        case .notSent, .connectionLost: true
        case .server(let state): Self.transientStates.contains(state)
        case .other: false
        }
    }
}
