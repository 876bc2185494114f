import PostgresNIO

/// Updates (`updates`): recorded with their message, answered by the commit that ends them.
enum UpdateStatements {
    /// Records the update and enqueues its message when the id is new and the instance has not
    /// finished. One row (none for an unknown instance): the status, whether it was sent, whether
    /// the id was known before.
    static func send(id: String, instanceID: String, name: String, kind: String, channel: String) -> PostgresQuery {
        """
        WITH target AS (
            SELECT id, status FROM instances WHERE id = \(instanceID)
        ), recorded AS (
            INSERT INTO updates (id, instance_id, name)
            SELECT \(id), t.id, \(name) FROM target t WHERE t.status IN ('pending', 'running')
            ON CONFLICT (id) DO NOTHING
            RETURNING instance_id
        ), queued AS (
            INSERT INTO messages (instance_id, kind) SELECT instance_id, \(kind) FROM recorded RETURNING instance_id
        ), readied AS (
            UPDATE instances i SET inbox_at = LEAST(i.inbox_at, now()) WHERE i.id IN (SELECT instance_id FROM queued)
        )
        SELECT t.status, EXISTS (SELECT 1 FROM recorded), EXISTS (SELECT 1 FROM updates WHERE id = \(id)),
               (SELECT count(*) FROM (SELECT pg_notify(\(channel), 'o') FROM queued) n)::int8
        FROM target t
        """
    }

    /// Writes the outcomes of a committed turn's `answerUpdate` actions (the first one wins) and
    /// hints the waiting clients on the completions channel.
    static func answer(ids: [String], outcomes: [String], channel: String) -> PostgresQuery {
        """
        WITH answered AS (
            UPDATE updates u SET outcome = t.o, completed_at = now()
            FROM unnest(\(ids)::text[], \(outcomes)::text[]) AS t(i, o)
            WHERE u.id = t.i AND u.outcome IS NULL
            RETURNING u.id
        )
        SELECT count(*) FROM (SELECT pg_notify(\(channel), chr(31) || json_build_object('id', 'update:' || id)::text) FROM answered) n
        """
    }

    static func outcome(id: String) -> PostgresQuery {
        "SELECT outcome FROM updates WHERE id = \(id)"
    }
}
