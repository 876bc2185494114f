import PostgresNIO

/// The call of a statement's ``CommittingProcedure``, with the statement's values.
struct ProcedureCall<Statement: CommittedInProcedure>: PreparedQuery {
    var statement: Statement

    static var placeholder: Self { Self(statement: .placeholder) }
    static var sql: String { Statement.procedure.callSQL }
    /// The procedure's name: what PostgreSQL's logs and `pg_prepared_statements` show.
    static var name: String { Statement.procedure.name }

    var query: PostgresQuery {
        PostgresQuery(unsafeSQL: Self.sql, binds: self.statement.query.binds)
    }
}
