import PostgresNIO

/// The common turn commit as one statement: fence, history, consumed messages, activity tasks (leased
/// to the committer up to its prefetch limit), timers and the parent's message, the instance row, and
/// one NOTIFY, in a single round trip. A stale lease matches no row in `fence`, so nothing else is
/// written. Returns one row: the fence count (2 when the lease and the history sequence held), the
/// leased tasks' ids and operation ids, the notification count, and whether the activity task (with
/// `completes`) was current.
///
/// With `completes`, the turn consumes an activity's outcome and is committed without a lease: the
/// task (fenced by its lease) is deleted, and the instance is taken when nobody holds it and no other
/// activity of it is outstanding; when it cannot be taken (or its history moved on), the outcome is
/// queued as a message instead and nothing else is written.
struct CommitTurnStatement: GroupedStatement {
    var completes = false
    var taskID = ""
    var taskEpoch: Int64 = 0
    var taskOwner = ""
    /// The outcome as a message, queued when the turn cannot be committed.
    var resultMessage = ""
    var instanceID = ""
    var epoch: Int64 = 0
    var leaseOwner = ""
    /// The sequence number of the first new event; -1 when there is none.
    var firstSequence = -1
    var sequenceNumbers: [Int] = []
    var events: [String] = []
    var terminal = false
    var consumedMessageIDs: [Int64] = []
    var prefetchOwner = ""
    var leaseSeconds = 0.0
    var operationIDs: [Int] = []
    var activityNames: [String] = []
    var activityQueues: [String] = []
    var requests: [String] = []
    var activityPriorities: [Int16] = []
    var leased: [Bool] = []
    /// Outgoing messages: target, execution ("" for the current one), kind, visible-at epoch seconds
    /// (0 for now), timer operation (-1 for none).
    var targets: [String] = []
    var executions: [String] = []
    var kinds: [String] = []
    var visibleAt: [Double] = []
    var timerOperations: [Int] = []
    var status = ""
    var version: String? = ""
    var output: String? = ""
    var failure: String? = ""
    var customStatus: String? = ""
    /// `nil` when the code waits for no event (NULL costs nothing to bind).
    var awaitedEvents: [String]? = nil
    var nodeID = ""
    var channel = ""
    var completionChannel = ""

