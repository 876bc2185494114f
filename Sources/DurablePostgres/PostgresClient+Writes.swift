import Logging
import PostgresNIO

/// Why a write waits for one more round trip before it counts as done.
///
/// PostgresNIO runs every statement with the extended protocol and hands its rows over when the
/// statement's `CommandComplete` arrives. PostgreSQL sends that before it commits: a statement
/// outside `BEGIN` commits at the `Sync` that follows. A backend terminated in between (by
/// `pg_terminate_backend`, a fast shutdown or a crash), or a commit that fails, rolls the
/// statement back after its rows were delivered. Taken as done, such a write was a claim whose
/// lease was never taken, a turn commit whose prefetched activities do not exist, or an activity
/// result that was never recorded, and the activity ran a second time.
///
/// A connection runs its next statement only once the previous `Sync` was answered, so a statement
/// that succeeds after the write proves the write committed. When it fails, the write's outcome is
/// unknown, as when a connection is lost mid-statement, and the write is retried: every write is
/// fenced, so a second run of one that did commit is rejected or changes nothing. Statements inside
/// an explicit transaction need none of this: `COMMIT` answers after committing.
extension PostgresClient {
    /// Runs a prepared write; returns its rows once its transaction has committed.
    func write<Statement: PreparedQuery>(_ statement: Statement, logger: Logger) async throws -> [PostgresRow] {
        try await self.withConnection { connection in
            let rows = try await connection.execute(statement, logger: logger).rows()
            _ = try await connection.execute(CommitConfirmation(), logger: logger).rows()
            return rows
        }
    }

    /// Runs a write; returns its rows once its transaction has committed.
    func write(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.withConnection { connection in
            let rows = try await connection.query(query, logger: logger).collect()
            _ = try await connection.execute(CommitConfirmation(), logger: logger).rows()
            return rows
        }
    }
}

/// The statement whose success confirms that the previous one on its connection committed.
struct CommitConfirmation: PreparedQuery {
    static let placeholder = CommitConfirmation()
    static let sql = placeholder.query.sql
    var query: PostgresQuery { "SELECT 1" }
}
