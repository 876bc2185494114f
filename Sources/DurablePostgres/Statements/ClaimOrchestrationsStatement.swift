import Durable
import PostgresNIO

/// Claims up to `limit` ready instances and returns them with their history and visible messages,
/// and when the next message or lease comes due: one statement (decoded by
/// `PostgresProvider.workItems`).
struct ClaimOrchestrationsStatement: PreparedQuery {
    var owner = ""
    /// The task queues claimed from.
    var queues = [TaskQueue.defaultName]
    var limit = 0
    var leaseSeconds = 0.0
    /// Capability-aware claims: the names this node has, and name + U+001F + version pairs.
    var names: [String]? = []
    var pairs: [String]? = []
    var stale: Double? = 0
    var grace: Double? = 0
    var liveness = 0.0
    /// Histories up to this length come whole.
    var fullHistoryLimit = 32

    static let placeholder = ClaimOrchestrationsStatement()
    static let sql = placeholder.query.sql

    init() {}

    init(_ request: ClaimRequest, leaseSeconds: Double) {
        self.owner = request.owner
        self.queues = request.orchestrationQueues
        self.limit = request.limit
        self.leaseSeconds = leaseSeconds
        self.names = request.capabilities.map { Array($0.orchestrations.keys) }
        self.pairs = request.capabilities.map { capabilities in
            capabilities.orchestrations.flatMap { name, versions in versions.map { "\(name)\u{1F}\($0)" } }
        }
        self.stale = request.orphanStaleness.map(\.seconds)
        self.grace = request.claimUnrunnableAfter.map(\.seconds)
        self.liveness = (request.staleNodeAfter ?? .seconds(30)).seconds
    }

    var query: PostgresQuery { self.query(multiQueue: false) }

