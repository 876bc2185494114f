import Durable
import PostgresNIO

/// Creates an instance with its `executionStarted` message and notifies, unless the id exists; with
/// an `owner`, an eager start, the instance is created leased to it (its first claim) and nobody is
/// notified. One row, with ``CreateInstancesStatement``'s columns.
struct CreateInstanceStatement: GroupedStatement {
    var instanceID = ""
    var name = ""
    var version = ""
    var executionID = ""
    var input = ""
    /// The encoded `executionStarted` message.
    var start = ""
    var channel = ""
    /// The task queue its turns go to.
    var queue = TaskQueue.defaultName
    var priority = Priority.default
    /// The lease owner an eager start claims the first turn for; empty for a plain start.
    var owner = ""
    var leaseSeconds = 0.0

    static let placeholder = CreateInstanceStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH created AS (
            INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority, lock_owner, lock_epoch, locked_until, deliveries)
            SELECT \(self.instanceID), \(self.name), \(self.version), \(self.executionID), 'pending', \(self.input), \(self.queue), \(self.priority)::smallint,
                   \(unescaped: CreateInstancesStatement.leaseColumns(owner: "e.owner", leaseSeconds: "e.lease"))
            FROM (SELECT \(self.owner)::text AS owner, \(self.leaseSeconds)::float8 AS lease) e
            ON CONFLICT (id) DO NOTHING
            RETURNING *
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT id, \(self.executionID), \(self.start) FROM created
            RETURNING id
        )
        SELECT (SELECT count(*) FROM queued)::int8 AS created,
               (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), 'o') FROM queued WHERE \(self.owner)::text = '') n)::int8 AS notified,
               (SELECT q.id FROM queued q WHERE i.id IS NOT NULL) AS message_id, now(),
               \(unescaped: PostgresProvider.instanceColumns("i"))
        FROM (SELECT 1) one
        LEFT JOIN created i ON i.lock_owner IS NOT NULL
        """
    }
}

extension CreateInstanceStatement {
    var lockedRow: String { self.instanceID }
    var rowsToLock: [String] { [self.instanceID] }

    /// One statement for starts of different ids (a repeated id runs them one by one, where the
    /// second finds the first's row).
    static func merged(_ statements: [CreateInstanceStatement]) -> (any PreparedQuery)? {
        guard Set(statements.map(\.instanceID)).count == statements.count,
            statements.allSatisfy({ $0.channel == statements.first?.channel && $0.leaseSeconds == statements.first?.leaseSeconds })
        else { return nil }
        return CreateInstancesStatement(statements)
    }
}

extension CreateInstanceStatement: CommittedInProcedure {
    static let procedure = CommittingProcedure(
        Self.self, name: "create_instance",
        results: [("created", "int8"), ("notified", "int8"), ("message_id", "int8"), ("now", "timestamptz")] + PostgresProvider.instanceColumnTypes
    )
}
