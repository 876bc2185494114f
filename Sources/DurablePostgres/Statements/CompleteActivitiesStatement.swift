import PostgresNIO

/// Records a batch of activity outcomes (each fenced by its lease) and claims the turns they
/// complete for the completer, in one statement (see `PostgresProvider.completeActivities`). Returns
/// one row per claimed turn, or one row with only the totals when none.
struct CompleteActivitiesStatement: PreparedQuery {
    var ids: [String] = []
    var epochs: [Int64] = []
    var owners: [String] = []
    var kinds: [String] = []
    /// Per completion: the history events the completer has (-1: claim nothing).
    var known: [Int] = []
    var limit = 0
    var owner = ""
    var leaseSeconds = 0.0
    var channel = ""

    static let placeholder = CompleteActivitiesStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH input AS (
            SELECT * FROM unnest(\(self.ids)::text[], \(self.epochs)::int8[],
                                 \(self.owners)::text[], \(self.kinds)::text[], \(self.known)::int[])
                          WITH ORDINALITY AS t(id, epoch, owner, kind, known, n)
        ), done AS (
            -- = ANY(array): through the primary key. Joined on the input alone, the generic plan
            -- read every leased task through the lock owner index (thousands in a big run).
            DELETE FROM activity_tasks a USING input x
            WHERE a.id = ANY(\(self.ids)::text[]) AND a.id = x.id AND a.lock_epoch = x.epoch AND a.lock_owner = x.owner AND a.locked_until IS NOT NULL
            RETURNING a.id, a.instance_id, a.execution_id, x.kind, x.known, x.n
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT i.id, i.execution_id, d.kind FROM done d
            JOIN instances i ON i.id = d.instance_id AND i.execution_id = d.execution_id AND i.status IN ('pending', 'running')
            -- In the batch's order, as the in-memory provider queues them.
            ORDER BY d.n
            RETURNING id, instance_id, kind
        ), locked AS (
            -- Every instance row this statement writes is locked here first, in id order, as a
            -- group commit locks its instances: locked in any other order, a batch and a group
            -- could each hold a row the other waits for (a deadlock, found only after 1 s).
            -- The updates below take their rows from here, so they lock nothing new out of order.
            -- = ANY(array): found through the primary key whatever the planner guesses of the CTEs.
            SELECT i.id, i.execution_id, i.status, i.locked_until FROM instances i
            WHERE i.id = ANY(ARRAY(SELECT d.instance_id FROM done d))
            -- Byte order whatever the database's collation: the order group commit sorts in.
            ORDER BY i.id COLLATE "C"
            FOR UPDATE
        ), candidates AS (
            -- The turns these results complete: no other activity outstanding, nobody holding
            -- the instance, and the completer keeps its execution.
            SELECT l.id FROM locked l
            WHERE l.id = ANY(ARRAY(SELECT d.instance_id FROM done d WHERE d.known >= 0))
              AND l.status IN ('pending', 'running')
              AND (l.locked_until IS NULL OR l.locked_until <= now())
              AND NOT EXISTS (SELECT 1 FROM activity_tasks t
                              WHERE t.instance_id = l.id AND t.execution_id = l.execution_id AND NOT t.cancel_requested
                                AND t.id NOT IN (SELECT d.id FROM done d))
            LIMIT \(self.limit)
        ), readied AS (
            -- The results make their instances ready (the claimed ones are updated below).
            UPDATE instances i SET inbox_at = LEAST(i.inbox_at, now())
            WHERE i.id = ANY(ARRAY(SELECT l.id FROM locked l
                                   WHERE l.id IN (SELECT q.instance_id FROM queued q) AND l.id NOT IN (SELECT c.id FROM candidates c)))
        ), claimed AS (
            UPDATE instances i
            SET lock_owner = \(self.owner), lock_epoch = i.lock_epoch + 1,
                locked_until = now() + make_interval(secs => \(self.leaseSeconds)), deliveries = i.deliveries + 1,
                inbox_at = LEAST(i.inbox_at, now())
            FROM candidates c WHERE i.id = c.id
            RETURNING i.*, greatest(0, (SELECT max(d.known) FROM done d WHERE d.instance_id = i.id) - 1) AS history_offset
        )
        -- One row per claimed turn (its history from the last event the completer has, and
        -- its messages, those written here included); one row with only the totals when none.
        SELECT \(unescaped: PostgresProvider.instanceColumns("i")), i.lock_epoch, i.deliveries, i.handler_misses, now(),
               \(unescaped: ClaimOrchestrationsStatement.snapshotCurrent) AS snapshot_current,
               NULL::float8 AS next_visible, i.history_offset, i.history_length,
               coalesce((SELECT array_agg(h.event ORDER BY h.seq) FROM history h
                         WHERE h.instance_id = i.id AND h.execution_id = i.execution_id AND h.seq >= i.history_offset), '{}') AS history,
               coalesce(m.ids, '{}') AS message_ids, coalesce(m.kinds, '{}') AS message_kinds,
               coalesce((SELECT array_agg(id) FROM done), '{}') AS completed,
               EXISTS (SELECT 1 FROM queued q WHERE q.instance_id NOT IN (SELECT id FROM claimed)) AS ready,
               (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), 'o')
                                      WHERE EXISTS (SELECT 1 FROM queued q WHERE q.instance_id NOT IN (SELECT id FROM claimed))) n)::int8
                   AS notified
        FROM (SELECT 1) one
        LEFT JOIN claimed i ON true
        LEFT JOIN LATERAL (
            SELECT array_agg(x.id ORDER BY x.id) AS ids, array_agg(x.kind ORDER BY x.id) AS kinds FROM (
                SELECT m.id, m.kind FROM messages m
                WHERE m.instance_id = i.id AND m.visible_at <= now() AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)
                UNION ALL
                SELECT q.id, q.kind FROM queued q WHERE q.instance_id = i.id
            ) x
        ) m ON true
        """
    }
}