    /// The statement for a node that serves one turn queue (`multiQueue` false: the first of
    /// `queues`) or several. The text differs only in where the queues come from: a one-row
    /// subquery, whose generic plan PostgreSQL caches, or `unnest`, whose row count a generic plan
    /// cannot know, so that form is planned at each call (about a millisecond on the team's
    /// machine; measured with pg_stat_statements' planning times).
    func query(multiQueue: Bool) -> PostgresQuery {
        let open = multiQueue ? "unnest(" : "(SELECT ("
        let close = multiQueue ? ") q(name)" : ")[1] AS name) q"
        // The claim order of rows `i` and `n` (``ClaimRank``), as the ready index holds it.
        let (ranki, rankn) = (Self.rank("i"), Self.rank("n"))
        return """
        WITH ready AS (
            -- The ready index of each queue served, in claim order (the ready time aged by priority,
            -- ``Priority``): reads the rows it returns (and, with capability filters, the ones other
            -- nodes run; and the turns of higher priorities due within two minutes, which rank
            -- earlier than their ready time), whatever waits behind them or in other queues; then
            -- the first of those.
            SELECT r.id FROM \(unescaped: open)\(self.queues)::text[]\(unescaped: close),
                 (SELECT \(self.names)::text[] AS names, \(self.pairs)::text[] AS pairs, \(self.grace)::float8 AS grace, \(self.liveness)::float8 AS liveness) node,
                 LATERAL (
                SELECT i.id, \(unescaped: ranki) AS rank FROM instances i
                WHERE i.queue = q.name AND i.inbox_at IS NOT NULL AND \(unescaped: ranki) <= \(unescaped: ClaimRank.now)
                  AND greatest(i.inbox_at, i.locked_until) <= now() AND \(unescaped: Self.runnable)
                ORDER BY \(unescaped: ranki)
                LIMIT \(self.limit)
                FOR UPDATE SKIP LOCKED
            ) r
            ORDER BY r.rank
            LIMIT \(self.limit)
        ), fresh AS (
            -- Ready turns of levels below the default whose rank has not come yet, by level and
            -- oldest first, for the room the walk above left: through the index of the levels other
            -- than the default (empty while every instance has the default).
            SELECT f.id FROM \(unescaped: open)\(self.queues)::text[]\(unescaped: close), (VALUES (4), (5)) p(level),
                 (SELECT \(self.names)::text[] AS names, \(self.pairs)::text[] AS pairs, \(self.grace)::float8 AS grace, \(self.liveness)::float8 AS liveness) node,
                 LATERAL (
                SELECT i.id, greatest(i.inbox_at, i.locked_until) AS ready_at FROM instances i
                WHERE i.queue = q.name AND i.priority = p.level AND i.priority <> 3 AND i.inbox_at IS NOT NULL
                  AND greatest(i.inbox_at, i.locked_until) <= now() AND \(unescaped: ranki) > \(unescaped: ClaimRank.now)
                  AND \(unescaped: Self.runnable)
                ORDER BY greatest(i.inbox_at, i.locked_until)
                LIMIT \(self.limit)
                FOR UPDATE SKIP LOCKED
            ) f
            ORDER BY p.level, f.ready_at
            LIMIT \(self.limit) - (SELECT count(*) FROM ready)
        ), orphaned AS (
            -- Leases of silent nodes, taken over before they expire: found through the lock owner
            -- index, which holds only the fleet's turns in flight.
            SELECT i.id FROM instances i
            WHERE \(self.stale)::float8 IS NOT NULL AND i.lock_owner IS NOT NULL AND i.locked_until > now() AND i.inbox_at <= now()
              AND i.queue = ANY(\(self.queues)::text[])
              AND (\(self.names)::text[] IS NULL
                   OR (i.version = '' AND i.name = ANY(\(self.names)::text[]))
                   OR i.name || chr(31) || i.version = ANY(\(self.pairs)::text[]))
              AND EXISTS (
                  SELECT 1 FROM nodes n WHERE n.id = split_part(i.lock_owner, '#', 1)
                    AND (n.incarnation <> split_part(i.lock_owner, '#', 2) OR n.stopped_at IS NOT NULL
                         OR n.heartbeat_at <= now() - make_interval(secs => \(self.stale)::float8)))
            LIMIT \(self.limit)
            FOR UPDATE SKIP LOCKED
        ), candidates AS (
            -- Taken-over leases first: a claim filled with ready turns instead would report no
            -- takeover, and the node would stop searching while orphans remain (``TakeoverCadence``).
            -- UNION ALL keeps that order; the three never share a row (a lease that has not expired,
            -- a rank that has come, one that has not).
            SELECT id FROM orphaned UNION ALL SELECT id FROM ready UNION ALL SELECT id FROM fresh LIMIT \(self.limit)
        ), claimed AS (
            UPDATE instances i
            SET lock_owner = \(self.owner), lock_epoch = i.lock_epoch + 1,
                locked_until = now() + make_interval(secs => \(self.leaseSeconds)), deliveries = i.deliveries + 1
            FROM candidates c WHERE i.id = c.id
            -- A long history comes as its last event only: the node continues the execution it
            -- keeps (or reads the rest when it keeps none), so a claim costs the same at any length.
            RETURNING i.*, CASE WHEN i.history_length > \(self.fullHistoryLimit) THEN i.history_length - 1 ELSE 0 END AS history_offset
        )
        -- One round trip: the claimed rows with their history and visible messages, and when the
        -- next instance comes due (one row with only that when nothing was claimed). The history and
        -- messages are read with the statement's snapshot: when the row changed between that
        -- snapshot and the lock (another claim, or a commit, which moves updated_at but not the
        -- epoch), snapshot_current is not true and the provider reads them again; otherwise a
        -- node that keeps the execution would get messages that commit had consumed.
        SELECT \(unescaped: PostgresProvider.instanceColumns("i")), i.lock_epoch, i.deliveries, i.handler_misses, now(), i.history_offset, i.history_length,
               \(unescaped: Self.snapshotCurrent) AS snapshot_current,
               -- The first rank past now is the default level's next ready time (and no later than
               -- any other level's); the other levels' index has their exact ones.
               EXTRACT(EPOCH FROM (least(
                   (SELECT to_timestamp(min(n.rank)) FROM \(unescaped: open)\(self.queues)::text[]\(unescaped: close), LATERAL (
                        SELECT \(unescaped: rankn) AS rank FROM instances n
                        WHERE n.queue = q.name AND n.inbox_at IS NOT NULL AND \(unescaped: rankn) > \(unescaped: ClaimRank.now)
                        ORDER BY \(unescaped: rankn) LIMIT 1) n),
                   (SELECT min(n.ready_at) FROM \(unescaped: open)\(self.queues)::text[]\(unescaped: close), (VALUES (1), (2), (4), (5)) p(level), LATERAL (
                        SELECT greatest(n.inbox_at, n.locked_until) AS ready_at FROM instances n
                        WHERE n.queue = q.name AND n.priority = p.level AND n.priority <> 3 AND n.inbox_at IS NOT NULL
                          AND greatest(n.inbox_at, n.locked_until) > now()
                        ORDER BY greatest(n.inbox_at, n.locked_until) LIMIT 1) n)
               ) - now()))::float8 AS next_visible,
               \(unescaped: Self.turnColumns(historyFrom: "i.history_offset"))
        -- The claim commits without waiting for its WAL flush (PostgresProvider.claim says why).
        FROM (SELECT set_config('synchronous_commit', 'off', true)) one LEFT JOIN claimed i ON true
        """
    }