    static let placeholder = CommitTurnStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH done AS (
            DELETE FROM activity_tasks
            WHERE \(self.completes) AND id = \(self.taskID) AND lock_epoch = \(self.taskEpoch) AND lock_owner = \(self.taskOwner)
              AND locked_until IS NOT NULL
            RETURNING instance_id, execution_id
        ), leased AS (
            SELECT id, execution_id, history_length, xmin::text AS version FROM instances
            WHERE NOT \(self.completes) AND id = \(self.instanceID) AND lock_epoch = \(self.epoch) AND lock_owner = \(self.leaseOwner)
              AND locked_until IS NOT NULL
            FOR UPDATE
        ), taken AS (
            SELECT i.id, i.execution_id, i.history_length, i.xmin::text AS version FROM instances i
            WHERE \(self.completes) AND i.id = \(self.instanceID) AND i.status IN ('pending', 'running')
              AND (i.locked_until IS NULL OR i.locked_until <= now())
              AND EXISTS (SELECT 1 FROM done d WHERE d.execution_id = i.execution_id)
              AND NOT EXISTS (SELECT 1 FROM activity_tasks t
                              WHERE t.instance_id = i.id AND t.execution_id = i.execution_id AND NOT t.cancel_requested
                                AND t.id <> \(self.taskID))
            FOR UPDATE SKIP LOCKED
        ), holder AS (
            SELECT id, execution_id, history_length, version FROM leased UNION ALL SELECT id, execution_id, history_length, version FROM taken
        ), fence AS (
            -- The new events must continue the stored history exactly.
            SELECT l.id, l.execution_id, l.version FROM holder l
            WHERE \(self.firstSequence) < 0 OR l.history_length = \(self.firstSequence)
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT i.id, i.execution_id, \(self.resultMessage) FROM done d
            JOIN instances i ON i.id = d.instance_id AND i.execution_id = d.execution_id AND i.status IN ('pending', 'running')
            WHERE NOT EXISTS (SELECT 1 FROM fence)
            RETURNING 1
        ), hist AS (
            INSERT INTO history (instance_id, execution_id, seq, event)
            SELECT f.id, f.execution_id, t.s, t.e
            FROM fence f CROSS JOIN unnest(\(self.sequenceNumbers)::int[], \(self.events)::text[]) AS t(s, e)
        ), consumed AS (
            DELETE FROM messages m USING fence f
            WHERE m.instance_id = f.id AND (\(self.terminal) OR m.id = ANY(\(self.consumedMessageIDs)::int8[]))
        ), tasks AS (
            \(activityTasksOf: self, from: "fence")
        ), outgoing AS (
            INSERT INTO messages (instance_id, execution_id, kind, visible_at, timer_operation)
            SELECT t.i, CASE WHEN t.i = f.id THEN f.execution_id ELSE NULLIF(t.x, '') END, t.k,
                   CASE WHEN t.v = 0 THEN now() ELSE to_timestamp(t.v) END, NULLIF(t.o, -1)
            FROM fence f
            CROSS JOIN unnest(\(self.targets)::text[], \(self.executions)::text[], \(self.kinds)::text[],
                              \(self.visibleAt)::float8[], \(self.timerOperations)::int[]) AS t(i, x, k, v, o)
            JOIN instances target ON target.id = t.i
            WHERE t.i = f.id OR (target.status IN ('pending', 'running') AND (t.x = '' OR t.x = target.execution_id))
            RETURNING instance_id, visible_at, visible_at <= now() AS visible
        ), readied AS (
            -- Messages to other instances make them ready, and so does an outcome queued for this
            -- one when the turn could not be committed with it.
            UPDATE instances r SET inbox_at = LEAST(r.inbox_at, now())
            -- = ANY(array), not an OR: found through the primary key whatever the planner guesses.
            WHERE r.id = ANY(ARRAY(SELECT o.instance_id FROM outgoing o WHERE o.instance_id <> \(self.instanceID)
                                   UNION ALL SELECT \(self.instanceID)::text WHERE EXISTS (SELECT 1 FROM queued)))
        ), updated AS (
            UPDATE instances i SET
                status = \(self.status),
                version = coalesce(\(self.version)::text, i.version),
                output = \(self.output)::text, failure = \(self.failure)::text, custom_status = \(self.customStatus)::text, awaited_events = \(self.awaitedEvents)::text[],
                completed_at = CASE WHEN \(self.terminal) THEN now() ELSE NULL END,
                completed_by = CASE WHEN \(self.terminal) THEN \(self.nodeID) ELSE NULL END, turn_node = \(self.nodeID),
                updated_at = now(), lock_owner = NULL, locked_until = NULL, deliveries = 0, handler_misses = 0, waiting_for = NULL, pause = NULL,
                lock_epoch = i.lock_epoch + CASE WHEN \(self.completes) THEN 1 ELSE 0 END,
                history_length = i.history_length + cardinality(\(self.sequenceNumbers)::int[]),
                -- The earliest message left: read with the statement's snapshot, so when the row
                -- changed between that snapshot and the lock (a message came in), it is ready now.
                inbox_at = CASE WHEN \(self.terminal) THEN NULL ELSE LEAST(
                    (SELECT min(m.visible_at) FROM messages m WHERE m.instance_id = f.id AND m.id <> ALL(\(self.consumedMessageIDs)::int8[])),
                    (SELECT min(o.visible_at) FROM outgoing o WHERE o.instance_id = f.id),
                    CASE WHEN f.version IS DISTINCT FROM (SELECT s.xmin::text FROM instances s WHERE s.id = f.id) THEN now() END
                ) END
            FROM fence f WHERE i.id = f.id
            -- The clock, not now(): in a group's transaction now() is when the group began, earlier
            -- than a message another transaction committed since, which this statement sees and
            -- which would then be announced by nobody (the node slept until its safety poll).
            RETURNING coalesce(i.inbox_at <= clock_timestamp(), false) AS pending
        ), wake AS (
            SELECT concat(
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE NOT leased) THEN 'a' END,
                CASE WHEN coalesce((SELECT pending FROM updated), false) OR EXISTS (SELECT 1 FROM outgoing WHERE visible)
                          OR EXISTS (SELECT 1 FROM queued) THEN 'o' END
            ) AS payload
        )
        SELECT (SELECT count(*) FROM holder)::int8 + (SELECT count(*) FROM fence)::int8,
               coalesce((SELECT array_agg(id) FROM tasks WHERE leased), '{}'),
               coalesce((SELECT array_agg(operation_id) FROM tasks WHERE leased), '{}'),
               (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), payload) FROM wake WHERE payload <> '') n)::int8
                 + (SELECT count(*) FROM (SELECT pg_notify(\(self.completionChannel), \(self.instanceID)) WHERE \(self.terminal) AND EXISTS (SELECT 1 FROM fence)) c)::int8,
               EXISTS (SELECT 1 FROM done)
        """
    }
}

extension CommitTurnStatement {
    var lockedRow: String { self.instanceID }

    /// Its own instance, unless it takes that one with `SKIP LOCKED` (`completes`), which waits for
    /// nobody, and the instances its messages go to.
    var rowsToLock: [String] {
        let others = self.targets.filter { $0 != self.instanceID }
        return self.completes ? others : [self.instanceID] + others
    }

    static func merged(_ statements: [CommitTurnStatement]) -> (any PreparedQuery)? {
        CommitTurnsStatement(statements)
    }
}

extension CommitTurnStatement: CommittedInProcedure {
    static let procedure = CommittingProcedure(Self.self, name: "commit_turn", resultTypes: ["int8", "text[]", "int4[]", "int8", "bool"])
}
