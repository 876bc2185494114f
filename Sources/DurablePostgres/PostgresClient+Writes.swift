import Logging
import PostgresNIO

/// Why a write waits for one more round trip before it counts as done.
///
/// PostgresNIO runs every statement with the extended protocol and hands its rows over when the
/// statement's `CommandComplete` arrives. PostgreSQL sends that before it commits: a statement
/// outside `BEGIN` commits at the `Sync` that follows. A backend terminated in between (by
/// `pg_terminate_backend`, a fast shutdown or a crash), or a commit that fails, rolls the
/// statement back after its rows were delivered. Taken as done, such a write was an activity claim
/// whose lease was never taken, a turn commit whose prefetched activities do not exist, or an
/// activity result that was never recorded, and the activity ran a second time. (A turn claim is
/// the exception: whatever follows from it is fenced by its lease, `PostgresProvider.claim`.)
///
/// A connection runs its next statement only once the previous `Sync` was answered, so a statement
/// that succeeds after the write proves the write committed. When it fails, the write's outcome is
/// unknown, as when a connection is lost mid-statement, and the write is retried: every write is
/// fenced, so a second run of one that did commit is rejected or changes nothing. Statements inside
/// an explicit transaction need none of this: `COMMIT` answers after committing; nor do the hot
/// writes that go through a ``CommittingProcedure``, which commits before it answers.
extension PostgresClient {
    /// Runs a prepared write; returns its rows once its transaction has committed, or at once when
    /// `needsConfirmation` says its rows hand over nothing that acts on the write (a claim that
    /// leased nothing: rolled back, it changed nothing anyone relies on).
    ///
    /// A statement with a ``CommittingProcedure`` goes through it when `procedures` has it: its rows
    /// then arrive committed, and need no confirmation.
    func write<Statement: PreparedQuery>(
        _ statement: Statement, logger: Logger, procedures: ProcedureAvailability? = nil,
        needsConfirmation: ([PostgresRow]) -> Bool = { _ in true }
    ) async throws -> [PostgresRow] {
        if let procedures, let committing = statement as? any CommittedInProcedure,
            let rows = try await self.call(committing, procedures: procedures, logger: logger)
        {
            return rows
        }
        return try await self.confirmed(logger: logger, needsConfirmation: needsConfirmation) { try await $0.execute(statement, logger: logger).rows() }
    }

    /// The rows of `statement` written through its procedure; nil when the schema has none.
    private func call<Committing: CommittedInProcedure>(
        _ statement: Committing, procedures: ProcedureAvailability, logger: Logger
    ) async throws -> [PostgresRow]? {
        guard procedures.isAvailable(Committing.procedure) else { return nil }
        do {
            let rows = try await self.execute(ProcedureCall(statement: statement), logger: logger).rows()
            procedures.called()
            return rows
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42883" {
            // undefined_function: nothing ran.
            procedures.markMissing(Committing.procedure, logger: logger)
            return nil
        }
    }

    /// Runs a write; returns its rows once its transaction has committed.
    func write(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.confirmed(logger: logger) { try await $0.query(query, logger: logger).collect() }
    }

    /// Runs `write` on a pooled connection and confirms its commit on the same connection, unless
    /// `needsConfirmation` says its rows need none.
    private func confirmed(
        logger: Logger, needsConfirmation: ([PostgresRow]) -> Bool = { _ in true }, _ write: (PostgresConnection) async throws -> [PostgresRow]
    ) async throws -> [PostgresRow] {
        try await self.withConnection { connection in
            let rows = try await write(connection)
            if needsConfirmation(rows) { try await connection.confirmCommit(logger: logger) }
            return rows
        }
    }
}

extension PostgresConnection {
    /// Succeeds once the previous statement on this connection has committed.
    func confirmCommit(logger: Logger) async throws {
        // A commit that failed after the rows arrived closes the connection (PostgresNIO takes the
        // error for an unexpected message), and a statement written as it closes is never
        // answered: the close ends the wait (ConnectionCloseWatch).
        try await ConnectionCloseWatch.shared.run(on: self) {
            _ = try await self.execute(CommitConfirmation(), logger: logger).rows()
        }
    }
}

/// The connection closed after a write's rows arrived: whether it committed is unknown.
struct UnconfirmedCommit: Error, CustomStringConvertible {
    var description: String { "the connection closed before the write's commit was confirmed" }
}

/// The statement whose success confirms that the previous one on its connection committed.
struct CommitConfirmation: PreparedQuery {
    static let placeholder = CommitConfirmation()
    static let sql = placeholder.query.sql
    var query: PostgresQuery { "SELECT 1" }
}