    /// Whether the statement's snapshot of claimed row `i` is the version it locked: its epoch is
    /// the one before the claim's and its `updated_at`, which the claim does not set, is the same.
    static let snapshotCurrent = """
        (SELECT s.lock_epoch = i.lock_epoch - 1 AND s.updated_at = i.updated_at FROM instances s WHERE s.id = i.id)
        """

    static func rank(_ alias: String) -> String {
        ClaimRank.of(ready: "greatest(\(alias).inbox_at, \(alias).locked_until)", priority: "\(alias).priority")
    }

    /// Whether the walks may take instance row `i`, with what the claiming node runs as the row
    /// `node` beside it (a subquery without FROM, which the planner folds into the walk): it is not
    /// finished, and this node can run it (or no live node can, for the grace period).
    ///
    /// "Not finished" is written as `NOT IN` the finished statuses (the same rows: the table's check
    /// allows five), which no index can serve: as `IN ('pending', 'running')` it let the walk's
    /// generic plan, made from the statistics of the moment the connection first ran it, join the
    /// ready index with the status index and sort every ready row (with statistics of an empty
    /// table, 50,000 ready rows: 1,625 buffers, an external sort and 40 ms, against 26 buffers and
    /// 2 ms for the ordered walk; docs/postgres.md).
    private static let runnable = """
        i.status NOT IN ('completed', 'failed', 'cancelled')
                          AND (node.names IS NULL
                               OR (i.version = '' AND i.name = ANY(node.names))
                               OR i.name || chr(31) || i.version = ANY(node.pairs)
                               -- Work no live node can run is claimed after a grace period, to be handed
                               -- back with backoff and show what it waits for.
                               OR (node.grace IS NOT NULL
                                   AND i.inbox_at <= now() - make_interval(secs => node.grace)
                                   AND NOT EXISTS (
                                       SELECT 1 FROM nodes n
                                       WHERE n.stopped_at IS NULL AND n.heartbeat_at > now() - make_interval(secs => node.liveness)
                                         AND (CASE WHEN i.version = '' THEN (n.capabilities::jsonb -> 'orchestrations') ? i.name
                                                   ELSE coalesce((n.capabilities::jsonb -> 'orchestrations' -> i.name) ? i.version, false) END))))
        """

    /// The history (from sequence `historyFrom`) and visible messages of instance row `i`, as the
    /// columns `history`, `message_ids` and `message_kinds`: what a claimed turn brings.
    static func turnColumns(historyFrom offset: String) -> String {
        """
        coalesce((SELECT array_agg(h.event ORDER BY h.seq) FROM history h
                  WHERE h.instance_id = i.id AND h.execution_id = i.execution_id AND h.seq >= \(offset)), '{}') AS history,
        coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM messages m
                  WHERE m.instance_id = i.id AND m.visible_at <= now()
                    AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)), '{}') AS message_ids,
        coalesce((SELECT array_agg(m.kind ORDER BY m.id) FROM messages m
                  WHERE m.instance_id = i.id AND m.visible_at <= now()
                    AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)), '{}') AS message_kinds
        """
    }
}

/// The turn claim of a node that serves several turn queues (``ClaimOrchestrationsStatement``,
/// walked with a descent per queue).
struct ClaimOrchestrationsFromQueuesStatement: PreparedQuery {
    var claim = ClaimOrchestrationsStatement()

    static let placeholder = ClaimOrchestrationsFromQueuesStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery { self.claim.query(multiQueue: true) }
}
