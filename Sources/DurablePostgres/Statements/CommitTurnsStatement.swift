import PostgresNIO

/// Several ``CommitTurnStatement``s of different instances as one statement: what group commit runs
/// when commits arrive together, so that a group costs one round trip and one plan execution
/// instead of one of each per turn (a group of ~8 turns used to wait for ~8 round trips, during
/// which PostgreSQL and the node took turns idling, and each turn paid the executor's start-up for
/// a plan of some twenty nodes).
///
/// Each turn keeps its own fence and its own outcome: a turn whose lease or history check fails
/// writes nothing (or queues its activity outcome, with `completes`), as it would alone. Returns one
/// row per turn, in order, with the columns of ``CommitTurnStatement``.
///
/// Unlike the single statement, it locks every instance row it writes first, in id order (byte
/// order), as the completion batch does: its turns' rows, the rows of the instances their messages
/// go to, and an instance whose outcome it may queue. A turn that completes an activity therefore
/// waits for a row another transaction holds instead of skipping it (`SKIP LOCKED`); what it then
/// finds (the lease, other outstanding activities, the history length) is the row's newest version,
/// and its history fence still rejects a turn that another commit overtook.
struct CommitTurnsStatement: PreparedQuery {
    // One element per turn.
    var completes: [Bool] = []
    var taskIDs: [String] = []
    var taskEpochs: [Int64] = []
    var taskOwners: [String] = []
    var resultMessages: [String] = []
    var instanceIDs: [String] = []
    var epochs: [Int64] = []
    var leaseOwners: [String] = []
    var firstSequences: [Int] = []
    var eventCounts: [Int] = []
    var terminals: [Bool] = []
    var prefetchOwners: [String] = []
    var statuses: [String] = []
    /// Whether the turn records the version its first turn resolved (`versions` holds it).
    var hasVersions: [Bool] = []
    var versions: [String] = []
    /// JSON, or "" for NULL (no JSON text is empty).
    var outputs: [String] = []
    var failures: [String] = []
    var customStatuses: [String] = []
    /// Whether the turn waits for events (its names are in `awaitedEvents`); NULL when not.
    var awaits: [Bool] = []
    var nodeIDs: [String] = []
    // One element per event, consumed message, activity, outgoing message or awaited event, each
    // with the number (from 1) of the turn it belongs to.
    var eventTurns: [Int] = []
    var sequenceNumbers: [Int] = []
    var events: [String] = []
    var consumedTurns: [Int] = []
    var consumedMessageIDs: [Int64] = []
    var taskTurns: [Int] = []
    var operationIDs: [Int] = []
    var activityNames: [String] = []
    var activityQueues: [String] = []
    var requests: [String] = []
    var activityPriorities: [Int16] = []
    var leased: [Bool] = []
    var messageTurns: [Int] = []
    var targets: [String] = []
    var executions: [String] = []
    var kinds: [String] = []
    var visibleAt: [Double] = []
    var timerOperations: [Int] = []
    var awaitedTurns: [Int] = []
    var awaitedEvents: [String] = []
    var leaseSeconds = 0.0
    var channel = ""
    var completionChannel = ""

