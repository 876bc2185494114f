import PostgresNIO

/// Locks instance rows in id order (byte order, as group commit sorts its statements), so that the
/// statements of a transaction that run after it wait for no row out of that order.
struct LockInstancesStatement: PreparedQuery {
    var ids: [String] = []

    static let placeholder = LockInstancesStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        SELECT count(*) FROM (
            SELECT 1 FROM instances WHERE id = ANY(\(self.ids)::text[]) ORDER BY id COLLATE "C" FOR UPDATE
        ) l
        """
    }
}
