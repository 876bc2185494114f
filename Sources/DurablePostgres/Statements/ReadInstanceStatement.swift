import PostgresNIO

/// An instance's row as a client reads it (`instance(id:)`): prepared, since every wait for a
/// result reads it at least twice, and parsing and planning it cost more than running it.
struct ReadInstanceStatement: PreparedQuery {
    var id = ""

    static let placeholder = ReadInstanceStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        "SELECT \(unescaped: PostgresProvider.instanceColumns("i")) FROM instances i WHERE i.id = \(self.id)"
    }
}
