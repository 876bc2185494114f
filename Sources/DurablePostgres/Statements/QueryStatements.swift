import Durable
import Foundation
import PostgresNIO

/// The statements of queries (``DurableQueries``): a request row per query, answered in place.
enum QueryStatements {
    /// A hint longer than this leaves the input (or the answer) out: a NOTIFY payload holds less
    /// than 8,000 bytes, and the node (or the client) reads the row instead.
    static let inlineLimit = 6_000

    /// Deletes expired queries, records this one against the instance's current execution and
    /// notifies the nodes with the request and its target; no row for an unknown instance.
    static func submit(id: String, instanceID: String, name: String, input: String, expiresAfter: Double, channel: String) -> PostgresQuery {
        """
        WITH expired AS (
            DELETE FROM queries WHERE expires_at < now()
        ), target AS (
            SELECT id, name, version, execution_id, status, history_length, turn_node FROM instances WHERE id = \(instanceID)
        ), recorded AS (
            INSERT INTO queries (id, instance_id, name, input, expires_at)
            SELECT \(id), t.id, \(name), \(input), now() + make_interval(secs => \(expiresAfter)) FROM target t
            ON CONFLICT (id) DO NOTHING
        )
        SELECT t.name, t.version, t.execution_id, t.status, t.history_length, t.turn_node,
               pg_notify(\(channel), 'q' || json_build_object(
                   'id', \(id)::text, 'instance', t.id, 'name', \(name)::text,
                   'input', CASE WHEN octet_length(\(input)::text) <= \(Self.inlineLimit) THEN \(input)::text END,
                   'target', json_build_object('name', t.name, 'version', t.version, 'execution', t.execution_id,
                                               'length', t.history_length, 'status', t.status, 'node', t.turn_node))::text),
               \(unescaped: Self.asynchronousCommit)
        FROM target t
        """
    }

    /// A query needs no durability (after a crash its client asks again), so its statements commit
    /// without waiting for the WAL flush: set for the statement's own transaction only.
    static let asynchronousCommit = "set_config('synchronous_commit', 'off', true)"

    /// The columns a node needs to answer: the request and its target as stored now.
    static let requestColumns = "q.id, q.instance_id, q.name, q.input, i.name, i.version, i.execution_id, i.status, i.history_length, i.turn_node"

    /// An unanswered query with its target, for a hint that left its input out.
    static func read(id: String) -> PostgresQuery {
        "SELECT \(unescaped: Self.requestColumns) FROM queries q JOIN instances i ON i.id = q.instance_id WHERE q.id = \(id) AND q.answer IS NULL"
    }

    static func claim(id: String, owner: String, seconds: Double) -> PostgresQuery {
        """
        UPDATE queries SET claimed_by = \(owner), claimed_until = now() + make_interval(secs => \(seconds))
        WHERE id = \(id) AND answer IS NULL AND expires_at > now() AND (claimed_until IS NULL OR claimed_until <= now())
        RETURNING 1
        """
    }

    /// Claims the oldest unanswered queries older than `olderThan` seconds whose orchestration is
    /// one of `pairs` (name, unit separator, version; `nil`: any), walking the unanswered index.
    static func claimOlder(owner: String, pairs: [String]?, olderThan: Double, limit: Int, seconds: Double) -> PostgresQuery {
        """
        WITH due AS (
            SELECT q.id FROM queries q JOIN instances i ON i.id = q.instance_id
            WHERE q.answer IS NULL AND q.expires_at > now() AND q.created_at <= now() - make_interval(secs => \(olderThan))
              AND (q.claimed_until IS NULL OR q.claimed_until <= now())
              AND (\(pairs == nil) OR i.name || chr(31) || i.version = ANY(\(pairs ?? [])::text[]))
            ORDER BY q.created_at LIMIT \(limit)
            FOR UPDATE OF q SKIP LOCKED
        ), claimed AS (
            UPDATE queries q SET claimed_by = \(owner), claimed_until = now() + make_interval(secs => \(seconds))
            FROM due WHERE q.id = due.id
            RETURNING q.id, q.instance_id, q.name, q.input
        )
        SELECT \(unescaped: Self.requestColumns) FROM claimed q JOIN instances i ON i.id = q.instance_id
        """
    }

    /// Records the first answer and hints the client: on the completions channel, a payload that
    /// starts with a unit separator (never in an instance id), with the answer when it fits.
    static func answer(id: String, answer: String, channel: String) -> PostgresQuery {
        """
        WITH answered AS (
            UPDATE queries SET answer = \(answer) WHERE id = \(id) AND answer IS NULL AND expires_at > now() RETURNING id
        )
        SELECT pg_notify(\(channel), chr(31) || json_build_object(
                   'id', \(id)::text, 'answer', CASE WHEN octet_length(\(answer)::text) <= \(Self.inlineLimit) THEN \(answer)::text END)::text),
               \(unescaped: Self.asynchronousCommit)
        FROM answered
        """
    }

    static func readAnswer(id: String) -> PostgresQuery {
        "SELECT answer FROM queries WHERE id = \(id) AND expires_at > now()"
    }
}
