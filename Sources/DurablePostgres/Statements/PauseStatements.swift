import Durable
import Foundation
import PostgresNIO

/// The statements of pause and resume, run in one transaction after ``read(_:)`` locked the row
/// (see ``PauseStateMachine`` for what each does and why).
enum PauseStatements {
    /// A pause's deadline message: `timer_operation` marks it, as timers are marked by operation.
    static let deadlineOperation = -1
    /// The hold of a pause without a deadline: far in the future, but finite, so that the claim's
    /// next due time stays computable.
    static let indefinitely = "9999-01-01 00:00:00+00"

    /// The instance's state for the state machine, and the transaction's time; locks the row.
    static func read(_ id: String) -> PostgresQuery {
        """
        SELECT status, pause, lock_owner IS NOT NULL AND locked_until > now() AS leased, now()
        FROM instances WHERE id = \(id) FOR UPDATE
        """
    }

    static func pause(_ id: String, record: String, until: Date?, releaseDelivery: Bool, paused: String, resumed: String?) -> PostgresQuery {
        let release = releaseDelivery ? 1 : 0
        return """
            WITH queued AS (
                INSERT INTO messages (instance_id, kind, visible_at, timer_operation)
                SELECT \(id), \(paused), now(), NULL
                UNION ALL SELECT \(id), \(resumed)::text, \(until)::timestamptz, \(Self.deadlineOperation)::int4 WHERE \(resumed)::text IS NOT NULL
            )
            UPDATE instances SET pause = \(record), lock_owner = NULL, lock_epoch = lock_epoch + 1,
                locked_until = coalesce(\(until)::timestamptz, \(Self.indefinitely)::timestamptz),
                deliveries = greatest(0, deliveries - \(release)), inbox_at = LEAST(inbox_at, now()), updated_at = now()
            WHERE id = \(id)
            """
    }

    static func resume(_ id: String, resumed: String, channel: String) -> PostgresQuery {
        """
        WITH dropped AS (
            DELETE FROM messages WHERE instance_id = \(id) AND execution_id IS NULL AND timer_operation = \(Self.deadlineOperation)
        ), queued AS (
            INSERT INTO messages (instance_id, kind) VALUES (\(id), \(resumed))
        ), resumed AS (
            UPDATE instances SET pause = NULL, locked_until = NULL, lock_epoch = lock_epoch + 1,
                inbox_at = LEAST(inbox_at, now()), updated_at = now()
            WHERE id = \(id)
        )
        SELECT pg_notify(\(channel), 'o')
        """
    }
}
