import Durable
import PostgresNIO

/// Claims up to `limit` visible activity tasks of one task queue (and its tasks leased by a silent
/// node), with `sessions` also those of dead nodes' session queues, and returns when the queue's next
/// one comes due: one statement, index walks only.
struct ClaimActivitiesStatement: PreparedQuery {
    var owner = ""
    var queue = ""
    var limit = 0
    var leaseSeconds = 0.0
    /// Capability-aware claims: the activities this node has.
    var names: [String]? = []
    var stale: Double? = 0
    /// Whether to take the session tasks (queues `@<node>`) of nodes that stopped or heartbeated
    /// more than `liveness` seconds ago.
    var sessions = false
    var liveness = 0.0

    /// A task's claim order (``ClaimRank``), as the ready index holds it.
    static let rank = ClaimRank.of(ready: "visible_at", priority: "priority")

    static let placeholder = ClaimActivitiesStatement()
    static let sql = placeholder.query.sql

    /// Whether the claim's rows lease a task (a row with a task id; a row without one carries only
    /// the next due time). Undecodable rows count as leasing, so they are confirmed.
    static func leasedAny(_ rows: [PostgresRow]) -> Bool {
        rows.contains { row in
            do {
                return try row.makeRandomAccess()[0].decode(String?.self) != nil
            } catch {
                return true
            }
        }
    }

    var query: PostgresQuery {
        """
        WITH orphaned AS (
            -- Tasks leased by a silent node, through the lock owner index (the fleet's activities
            -- in flight). They are the oldest work, so they go first. A cancelled task whose node
            -- stopped is claimed by anyone, to report the cancellation without running it.
            SELECT id FROM activity_tasks t
            WHERE \(self.stale)::float8 IS NOT NULL AND lock_owner IS NOT NULL AND locked_until > now()
              AND (queue = \(self.queue) OR (\(self.sessions)::bool AND queue LIKE '@%' AND NOT EXISTS (
                          SELECT 1 FROM nodes n WHERE n.id = substr(t.queue, 2) AND n.stopped_at IS NULL
                            AND n.heartbeat_at > now() - make_interval(secs => \(self.liveness)))))
              AND (\(self.names)::text[] IS NULL OR name = ANY(\(self.names)::text[]) OR cancel_requested)
              AND EXISTS (
                  SELECT 1 FROM nodes n WHERE n.id = split_part(t.lock_owner, '#', 1)
                    AND (n.incarnation <> split_part(t.lock_owner, '#', 2) OR n.stopped_at IS NOT NULL
                         OR n.heartbeat_at <= now() - make_interval(secs => \(self.stale)::float8)))
            LIMIT \(self.limit)
            FOR UPDATE SKIP LOCKED
        ), ready AS (
            -- The queue's ready index in claim order (the visible time aged by priority,
            -- ``Priority``; it also holds the tasks of higher priorities visible within two
            -- minutes, which rank earlier); visible_at moves to the end of a lease, so expired
            -- leases are visible too.
            SELECT id FROM activity_tasks t
            WHERE queue = \(self.queue) AND \(unescaped: Self.rank) <= \(unescaped: ClaimRank.now) AND visible_at <= now()
              AND (\(self.names)::text[] IS NULL OR name = ANY(\(self.names)::text[]) OR cancel_requested)
            ORDER BY \(unescaped: Self.rank), seq
            LIMIT \(self.limit)
            FOR UPDATE SKIP LOCKED
        ), fresh AS (
            -- Visible tasks of levels below the default whose rank has not come yet, by level and
            -- oldest first: through the index of the levels other than the default (empty while
            -- every task has the default), read only when the walk above leaves room.
            SELECT f.id FROM (VALUES (4), (5)) p(level), LATERAL (
                SELECT id, visible_at, seq FROM activity_tasks t
                WHERE queue = \(self.queue) AND priority = p.level AND priority <> 3 AND visible_at <= now()
                  AND \(unescaped: Self.rank) > \(unescaped: ClaimRank.now)
                  AND (\(self.names)::text[] IS NULL OR name = ANY(\(self.names)::text[]) OR cancel_requested)
                ORDER BY visible_at, seq
                LIMIT \(self.limit)
                FOR UPDATE SKIP LOCKED
            ) f
            ORDER BY p.level, f.visible_at, f.seq
        ), stranded AS (
            -- Session tasks whose node stopped or went silent, through the session index: it holds
            -- session tasks only, which their own node mostly claims at once (read only when the
            -- queue's own work leaves slots free).
            SELECT id FROM activity_tasks t
            WHERE \(self.sessions)::bool AND queue LIKE '@%' AND visible_at <= now()
              AND (\(self.names)::text[] IS NULL OR name = ANY(\(self.names)::text[]) OR cancel_requested)
              AND NOT EXISTS (
                  SELECT 1 FROM nodes n WHERE n.id = substr(t.queue, 2) AND n.stopped_at IS NULL
                    AND n.heartbeat_at > now() - make_interval(secs => \(self.liveness)))
            ORDER BY visible_at, seq
            LIMIT \(self.limit)
            FOR UPDATE SKIP LOCKED
        ), candidates AS (
            SELECT id FROM orphaned UNION ALL SELECT id FROM ready UNION ALL SELECT id FROM fresh UNION ALL SELECT id FROM stranded LIMIT \(self.limit)
        ), claimed AS (
            UPDATE activity_tasks t
            SET lock_owner = \(self.owner), lock_epoch = t.lock_epoch + 1, deliveries = t.deliveries + 1,
                locked_until = now() + make_interval(secs => \(self.leaseSeconds)),
                visible_at = now() + make_interval(secs => \(self.leaseSeconds))
            FROM candidates c WHERE t.id = c.id
            RETURNING t.id, t.instance_id, t.execution_id, t.request, t.attempt, t.deliveries, t.lock_epoch, t.handler_misses, t.heartbeat,
                      t.cancel_requested, t.rate_admitted
        )
        -- visible_at moves to the end of the lease, so "visible now" also covers expired
        -- leases; one row with only the next due time when nothing was claimed.
        SELECT c.id, c.instance_id, c.execution_id, c.request, c.attempt, c.deliveries, c.lock_epoch, c.handler_misses, c.heartbeat,
               c.cancel_requested, c.rate_admitted,
               -- The first rank past now is the default level's next visible time (and no later
               -- than any other level's); the other levels' index has their exact ones.
               EXTRACT(EPOCH FROM (least(
                   (SELECT to_timestamp(\(unescaped: Self.rank)) FROM activity_tasks WHERE queue = \(self.queue) AND \(unescaped: Self.rank) > \(unescaped: ClaimRank.now)
                    ORDER BY \(unescaped: Self.rank) LIMIT 1),
                   (SELECT min(n.visible_at) FROM (VALUES (1), (2), (4), (5)) p(level), LATERAL (
                        SELECT visible_at FROM activity_tasks WHERE queue = \(self.queue) AND priority = p.level AND priority <> 3 AND visible_at > now()
                        ORDER BY visible_at LIMIT 1) n)
               ) - now()))::float8
        FROM (SELECT 1) one LEFT JOIN claimed c ON true
        """
    }

}
