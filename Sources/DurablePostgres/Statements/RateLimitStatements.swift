import Durable
import PostgresNIO

/// Rate limits (`rate_limits`) and the admission of activity attempts under them
/// (``RateLimitBucket``'s arithmetic, in SQL).
enum RateLimitStatements {
    static func define(_ limit: RateLimit) -> PostgresQuery {
        let intervalMilliseconds = Int64((limit.interval.seconds * 1000).rounded())
        return """
            INSERT INTO rate_limits (name, limit_count, interval_ms, burst)
            VALUES (\(limit.name), \(limit.limit), \(intervalMilliseconds), \(limit.burst))
            ON CONFLICT (name) DO UPDATE SET limit_count = excluded.limit_count, interval_ms = excluded.interval_ms, burst = excluded.burst
            """
    }

    static let list: PostgresQuery = "SELECT name, limit_count, interval_ms, burst FROM rate_limits ORDER BY name"

    static func delete(name: String) -> PostgresQuery {
        "DELETE FROM rate_limits WHERE name = \(name) RETURNING 1"
    }

    /// With the lease current, moves the bucket on by one emission interval and returns the
    /// attempt's slot: when it may start (`greatest(now, old arrival) - burst tolerance`, no earlier
    /// than now). A slot in the future hands the task back until then, marked admitted.
    /// One row: (whether the lease is current, the slot or NULL without such a limit, now).
    static func admit(_ lease: Lease, rateLimit name: String) -> PostgresQuery {
        """
        WITH current AS (
            SELECT id FROM activity_tasks
            WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
            FOR UPDATE
        ), bucket AS (
            UPDATE rate_limits
            SET theoretical_arrival = greatest(theoretical_arrival, now()) + make_interval(secs => interval_ms / 1000.0 / limit_count)
            WHERE name = \(name) AND EXISTS (SELECT 1 FROM current)
            -- The new arrival less burst emission intervals: the old arrival (or now) less the tolerance.
            RETURNING greatest(now(), theoretical_arrival - make_interval(secs => interval_ms / 1000.0 / limit_count * burst)) AS slot
        ), handed AS (
            UPDATE activity_tasks t
            SET lock_owner = NULL, locked_until = NULL, visible_at = b.slot, rate_admitted = true, deliveries = greatest(0, t.deliveries - 1)
            FROM bucket b, current c
            WHERE b.slot > now() AND t.id = c.id
            RETURNING 1
        )
        SELECT EXISTS (SELECT 1 FROM current), (SELECT slot FROM bucket), now(), (SELECT count(*) FROM handed)::int8
        """
    }
}
