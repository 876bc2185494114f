import Durable
import PostgresNIO
import Synchronization

/// A hot statement, run as a named prepared statement: PostgreSQL parses it once per connection and
/// caches its plan, instead of parsing and planning it at every call (planning alone cost more than
/// executing the turn commit). That it keeps the cached plan is the pool's setting
/// (``PostgresProvider/Configuration/plannerSettings``): left to itself, it re-planned at every call
/// once the tables grew.
///
/// A conforming type builds its statement with `PostgresQuery` interpolation, like any query; the
/// text (`sql`) comes from ``placeholder`` and must not depend on the values, which only go to the
/// bindings. Optional values are cast in the text (`\(value)::text`): the parameter types are fixed
/// by the first call on a connection, which may bind NULL.
protocol PreparedQuery: PostgresPreparedStatement where Row == PostgresRow {
    /// The statement with this call's values.
    var query: PostgresQuery { get }
    /// Any instance: its text is the statement's.
    static var placeholder: Self { get }
}

extension PreparedQuery {
    func makeBindings() throws -> PostgresBindings {
        self.query.binds
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow {
        row
    }
}

extension PostgresProvider {
    /// Runs a prepared write on a pooled connection; returns its rows once it has committed
    /// (`PostgresClient.write`, which says why).
    func write<Statement: PreparedQuery>(
        _ statement: Statement, needsConfirmation: ([PostgresRow]) -> Bool = { _ in true }
    ) async throws -> [PostgresRow] {
        assert(statement.query.sql == Statement.sql, "the text of \(Statement.self) depends on its values")
        return try await self.client.write(statement, logger: self.logger, procedures: self.procedures, needsConfirmation: needsConfirmation)
    }

    /// Runs a turn claim on a pooled connection and returns its rows without waiting for its commit
    /// to be confirmed or flushed. Every effect of a turn claim is fenced by the lease it takes:
    /// when the claim rolls back after its rows arrived (its backend killed at that moment) or is
    /// lost with its WAL unflushed (PostgreSQL crashed before its WAL writer got to it), the node
    /// computes the turns it returned and their commits are rejected, as the lease was never taken;
    /// a commit that lands flushes the claim's WAL with its own. So a claim neither waits for the
    /// round trip of `PostgresClient.write`'s confirmation nor, committed with `synchronous_commit`
    /// off, for the flush: both only delayed the turn. Activity claims are not fenced this way (the
    /// activity runs before anything is committed) and go through ``write(_:)``.
    func claim<Statement: PreparedQuery>(_ statement: Statement) async throws -> [PostgresRow] {
        // Run as a read is: one statement, answered at its `CommandComplete`.
        try await self.read(statement)
    }

    /// Runs a prepared read on a pooled connection and returns its rows.
    func read<Statement: PreparedQuery>(_ statement: Statement) async throws -> [PostgresRow] {
        assert(statement.query.sql == Statement.sql, "the text of \(Statement.self) depends on its values")
        return try await self.client.execute(statement, logger: self.logger).rows()
    }
}

/// How long a statement may take before it is given up as lost: a third of the lease, between 1 s
/// and 10 s. Work whose result is being written keeps its lease only until the lease runs out, so a
/// write stuck on a dead connection must be retried on a live one well before then; otherwise
/// another claim takes the work over and runs it a second time.
func statementDeadline(lease: Duration) -> Duration {
    min(.seconds(10), max(.seconds(1), lease / 3))
}

/// Runs `body`, but throws `StatementDeadlineExceeded` when it has not finished within `deadline`.
/// PostgresNIO (1.33) can leave a statement waiting forever when its connection is closed under it
/// (seen when backends are terminated mid-run); one such wait must not hold up a dispatcher, or
/// every turn commit that queues behind it. The statement is retried like one whose connection was
/// lost: every write is fenced, so running it again is safe.
func withStatementDeadline<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let gate = ContinuationGate(continuation)
        // Not a Task.sleep: a cancelled one keeps its timer until the deadline (see DeadlineQueue).
        let timer = DeadlineQueue.shared.schedule(at: .now + deadline) {
            gate.resume(with: .failure(StatementDeadlineExceeded(deadline: deadline)))
        }
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            DeadlineQueue.shared.cancel(timer)
            gate.resume(with: result)
        }
    }
}

/// A statement did not finish within its deadline (see ``statementDeadline(lease:)``).
struct StatementDeadlineExceeded: Error, CustomStringConvertible {
    var deadline: Duration
    var description: String { "the statement did not finish within \(self.deadline)" }
}

/// Resumes a continuation once, whichever of several tasks comes first.
final class ContinuationGate<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        self.continuation.withLock { $0.take() }?.resume(with: result)
    }
}

extension AsyncSequence where Element == PostgresRow {
    /// Every row of a statement's result.
    func rows() async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in self { rows.append(row) }
        return rows
    }
}
