import Durable
import Foundation
import PostgresNIO

/// The statements of a reset, run in one transaction after ``read(_:)`` locked the row (see
/// ``ResetPlanner`` for what the plan holds and why).
enum ResetStatements {
    /// The instance's current execution, locked, its history and the transaction's time.
    static func read(_ id: String) -> PostgresQuery {
        """
        SELECT i.execution_id,
               coalesce((SELECT array_agg(h.event ORDER BY h.seq) FROM history h
                         WHERE h.instance_id = i.id AND h.execution_id = i.execution_id), '{}') AS history,
               now()
        FROM instances i WHERE i.id = \(id) FOR UPDATE
        """
    }

    /// Ends the old execution: its last event; its timers and results go, its idle tasks go, its
    /// running ones are asked to cancel.
    static func endExecution(_ id: String, _ old: String, sequence: Int, event: String) -> PostgresQuery {
        """
        WITH ended AS (
            INSERT INTO history (instance_id, execution_id, seq, event) VALUES (\(id), \(old), \(sequence), \(event))
        ), dropped AS (
            DELETE FROM messages WHERE instance_id = \(id) AND execution_id = \(old)
        ), idle AS (
            DELETE FROM activity_tasks WHERE instance_id = \(id) AND execution_id = \(old)
              AND (locked_until IS NULL OR locked_until <= now()) RETURNING id
        )
        UPDATE activity_tasks SET cancel_requested = true
        WHERE instance_id = \(id) AND execution_id = \(old) AND id NOT IN (SELECT id FROM idle)
        """
    }

    /// Takes the messages waiting for whatever execution is current (raised events, cancellations),
    /// to queue them again after the plan's: the new start and the injected event come first.
    static func takeWaiting(_ id: String) -> PostgresQuery {
        """
        DELETE FROM messages WHERE instance_id = \(id) AND execution_id IS NULL AND visible_at <= now() AND timer_operation IS NULL
        RETURNING id, kind
        """
    }

    /// Starts the new execution: its history, tasks, timers and messages (the plan's, then
    /// `waiting`), and the instance row.
    static func startExecution(_ id: String, _ execution: String, plan: ResetPlan, waiting: [String]) throws(DurableError) -> PostgresQuery {
        let events = try plan.history.map { event throws(DurableError) in try DurableJSON.encode(event) }
        let requests = try plan.activities.map { request throws(DurableError) in try DurableJSON.encode(request) }
        let timerKinds = try plan.timers.map { timer throws(DurableError) in try DurableJSON.encode(HistoryEvent.Kind.timerFired(operationID: timer.operationID)) }
        let messages = try plan.messages.map { kind throws(DurableError) in try DurableJSON.encode(kind) } + waiting
        let starts = plan.messages.map { if case .executionStarted = $0 { true } else { false } } + waiting.map { _ in false }
        let status = plan.history.isEmpty ? "pending" : "running"
        return """
            WITH events AS (
                INSERT INTO history (instance_id, execution_id, seq, event)
                SELECT \(id), \(execution), t.s, t.e FROM unnest(\(plan.history.map(\.sequenceNumber))::int[], \(events)::text[]) AS t(s, e)
            ), tasks AS (
                INSERT INTO activity_tasks (id, instance_id, execution_id, operation_id, name, queue, request, priority)
                SELECT \(id) || '|' || \(execution) || '|' || t.op, \(id), \(execution), t.op, t.n, t.q, t.r, t.p
                FROM unnest(\(plan.activities.map(\.operationID))::int[], \(plan.activities.map(\.name))::text[],
                            \(plan.activities.map(\.queueName))::text[], \(requests)::text[],
                            \(plan.activities.map(\.priorityColumn))::int2[]) AS t(op, n, q, r, p)
            ), timers AS (
                INSERT INTO messages (instance_id, execution_id, kind, visible_at, timer_operation)
                SELECT \(id), \(execution), t.k, t.v, t.op
                FROM unnest(\(plan.timers.map(\.operationID))::int[], \(timerKinds)::text[], \(plan.timers.map(\.fireAt))::timestamptz[]) AS t(op, k, v)
            ), queued AS (
                INSERT INTO messages (instance_id, execution_id, kind)
                SELECT \(id), CASE WHEN t.s THEN \(execution) END, t.k
                FROM unnest(\(messages)::text[], \(starts)::bool[]) WITH ORDINALITY AS t(k, s, n) ORDER BY t.n
            )
            UPDATE instances SET execution_id = \(execution), version = \(plan.start.version), status = \(status),
                output = NULL, failure = NULL, completed_at = NULL, completed_by = NULL, waiting_for = NULL,
                lock_owner = NULL, lock_epoch = lock_epoch + 1, deliveries = 0, handler_misses = 0,
                -- A pause stays: it holds the new execution as it held the old one.
                locked_until = CASE WHEN pause IS NOT NULL THEN locked_until END,
                history_length = \(plan.history.count), updated_at = now(),
                inbox_at = LEAST(
                    (SELECT min(m.visible_at) FROM messages m WHERE m.instance_id = \(id) AND m.execution_id IS NULL),
                    CASE WHEN \(messages.count) > 0 THEN now() END,
                    (SELECT min(t.v) FROM unnest(\(plan.timers.map(\.fireAt))::timestamptz[]) AS t(v)))
            WHERE id = \(id)
            """
    }

    /// Cancels the children the old execution started after the reset point.
    static func cancelChildren(_ children: [String], kind: String) -> PostgresQuery {
        """
        WITH queued AS (
            INSERT INTO messages (instance_id, kind)
            SELECT c.id, \(kind) FROM instances c WHERE c.id = ANY(\(children)::text[]) AND c.status IN ('pending', 'running')
            RETURNING instance_id
        )
        UPDATE instances SET inbox_at = LEAST(inbox_at, now()) WHERE id IN (SELECT instance_id FROM queued)
        """
    }

    static func notify(_ channel: String) -> PostgresQuery {
        "SELECT pg_notify(\(channel), 'oa')"
    }
}
