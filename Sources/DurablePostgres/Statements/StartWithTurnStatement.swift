import Durable
import PostgresNIO

/// An eager start whose first turn was computed before the instance existed, committed in one
/// statement: the instance row is inserted as the turn leaves it (its history, the activities it
/// schedules, leased to the starter up to its prefetch limit, and its timers), and the
/// `executionStarted` message the turn consumed is never written. When the id exists nothing is
/// written. Only turns whose messages all go to the instance itself (timers) take this form
/// (``PostgresProvider``'s start in one statement); the values come from the
/// ``CommitTurnStatement`` the same turn would have been committed with.
///
/// Returns one row: whether the instance was created, the leased tasks' ids and operation ids, the
/// notification count, and the database's clock.
struct StartWithTurnStatement: PreparedQuery {
    var turn = CommitTurnStatement()
    var name = ""
    /// The start's version; the turn's, when it names one, wins (as the commit's `coalesce` does).
    var version = ""
    var executionID = ""
    var input = ""
    var queue = TaskQueue.defaultName
    var priority = Priority.default

    static let placeholder = StartWithTurnStatement()
    static let sql = placeholder.query.sql

    var query: PostgresQuery {
        let turn = self.turn
        return """
        WITH created AS (
            -- Leased to nobody, as the turn's commit leaves it; lock_epoch 1 is the first claim's.
            INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority, lock_epoch,
                                   output, failure, custom_status, awaited_events, completed_at, completed_by, turn_node,
                                   history_length, inbox_at)
            SELECT \(turn.instanceID), \(self.name), coalesce(\(turn.version)::text, \(self.version)), \(self.executionID), \(turn.status),
                   \(self.input), \(self.queue), \(self.priority)::smallint, 1,
                   \(turn.output)::text, \(turn.failure)::text, \(turn.customStatus)::text, \(turn.awaitedEvents)::text[],
                   CASE WHEN \(turn.terminal) THEN now() END, CASE WHEN \(turn.terminal) THEN \(turn.nodeID) END, \(turn.nodeID),
                   cardinality(\(turn.sequenceNumbers)::int[]),
                   (SELECT min(CASE WHEN v = 0 THEN now() ELSE to_timestamp(v) END) FROM unnest(\(turn.visibleAt)::float8[]) v)
            ON CONFLICT (id) DO NOTHING
            RETURNING id, execution_id
        ), hist AS (
            INSERT INTO history (instance_id, execution_id, seq, event)
            SELECT c.id, c.execution_id, t.s, t.e
            FROM created c CROSS JOIN unnest(\(turn.sequenceNumbers)::int[], \(turn.events)::text[]) AS t(s, e)
        ), tasks AS (
            \(activityTasksOf: turn, from: "created")
        ), timers AS (
            INSERT INTO messages (instance_id, execution_id, kind, visible_at, timer_operation)
            SELECT c.id, c.execution_id, t.k, CASE WHEN t.v = 0 THEN now() ELSE to_timestamp(t.v) END, NULLIF(t.o, -1)
            FROM created c CROSS JOIN unnest(\(turn.kinds)::text[], \(turn.visibleAt)::float8[], \(turn.timerOperations)::int[]) AS t(k, v, o)
            RETURNING visible_at <= now() AS visible
        ), wake AS (
            SELECT concat(
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE NOT leased) THEN 'a' END,
                CASE WHEN EXISTS (SELECT 1 FROM timers WHERE visible) THEN 'o' END
            ) AS payload
        )
        SELECT (SELECT count(*) FROM created)::int8,
               coalesce((SELECT array_agg(id) FROM tasks WHERE leased), '{}'),
               coalesce((SELECT array_agg(operation_id) FROM tasks WHERE leased), '{}'),
               (SELECT count(*) FROM (SELECT pg_notify(\(turn.channel), payload) FROM wake WHERE payload <> '') n)::int8
                 + (SELECT count(*) FROM (SELECT pg_notify(\(turn.completionChannel), \(turn.instanceID)) WHERE \(turn.terminal) AND EXISTS (SELECT 1 FROM created)) c)::int8,
               now()
        """
    }
}

extension StartWithTurnStatement: CommittedInProcedure {
    static let procedure = CommittingProcedure(Self.self, name: "start_with_turn", resultTypes: ["int8", "text[]", "int4[]", "int8", "timestamptz"])
}
