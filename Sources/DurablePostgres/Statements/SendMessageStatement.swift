import PostgresNIO

/// Enqueues a message for an instance that has not finished and notifies: one row, (the
/// instance's status or NULL when there is none, notifications).
struct SendMessageStatement: PreparedQuery {
    var instanceID = ""
    var kind = ""
    var channel = ""

    static let placeholder = SendMessageStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH target AS (
            SELECT id, status FROM instances WHERE id = \(self.instanceID)
        ), queued AS (
            INSERT INTO messages (instance_id, kind)
            SELECT id, \(self.kind) FROM target WHERE status IN ('pending', 'running')
            RETURNING instance_id
        ), readied AS (
            -- Always written, also when it changes nothing: the row lock orders this message
            -- with a commit of the same instance, which then cannot miss it.
            UPDATE instances i SET inbox_at = LEAST(i.inbox_at, now()) WHERE i.id IN (SELECT instance_id FROM queued)
        )
        SELECT (SELECT status FROM target), (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), 'o') FROM queued) n)::int8
        """
    }
}

extension SendMessageStatement: CommittedInProcedure {
    static let procedure = CommittingProcedure(Self.self, name: "send_message", resultTypes: ["text", "int8"])
}