    static let placeholder = CommitTurnsStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        """
        WITH turn AS (
            SELECT * FROM unnest(
                \(self.completes)::bool[], \(self.taskIDs)::text[], \(self.taskEpochs)::int8[], \(self.taskOwners)::text[],
                \(self.resultMessages)::text[], \(self.instanceIDs)::text[], \(self.epochs)::int8[], \(self.leaseOwners)::text[],
                \(self.firstSequences)::int[], \(self.eventCounts)::int[], \(self.terminals)::bool[], \(self.prefetchOwners)::text[],
                \(self.statuses)::text[], \(self.hasVersions)::bool[], \(self.versions)::text[], \(self.outputs)::text[],
                \(self.failures)::text[], \(self.customStatuses)::text[], \(self.awaits)::bool[], \(self.nodeIDs)::text[]
            ) WITH ORDINALITY AS t(completes, task_id, task_epoch, task_owner, result_message, id, epoch, lease_owner,
                                   first_seq, event_count, terminal, prefetch_owner, status, has_version, started_version, output,
                                   failure, custom_status, awaits, node_id, k)
        ), outbox AS (
            SELECT * FROM unnest(\(self.messageTurns)::int8[], \(self.targets)::text[], \(self.executions)::text[],
                                 \(self.kinds)::text[], \(self.visibleAt)::float8[], \(self.timerOperations)::int[])
                AS o(k, target, execution, kind, visible, timer_operation)
        ), consumption AS (
            SELECT c.k, array_agg(c.id) AS ids FROM unnest(\(self.consumedTurns)::int8[], \(self.consumedMessageIDs)::int8[]) AS c(k, id)
            GROUP BY c.k
        ), awaiting AS (
            SELECT * FROM unnest(\(self.awaitedTurns)::int8[], \(self.awaitedEvents)::text[]) WITH ORDINALITY AS w(k, event, n)
        ), done AS (
            -- = ANY(array): through the primary key, not every leased task through the lock owner
            -- index, which the generic plan chose when joined on the turns alone.
            DELETE FROM activity_tasks a USING turn t
            WHERE a.id = ANY(\(self.taskIDs)::text[]) AND t.completes AND a.id = t.task_id AND a.lock_epoch = t.task_epoch AND a.lock_owner = t.task_owner
              AND a.locked_until IS NOT NULL
            RETURNING t.k, a.instance_id, a.execution_id
        ), locked AS (
            -- Every instance row written below, locked here first in byte order (as group commit
            -- and the completion batch lock theirs), so that no two writers wait for each other's
            -- rows in a cycle. The rows are their newest versions.
            -- = ANY(array): found through the primary key whatever the planner guesses of the CTEs.
            SELECT i.id, i.execution_id, i.status, i.history_length, i.lock_epoch, i.lock_owner, i.locked_until,
                   i.xmin::text AS row_version
            FROM instances i
            WHERE i.id = ANY(ARRAY(SELECT t.id FROM turn t UNION ALL SELECT d.instance_id FROM done d
                                   UNION ALL SELECT o.target FROM outbox o))
            ORDER BY i.id COLLATE "C"
            FOR UPDATE
        ), holder AS (
            -- A turn under a lease holds its instance while the lease is current; a turn that
            -- completes an activity takes it when its task was current, nobody holds it, and no
            -- other activity of it is outstanding.
            SELECT t.*, l.execution_id, l.history_length, l.row_version, coalesce(c.ids, '{}') AS consumed
            FROM turn t JOIN locked l ON l.id = t.id
            LEFT JOIN consumption c ON c.k = t.k
            WHERE CASE WHEN t.completes THEN
                      l.status IN ('pending', 'running') AND (l.locked_until IS NULL OR l.locked_until <= now())
                      AND EXISTS (SELECT 1 FROM done d WHERE d.k = t.k AND d.execution_id = l.execution_id)
                      AND NOT EXISTS (SELECT 1 FROM activity_tasks a
                                      WHERE a.instance_id = l.id AND a.execution_id = l.execution_id AND NOT a.cancel_requested
                                        AND a.id <> t.task_id)
                  ELSE l.lock_epoch = t.epoch AND l.lock_owner = t.lease_owner AND l.locked_until IS NOT NULL END
        ), fence AS (
            -- The new events must continue the stored history exactly.
            SELECT * FROM holder h WHERE h.first_seq < 0 OR h.history_length = h.first_seq
        ), queued AS (
            -- An activity outcome whose turn could not be committed becomes a message.
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT l.id, l.execution_id, t.result_message FROM turn t
            JOIN done d ON d.k = t.k
            JOIN locked l ON l.id = d.instance_id AND l.execution_id = d.execution_id AND l.status IN ('pending', 'running')
            WHERE NOT EXISTS (SELECT 1 FROM fence f WHERE f.k = t.k)
            RETURNING instance_id
        ), hist AS (
            INSERT INTO history (instance_id, execution_id, seq, event)
            SELECT f.id, f.execution_id, e.seq, e.event
            FROM fence f JOIN unnest(\(self.eventTurns)::int8[], \(self.sequenceNumbers)::int[], \(self.events)::text[]) AS e(k, seq, event)
              ON e.k = f.k
        ), consumed AS (
            DELETE FROM messages m USING fence f
            WHERE m.instance_id = f.id AND (f.terminal OR m.id = ANY(f.consumed))
        ), tasks AS (
            INSERT INTO activity_tasks (id, instance_id, execution_id, operation_id, name, queue, request, priority,
                                        lock_owner, lock_epoch, deliveries, locked_until, visible_at)
            SELECT f.id || '|' || f.execution_id || '|' || a.op, f.id, f.execution_id, a.op, a.name, a.queue, a.request, a.priority,
                   CASE WHEN a.leased THEN f.prefetch_owner END, CASE WHEN a.leased THEN 1 ELSE 0 END, CASE WHEN a.leased THEN 1 ELSE 0 END,
                   CASE WHEN a.leased THEN now() + make_interval(secs => \(self.leaseSeconds)) END,
                   CASE WHEN a.leased THEN now() + make_interval(secs => \(self.leaseSeconds)) ELSE now() END
            FROM fence f
            JOIN unnest(\(self.taskTurns)::int8[], \(self.operationIDs)::int[], \(self.activityNames)::text[], \(self.activityQueues)::text[],
                        \(self.requests)::text[], \(self.activityPriorities)::int2[], \(self.leased)::bool[])
                 AS a(k, op, name, queue, request, priority, leased) ON a.k = f.k
            ON CONFLICT (id) DO NOTHING
            RETURNING id, instance_id, operation_id, lock_owner IS NOT NULL AS leased
        ), outgoing AS (
            INSERT INTO messages (instance_id, execution_id, kind, visible_at, timer_operation)
            SELECT o.target, CASE WHEN o.target = f.id THEN f.execution_id ELSE NULLIF(o.execution, '') END, o.kind,
                   CASE WHEN o.visible = 0 THEN now() ELSE to_timestamp(o.visible) END, NULLIF(o.timer_operation, -1)
            FROM fence f JOIN outbox o ON o.k = f.k
            JOIN locked target ON target.id = o.target
            WHERE o.target = f.id OR (target.status IN ('pending', 'running') AND (o.execution = '' OR o.execution = target.execution_id))
            RETURNING instance_id, visible_at, visible_at <= now() AS visible
        ), readied AS (
            -- Messages to instances this statement does not commit make them ready, and so does an
            -- outcome queued for an instance when its turn could not be committed with it.
            UPDATE instances r SET inbox_at = LEAST(r.inbox_at, now())
            WHERE r.id = ANY(ARRAY(SELECT o.instance_id FROM outgoing o WHERE o.instance_id NOT IN (SELECT f.id FROM fence f)
                                   UNION ALL SELECT q.instance_id FROM queued q))
        ), updated AS (
            UPDATE instances i SET
                status = f.status,
                version = CASE WHEN f.has_version THEN f.started_version ELSE i.version END,
                output = NULLIF(f.output, ''), failure = NULLIF(f.failure, ''), custom_status = NULLIF(f.custom_status, ''),
                awaited_events = CASE WHEN f.awaits THEN (SELECT array_agg(w.event ORDER BY w.n) FROM awaiting w WHERE w.k = f.k) END,
                completed_at = CASE WHEN f.terminal THEN now() ELSE NULL END,
                completed_by = CASE WHEN f.terminal THEN f.node_id ELSE NULL END, turn_node = f.node_id,
                updated_at = now(), lock_owner = NULL, locked_until = NULL, deliveries = 0, handler_misses = 0, waiting_for = NULL, pause = NULL,
                lock_epoch = i.lock_epoch + CASE WHEN f.completes THEN 1 ELSE 0 END,
                history_length = i.history_length + f.event_count,
                -- The earliest message left (messages from this statement's other turns included),
                -- and now when the row changed after this statement's snapshot (a message came in).
                inbox_at = CASE WHEN f.terminal THEN NULL ELSE LEAST(
                    (SELECT min(m.visible_at) FROM messages m WHERE m.instance_id = f.id AND m.id <> ALL(f.consumed)),
                    (SELECT min(o.visible_at) FROM outgoing o WHERE o.instance_id = f.id),
                    CASE WHEN f.row_version IS DISTINCT FROM (SELECT s.xmin::text FROM instances s WHERE s.id = f.id) THEN now() END
                ) END
            FROM fence f WHERE i.id = f.id
            -- The clock, not now(), as in the single statement.
            RETURNING coalesce(i.inbox_at <= clock_timestamp(), false) AS pending
        ), wake AS (
            SELECT concat(
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE NOT leased) THEN 'a' END,
                CASE WHEN EXISTS (SELECT 1 FROM updated WHERE pending) OR EXISTS (SELECT 1 FROM outgoing WHERE visible)
                          OR EXISTS (SELECT 1 FROM queued) THEN 'o' END
            ) AS payload
        ), notified AS (
            SELECT (SELECT count(*) FROM (SELECT pg_notify(\(self.channel), payload) FROM wake WHERE payload <> '') n)::int8
                 + (SELECT count(*) FROM (SELECT pg_notify(\(self.completionChannel), f.id) FROM fence f WHERE f.terminal) c)::int8 AS count
        ), prefetched AS (
            SELECT a.instance_id, array_agg(a.id ORDER BY a.operation_id) AS ids, array_agg(a.operation_id ORDER BY a.operation_id) AS operations
            FROM tasks a WHERE a.leased GROUP BY a.instance_id
        )
        -- Joined, not a subquery per turn: that read every new task once per turn.
        SELECT (CASE WHEN h.k IS NULL THEN 0 ELSE 1 END + CASE WHEN f.k IS NULL THEN 0 ELSE 1 END)::int8, coalesce(p.ids, '{}'), coalesce(p.operations, '{}'),
               (SELECT n.count FROM notified n), d.k IS NOT NULL
        FROM turn t
        LEFT JOIN holder h ON h.k = t.k
        LEFT JOIN fence f ON f.k = t.k
        LEFT JOIN prefetched p ON p.instance_id = t.id
        LEFT JOIN done d ON d.k = t.k
        ORDER BY t.k
        """
    }
}

