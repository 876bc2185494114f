import PostgresNIO

/// Topic subscriptions (`subscriptions`) and publications to them.
enum TopicStatements {
    /// Applies a turn's subscribe (`true`) and unsubscribe (`false`) actions, in their order.
    static func write(instanceID: String, executionID: String, patterns: [String], subscribe: [Bool]) -> PostgresQuery {
        """
        WITH actions AS (
            SELECT p, s, row_number() OVER () AS n FROM unnest(\(patterns)::text[], \(subscribe)::bool[]) AS t(p, s)
        ), last AS (
            -- The last action per pattern decides.
            SELECT DISTINCT ON (p) p, s FROM actions ORDER BY p, n DESC
        ), added AS (
            INSERT INTO subscriptions (pattern, instance_id, execution_id)
            SELECT p, \(instanceID), \(executionID) FROM last WHERE s
            ON CONFLICT DO NOTHING
        )
        DELETE FROM subscriptions USING last
        WHERE NOT last.s AND subscriptions.pattern = last.p AND subscriptions.instance_id = \(instanceID)
          AND subscriptions.execution_id = \(executionID)
        """
    }

    /// Delivers `kindPrefix || pattern || kindSuffix` (the `eventRaised` of each subscription's
    /// pattern) to the running executions subscribed to one of `candidates`, marks them ready and
    /// notifies; drops the subscriptions of ended executions it meets. Returns the deliveries.
    static func publish(candidates: [String], envelope: String, channel: String) -> PostgresQuery {
        """
        WITH matched AS (
            SELECT s.pattern, s.instance_id, s.execution_id, (i.id IS NOT NULL) AS live
            FROM subscriptions s
            LEFT JOIN instances i ON i.id = s.instance_id AND i.execution_id = s.execution_id AND i.status IN ('pending', 'running')
            WHERE s.pattern = ANY(\(candidates)::text[])
        ), dropped AS (
            DELETE FROM subscriptions s USING matched m
            WHERE NOT m.live AND s.pattern = m.pattern AND s.instance_id = m.instance_id AND s.execution_id = m.execution_id
        ), delivered AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT m.instance_id, m.execution_id,
                   json_build_object('eventRaised', json_build_object('input', \(envelope)::text, 'name', 'topic ' || m.pattern))::text
            FROM matched m WHERE m.live
            RETURNING instance_id
        ), readied AS (
            UPDATE instances SET inbox_at = LEAST(inbox_at, now())
            WHERE id = ANY(ARRAY(SELECT DISTINCT instance_id FROM delivered))
        )
        SELECT count(*)::int8, CASE WHEN count(*) > 0 THEN pg_notify(\(channel), 'o') END::text FROM delivered
        """
    }
}
