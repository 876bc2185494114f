import PostgresNIO

/// A hot statement, run as a named prepared statement: PostgreSQL parses it once per connection and
/// caches its plan, instead of parsing and planning it at every call (planning alone cost more than
/// executing the turn commit).
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
    /// Runs a prepared statement on a pooled connection and returns its rows.
    func execute<Statement: PreparedQuery>(_ statement: Statement) async throws -> [PostgresRow] {
        assert(statement.query.sql == Statement.sql, "the text of \(Statement.self) depends on its values")
        return try await self.client.execute(statement, logger: self.logger).rows()
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