extension CommitTurnsStatement {
    /// The turns of `statements` as one statement; nil when two of them commit the same instance
    /// (a statement writes a row once) or they notify on different channels.
    init?(_ statements: [CommitTurnStatement]) {
        guard let first = statements.first,
              Set(statements.map(\.instanceID)).count == statements.count,
              statements.allSatisfy({ $0.channel == first.channel && $0.completionChannel == first.completionChannel && $0.leaseSeconds == first.leaseSeconds })
        else { return nil }
        self.leaseSeconds = first.leaseSeconds
        self.channel = first.channel
        self.completionChannel = first.completionChannel
        for (index, turn) in statements.enumerated() {
            let k = index + 1
            self.completes.append(turn.completes)
            self.taskIDs.append(turn.taskID)
            self.taskEpochs.append(turn.taskEpoch)
            self.taskOwners.append(turn.taskOwner)
            self.resultMessages.append(turn.resultMessage)
            self.instanceIDs.append(turn.instanceID)
            self.epochs.append(turn.epoch)
            self.leaseOwners.append(turn.leaseOwner)
            self.firstSequences.append(turn.firstSequence)
            self.eventCounts.append(turn.sequenceNumbers.count)
            self.terminals.append(turn.terminal)
            self.prefetchOwners.append(turn.prefetchOwner)
            self.statuses.append(turn.status)
            self.hasVersions.append(turn.version != nil)
            self.versions.append(turn.version ?? "")
            self.outputs.append(turn.output ?? "")
            self.failures.append(turn.failure ?? "")
            self.customStatuses.append(turn.customStatus ?? "")
            self.awaits.append(turn.awaitedEvents != nil)
            self.nodeIDs.append(turn.nodeID)
            self.eventTurns += Array(repeating: k, count: turn.sequenceNumbers.count)
            self.sequenceNumbers += turn.sequenceNumbers
            self.events += turn.events
            self.consumedTurns += Array(repeating: k, count: turn.consumedMessageIDs.count)
            self.consumedMessageIDs += turn.consumedMessageIDs
            self.taskTurns += Array(repeating: k, count: turn.operationIDs.count)
            self.operationIDs += turn.operationIDs
            self.activityNames += turn.activityNames
            self.activityQueues += turn.activityQueues
            self.requests += turn.requests
            self.activityPriorities += turn.activityPriorities
            self.leased += turn.leased
            self.messageTurns += Array(repeating: k, count: turn.targets.count)
            self.targets += turn.targets
            self.executions += turn.executions
            self.kinds += turn.kinds
            self.visibleAt += turn.visibleAt
            self.timerOperations += turn.timerOperations
            self.awaitedTurns += Array(repeating: k, count: turn.awaitedEvents?.count ?? 0)
            self.awaitedEvents += turn.awaitedEvents ?? []
        }
    }
}
