import Logging
import PostgresNIO
import Synchronization

/// A statement that group commit runs: it locks the row of instance `lockedRow` first, and may wait
/// for the rows of `rowsToLock` (its own and the instances it sends messages to), in any order.
protocol GroupedStatement: PreparedQuery {
    var lockedRow: String { get }
    var rowsToLock: [String] { get }
    /// One statement that does the work of all of `statements` and returns one row for each, in
    /// their order; nil when they must run one after the other.
    static func merged(_ statements: [Self]) -> (any PreparedQuery)?
}

extension GroupedStatement {
    static func merged(_ statements: [Self]) -> (any PreparedQuery)? { nil }
}

/// Groups writes that arrive together into one transaction (group commit across instances), without
/// delaying any: a statement runs at once when a writer is free; statements that arrive while every
/// writer is busy go together in the next transaction. Each stays fenced on its own; only the
/// transaction (its WAL flush, and its notifications, which PostgreSQL folds) is shared. Statements
/// that can be merged (``GroupedStatement/merged(_:)``, turn commits) run as one statement: one
/// round trip and one plan execution for the group. Others run one after the other in the
/// transaction. Used for turn commits and for starts.
///
/// When a group fails, its statements are run again one by one, so that one bad statement cannot
/// fail the others.
///
/// A group runs its statements in the order of the instance rows they lock (``GroupedStatement``),
/// as other multi-row writers (the completion batch) lock theirs, so two transactions never wait
/// for each other's rows in a cycle: a deadlock costs PostgreSQL's `deadlock_timeout` (1 s) before
/// it is detected, which showed as fanout5 runs taking twice as long. When a statement also locks
/// other rows (a child's end readies its parent), the group first locks all of them in that order,
/// in one statement: a statement's own order (own row, then the others) would break the group's.
/// A merged statement locks all its rows in that order itself.
final class GroupCommit<Statement: GroupedStatement>: Sendable {
    private struct Entry {
        var statement: Statement
        var continuation: CheckedContinuation<Result<[PostgresRow], any Error>, Never>
    }

    private let client: PostgresClient
    private let procedures: ProcedureAvailability?
    private let logger: Logger
    private let maxWriters: Int
    private let maxBatch: Int
    private let deadline: Duration
    private let state = Mutex<(pending: [Entry], writers: Int, solos: Int)>(([], 0, 0))
    private let grouped = Atomic(0)
    private let merges = Atomic(0)
    private let alone = Atomic(false)

    /// Statements that ran in a transaction (or a merged statement) shared with others.
    var groupedStatements: Int { self.grouped.load(ordering: .relaxed) }
    /// Groups that ran as one merged statement.
    var mergedGroups: Int { self.merges.load(ordering: .relaxed) }

    /// Whether a write may go its own way (solo) instead of running alone in the group: `true`
    /// when no writer runs and no other solo write does. Pair with ``endSolo()``.
    func beginSolo() -> Bool {
        self.state.withLock { state in
            guard state.writers == 0, state.solos == 0 else { return false }
            state.solos += 1
            return true
        }
    }

    /// Ends the write ``beginSolo()`` let go its own way.
    func endSolo() {
        self.state.withLock { $0.solos -= 1 }
    }

    /// From now on, runs even a statement that comes alone as a merged one, for tests: the merged
    /// statement otherwise runs only when statements arrive together, which a test cannot arrange
    /// for every case it checks.
    func mergeEveryStatement() {
        self.alone.store(true, ordering: .relaxed)
    }

    /// - Parameter procedures: the schema's ``CommittingProcedure``s, through which a statement
    ///   that runs alone is written when it has one.
    init(
        client: PostgresClient, procedures: ProcedureAvailability? = nil, logger: Logger, deadline: Duration, maxWriters: Int = 2, maxBatch: Int = 64
    ) {
        self.client = client
        self.procedures = procedures
        self.deadline = deadline
        self.logger = logger
        self.maxWriters = max(1, maxWriters)
        self.maxBatch = max(1, maxBatch)
    }

