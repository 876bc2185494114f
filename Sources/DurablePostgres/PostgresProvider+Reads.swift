public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    public func instance(id: String) async throws -> InstanceInfo? {
        try await self.withRetry("reading instance '\(id)'", statement: "read_instance", deadline: .seconds(10)) {
            try await self.read(ReadInstanceStatement(id: id)).first.map { try Self.instanceInfo($0.makeRandomAccess()) }
        }
    }

    public func history(instanceID: String) async throws -> [HistoryEvent] {
        try await self.withRetry("reading the history of '\(instanceID)'", statement: "read_history", deadline: .seconds(30)) {
            let rows = try await self.client.query(
                """
                SELECT i.id IS NOT NULL, h.event FROM (SELECT \(instanceID)::text AS id) wanted
                LEFT JOIN instances i ON i.id = wanted.id
                LEFT JOIN history h ON h.instance_id = i.id AND h.execution_id = i.execution_id
                ORDER BY h.seq
                """,
                logger: self.logger
            )
            var events: [HistoryEvent] = []
            var found = false
            for try await (exists, event) in rows.decode((Bool, String?).self) {
                found = exists
                if let event { events.append(try DurableJSON.decode(HistoryEvent.self, from: event)) }
            }
            guard found else { throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID) }
            return events
        }
    }

    public func activities(instanceID: String) async throws -> [ActivityTaskInfo] {
        let rows = try await self.withRetry("reading the activities of '\(instanceID)'", statement: "read_activities", deadline: .seconds(30)) {
            try await self.client.query(
                """
                SELECT t.operation_id, t.name, t.request, t.attempt, t.visible_at,
                       CASE WHEN t.locked_until > now() THEN t.lock_owner END, t.cancel_requested, t.last_error, t.heartbeat, t.heartbeat_at, t.queue
                FROM activity_tasks t JOIN instances i ON i.id = t.instance_id AND i.execution_id = t.execution_id
                WHERE t.instance_id = \(instanceID)
                ORDER BY t.operation_id
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.map { row in
            let (operation, name, request, attempt, visibleAt, owner, cancelled, lastError, heartbeat, heartbeatAt, queue) =
                try row.decode((Int, String, String, Int, Date, String?, Bool, String?, String?, Date?, String).self)
            return ActivityTaskInfo(
                operationID: operation, name: name, attempt: attempt,
                maxAttempts: (try? DurableJSON.decode(ActivityRequest.self, from: request))?.retry.maxAttempts ?? 1,
                visibleAt: visibleAt, leaseOwner: owner, cancelRequested: cancelled,
                lastError: try lastError.map { try DurableJSON.decode(FailureDetails.self, from: $0) },
                heartbeat: heartbeat.map(Payload.init(json:)), heartbeatAt: heartbeatAt, queue: queue
            )
        }
    }

    public func listInstances(_ query: InstanceQuery) async throws -> InstancePage {
        guard query.limit > 0, query.limit <= 10_000 else {
            throw DurableError(.invalidInput, "a page holds 1 to 10,000 instances, not \(query.limit)")
        }
        let statuses = query.statuses.map { $0.map(\.rawValue) }
        return try await self.transaction("listing instances", statement: "list_instances", deadline: .seconds(30), customPlans: true) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.instanceColumns("i")) FROM instances i
                WHERE (\(statuses)::text[] IS NULL OR i.status = ANY(\(statuses)::text[]))
                  AND (\(query.name)::text IS NULL OR i.name = \(query.name))
                  AND (\(query.cursor)::text IS NULL OR i.id > \(query.cursor))
                  AND (\(query.updatedSince)::timestamptz IS NULL OR i.updated_at >= \(query.updatedSince))
                  AND (\(query.version)::text IS NULL OR i.version = \(query.version))
                  AND (\(query.createdAfter)::timestamptz IS NULL OR i.created_at >= \(query.createdAfter))
                  AND (\(query.createdBefore)::timestamptz IS NULL OR i.created_at < \(query.createdBefore))
                  AND (\(query.completedAfter)::timestamptz IS NULL OR i.completed_at >= \(query.completedAfter))
                  AND (\(query.completedBefore)::timestamptz IS NULL OR i.completed_at < \(query.completedBefore))
                  AND (\(query.customStatusJSONPrefix)::text IS NULL OR starts_with(i.custom_status, \(query.customStatusJSONPrefix)))
                  AND (\(query.parentInstanceID)::text IS NULL OR i.parent_instance = \(query.parentInstanceID))
                ORDER BY i.id
                LIMIT \(query.limit + 1)
                """,
                logger: self.logger
            )
            var instances: [InstanceInfo] = []
            for try await row in rows { instances.append(try Self.instanceInfo(row.makeRandomAccess())) }
            let more = instances.count > query.limit
            if more { instances.removeLast() }
            return InstancePage(instances: instances, nextCursor: more ? instances.last?.id : nil)
        }
    }

    public func purgeInstances(_ query: PurgeQuery) async throws -> Int {
        let statuses = query.statuses.filter(\.isTerminal).map(\.rawValue)
        return try await self.transaction("purging instances", statement: "purge_instances", deadline: .seconds(60), customPlans: true) { connection in
            let rows = try await connection.query(
                """
                WITH gone AS (
                    DELETE FROM instances
                    WHERE status = ANY(\(statuses)::text[])
                      AND (\(query.instanceIDs)::text[] IS NULL OR id = ANY(\(query.instanceIDs)::text[]))
                      AND (\(query.completedBefore)::timestamptz IS NULL OR completed_at < \(query.completedBefore))
                    RETURNING id
                ), h AS (
                    DELETE FROM history WHERE instance_id IN (SELECT id FROM gone)
                ), m AS (
                    DELETE FROM messages WHERE instance_id IN (SELECT id FROM gone)
                ), t AS (
                    DELETE FROM activity_tasks WHERE instance_id IN (SELECT id FROM gone)
                )
                SELECT count(*)::int8 FROM gone
                """,
                logger: self.logger
            )
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    public func queueDepths() async throws -> QueueDepths {
        try await self.withRetry("reading queue depths", statement: "queue_depths", deadline: .seconds(30)) {
            let rows = try await self.client.query(
                """
                SELECT
                    (SELECT count(*) FROM messages WHERE visible_at <= now())::int8,
                    (SELECT count(*) FROM messages WHERE visible_at > now())::int8,
                    (SELECT count(*) FROM activity_tasks WHERE visible_at <= now() AND NOT cancel_requested)::int8,
                    (SELECT count(*) FROM activity_tasks WHERE visible_at > now() AND locked_until IS NULL)::int8,
                    (SELECT count(*) FROM activity_tasks WHERE locked_until > now())::int8,
                    coalesce((SELECT array_agg(queue || '=' || ready) FROM (
                        SELECT queue, count(*) AS ready FROM activity_tasks WHERE visible_at <= now() AND NOT cancel_requested GROUP BY queue
                    ) q), '{}')
                """,
                logger: self.logger
            )
            for try await (ready, delayed, readyTasks, delayedTasks, running, byQueue) in rows.decode((Int64, Int64, Int64, Int64, Int64, [String]).self) {
                return QueueDepths(
                    readyMessages: Int(ready),
                    delayedMessages: Int(delayed),
                    readyActivities: Int(readyTasks),
                    delayedActivities: Int(delayedTasks),
                    runningActivities: Int(running),
                    readyActivitiesByQueue: Dictionary(
                        byQueue.compactMap { entry in
                            entry.lastIndex(of: "=").flatMap { at in Int(entry[entry.index(after: at)...]).map { (String(entry[..<at]), $0) } }
                        },
                        uniquingKeysWith: +
                    )
                )
            }
            throw DurableError(.storage, "reading queue depths returned no row")
        }
    }
}
