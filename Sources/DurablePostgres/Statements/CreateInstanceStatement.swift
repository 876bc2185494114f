import Durable
import PostgresNIO

/// Creates an instance with its `executionStarted` message and notifies, unless the id exists:
/// one row, (created count, notifications).
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

    static let placeholder = CreateInstanceStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH created AS (
            INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority)
            VALUES (\(self.instanceID), \(self.name), \(self.version), \(self.executionID), 'pending', \(self.input), \(self.queue), \(self.priority)::smallint)
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT id, \(self.executionID), \(self.start) FROM created
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM queued)::int8, (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), 'o') FROM queued) n)::int8
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
            statements.allSatisfy({ $0.channel == statements.first?.channel })
        else { return nil }
        return CreateInstancesStatement(statements)
    }
}