    /// Runs the statement, alone or in a transaction with others; returns its rows.
    func execute(_ statement: Statement) async throws -> [PostgresRow] {
        let result = await withCheckedContinuation { continuation in
            let startWriter = self.state.withLock { state in
                state.pending.append(Entry(statement: statement, continuation: continuation))
                guard state.writers < self.maxWriters else { return false }
                state.writers += 1
                return true
            }
            // A task of its own: it must not be cancelled with the caller that happened to start it.
            if startWriter { Task { await self.write() } }
        }
        return try result.get()
    }

    private func write() async {
        while true {
            let batch = self.state.withLock { state -> [Entry] in
                let batch = Array(state.pending.prefix(self.maxBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.writers -= 1 }
                return batch.sorted { $0.statement.lockedRow < $1.statement.lockedRow }
            }
            guard !batch.isEmpty else { return }
            let statements = batch.map(\.statement)
            if batch.count > 1 || self.alone.load(ordering: .relaxed), let merged = Statement.merged(statements) {
                switch await self.merged(merged, count: batch.count) {
                case .success(let rows):
                    self.grouped.add(batch.count, ordering: .relaxed)
                    self.merges.add(1, ordering: .relaxed)
                    for (entry, row) in zip(batch, rows) { entry.continuation.resume(returning: .success([row])) }
                    continue
                case .failure(let error) where self.alone.load(ordering: .relaxed):
                    // In tests, a merged statement that fails must show, not hide behind the fallback.
                    for entry in batch { entry.continuation.resume(returning: .failure(error)) }
                    continue
                case .failure:
                    break
                }
            } else if batch.count > 1, let results = try? await withStatementDeadline(self.deadline, { try await self.inOneTransaction(statements) }) {
                self.grouped.add(batch.count, ordering: .relaxed)
                for (entry, rows) in zip(batch, results) { entry.continuation.resume(returning: .success(rows)) }
                continue
            }
            for entry in batch {
                do {
                    let statement = entry.statement
                    let rows = try await withStatementDeadline(self.deadline) { try await self.rows(of: statement) }
                    entry.continuation.resume(returning: .success(rows))
                } catch {
                    entry.continuation.resume(returning: .failure(error))
                }
            }
        }
    }

    /// The rows of a merged statement, one per statement it merged.
    private func merged(_ statement: any PreparedQuery, count: Int) async -> Result<[PostgresRow], any Error> {
        do {
            let rows = try await withStatementDeadline(self.deadline) { try await self.rows(of: statement) }
            guard rows.count == count else { throw MergedRowCountMismatch(expected: count, returned: rows.count) }
            return .success(rows)
        } catch {
            self.logger.debug("a merged group failed; its statements run one by one", metadata: ["error": "\(String(reflecting: error))"])
            return .failure(error)
        }
    }

    /// A statement run alone (not in `inOneTransaction`), once it has committed.
    private func rows<Query: PreparedQuery>(of statement: Query) async throws -> [PostgresRow] {
        try await self.client.write(statement, logger: self.logger, procedures: self.procedures)
    }

    private func inOneTransaction(_ statements: [Statement]) async throws -> [[PostgresRow]] {
        try await self.client.withConnection { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                if statements.contains(where: { statement in statement.rowsToLock.contains { $0 != statement.lockedRow } }) {
                    let rows = Array(Set(statements.flatMap(\.rowsToLock)))
                    _ = try await connection.execute(LockInstancesStatement(ids: rows), logger: self.logger).rows()
                }
                var results: [[PostgresRow]] = []
                for statement in statements {
                    results.append(try await connection.execute(statement, logger: self.logger).rows())
                }
                try await connection.query("COMMIT", logger: self.logger)
                return results
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }
}

/// A merged statement returned another number of rows than it merged statements (a bug in it).
struct MergedRowCountMismatch: Error, CustomStringConvertible {
    var expected: Int
    var returned: Int
    var description: String { "a merged statement returned \(self.returned) rows for \(self.expected) statements" }
}
