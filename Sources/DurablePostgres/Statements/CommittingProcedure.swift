import Logging
import PostgresNIO

/// A hot write that commits before it answers, through a ``CommittingProcedure``: one round trip
/// where a plain write takes two (`PostgresClient.write` says why a plain one waits for a second).
protocol CommittedInProcedure: PreparedQuery {
    /// The procedure that runs this statement's text and commits.
    static var procedure: CommittingProcedure { get }
}

/// A procedure, created by ``PostgresProvider/migrate()``, that runs a statement's own text with the
/// statement's parameters, `COMMIT`s, and returns the statement's one row as its `INOUT` values.
///
/// A row that arrives has committed: the values are returned once the procedure has ended, after
/// its `COMMIT` (with the schema's `synchronous_commit`, so after the flush), and a `COMMIT` that
/// fails fails the call. So the write needs no confirmation after it.
///
/// The procedure is named after the statement and a checksum of its text (and of the procedure's
/// form): a release whose statement changed calls its own procedure, while the nodes of the
/// previous release, during a rolling upgrade, keep calling theirs. A schema migrated by a release
/// without it has none: the provider then writes as before (``ProcedureAvailability``).
///
/// A procedure's transaction control rules apply: it is called only outside a transaction block,
/// and it has no `SET` clause (the pooled connection's `search_path` finds its tables).
struct CommittingProcedure: Sendable {
    let name: String
    let statementSQL: String
    /// The columns of the statement's one row, in order: the procedure's `INOUT` parameters, so
    /// the call's row has the statement's column names.
    let results: [(name: String, type: String)]
    /// `CALL name($1, …, $n, NULL, …)`: the statement's parameters, then a NULL for each result.
    let callSQL: String
    /// Prepares the statement on a connection as the provider does, with the types its values are
    /// bound with: by running it with its placeholder's values in a read-only transaction, where
    /// it is prepared and bound, then fails before it writes anything (not even a sequence's next
    /// value).
    let prepare: @Sendable (PostgresConnection, Logger) async throws -> Void
    /// The number of the statement's parameters.
    let parameterCount: Int
    /// The name of the statement prepared by ``prepare``.
    let preparedName: String

    /// - Parameter results: the columns of the statement's row, named as the statement names them.
    init<Statement: PreparedQuery>(_ statement: Statement.Type, name: String, results: [(name: String, type: String)]) {
        let query = Statement.placeholder.query
        self.statementSQL = query.sql
        let columns = results.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        self.name = "durable_\(name)_\(Migration.checksum(of: "\(Self.form) \(columns) \(query.sql)"))"
        self.results = results
        let arguments = (0..<query.binds.count).map { "$\($0 + 1)" } + results.map { _ in "NULL" }
        self.callSQL = "CALL \(self.name)(\(arguments.joined(separator: ", ")))"
        self.preparedName = Statement.name
        self.parameterCount = query.binds.count
        self.prepare = { connection, logger in
            try await connection.query("BEGIN READ ONLY", logger: logger)
            _ = try? await connection.execute(Statement.placeholder, logger: logger).rows()
            try await connection.query("ROLLBACK", logger: logger)
        }
    }

    /// A procedure whose row is read by position: its columns are `durable_result_1`….
    init<Statement: PreparedQuery>(_ statement: Statement.Type, name: String, resultTypes: [String]) {
        self.init(statement, name: name, results: resultTypes.enumerated().map { ("durable_result_\($0.offset + 1)", $0.element) })
    }

    /// The form of ``definition(parameterTypes:)``: a change to it must change the names too.
    private static let form = 2

    /// Every procedure the provider calls.
    static let all = [
        StartWithTurnStatement.procedure, CommitTurnStatement.procedure, CreateInstanceStatement.procedure, SendMessageStatement.procedure,
    ]

    /// The `CREATE PROCEDURE` statement, given the types of the statement's parameters as
    /// PostgresNIO binds them (the call binds the same values, and a procedure is found by its
    /// arguments' types; a value bound as NULL takes the type PostgreSQL infers for it).
    /// The parameters are unnamed: the text refers to them as `$1`…`$n`, as the statement does.
    func definition(parameterTypes: [String]) -> String {
        let parameters = parameterTypes + self.results.map { "INOUT \($0.name) \($0.type) DEFAULT NULL" }
        // PL/pgSQL takes an INTO at the end of the statement as its target (an INSERT's INTO is not
        // one). A result named like a column (`id`) is a variable the text must not see: where the
        // two could both be meant, the column is.
        return """
            CREATE PROCEDURE \(self.name)(\(parameters.joined(separator: ", ")))
            LANGUAGE plpgsql AS $durable_procedure$
            #variable_conflict use_column
            BEGIN
            \(self.statementSQL)
            INTO \(self.results.map(\.name).joined(separator: ", "));
            COMMIT;
            END
            $durable_procedure$
            """
    }
}
