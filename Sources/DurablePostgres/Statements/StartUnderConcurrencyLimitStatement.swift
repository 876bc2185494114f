import Durable
import PostgresNIO

/// A start under a concurrency limit (migration 0019's `durable_start_keyed`): one row, the call's
/// instance id and whether it runs now (its instance created and announced) or waits for a slot.
struct StartUnderConcurrencyLimitStatement: PreparedQuery {
    var key = ""
    var limit = 1
    var name = ""
    var version = ""
    var executionID = ""
    var input = ""
    /// The encoded `executionStarted` message.
    var start = ""
    var queue = TaskQueue.defaultName
    var priority = Priority.default

    static let placeholder = StartUnderConcurrencyLimitStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        SELECT started_id, runs FROM durable_start_keyed(\(self.key), \(self.limit)::int4, \(self.name), \(self.version), \(self.executionID),
                                                         \(self.input), \(self.start), \(self.queue), \(self.priority)::smallint)
        """
    }
}

/// What a concurrency key's rows say (``ConcurrencyKeyInfo``): one row, (limit, running, waiting
/// ids oldest first), or none for a key never used.
enum ConcurrencyKeyStatement {
    static func query(key: String) -> PostgresQuery {
        """
        SELECT k.slot_limit, k.running,
               coalesce(ARRAY(SELECT w.id FROM concurrency_waiting w WHERE w.key = k.key ORDER BY w.number LIMIT 1000), '{}')
        FROM concurrency_keys k WHERE k.key = \(key)
        """
    }
}
