public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    public func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem> {
        let names = request.capabilities?.activities
        let owner = request.owner
        let stale = request.staleNodeAfter.map(\.seconds)
        return try await self.withRetry("claiming activities") {
            // visible_at moves to the end of the lease, so "visible now" also covers expired leases.
            let rows = try await self.client.query(
                """
                WITH garbage AS (
                    -- Cancelled tasks whose lease ran out: the orchestration moved on.
                    DELETE FROM activity_tasks WHERE cancel_requested AND visible_at <= now()
                ), candidates AS (
                    SELECT id FROM activity_tasks t
                    WHERE NOT cancel_requested
                      AND (\(names)::text[] IS NULL OR name = ANY(\(names)::text[]))
                      AND (visible_at <= now()
                           OR (\(stale)::float8 IS NOT NULL AND locked_until > now() AND EXISTS (
                               SELECT 1 FROM nodes n WHERE n.id = split_part(t.lock_owner, '#', 1)
                                 AND (n.incarnation <> split_part(t.lock_owner, '#', 2) OR n.stopped_at IS NOT NULL
                                      OR n.heartbeat_at <= now() - make_interval(secs => \(stale))))))
                    -- Orphans (still leased by a silent node) first: they are the oldest work.
                    ORDER BY visible_at > now() DESC, visible_at, seq
                    LIMIT \(request.limit)
                    FOR UPDATE SKIP LOCKED
                ), claimed AS (
                    UPDATE activity_tasks t
                    SET lock_owner = \(request.owner), lock_epoch = t.lock_epoch + 1, deliveries = t.deliveries + 1,
                        locked_until = now() + make_interval(secs => \(self.leaseSeconds)),
                        visible_at = now() + make_interval(secs => \(self.leaseSeconds))
                    FROM candidates c WHERE t.id = c.id
                    RETURNING t.id, t.instance_id, t.execution_id, t.request, t.attempt, t.deliveries, t.lock_epoch, t.handler_misses
                )
                -- visible_at moves to the end of the lease, so "visible now" also covers expired
                -- leases; one row with only the next due time when nothing was claimed.
                SELECT c.id, c.instance_id, c.execution_id, c.request, c.attempt, c.deliveries, c.lock_epoch, c.handler_misses,
                       EXTRACT(EPOCH FROM ((SELECT min(visible_at) FROM activity_tasks WHERE visible_at > now()) - now()))::float8
                FROM (SELECT 1) one LEFT JOIN claimed c ON true
                """,
                logger: self.logger
            )
            var items: [ActivityWorkItem] = []
            var nextVisible: Double?
            for try await (id, instanceID, executionID, requestJSON, attempt, deliveries, epoch, misses, next)
                in rows.decode((String?, String?, String?, String?, Int?, Int?, Int64?, Int?, Double?).self)
            {
                nextVisible = next
                guard let id, let instanceID, let executionID, let requestJSON, let attempt, let deliveries, let epoch, let misses else { continue }
                items.append(
                    ActivityWorkItem(
                        lease: Lease(id: id, owner: owner, epoch: epoch),
                        instanceID: instanceID,
                        executionID: executionID,
                        request: try DurableJSON.decode(ActivityRequest.self, from: requestJSON),
                        attempt: attempt,
                        deliveryCount: deliveries,
                        handlerMisses: misses
                    )
                )
            }
            return ClaimResult(
                items: items,
                nextVisibleIn: items.isEmpty ? nextVisible.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) } : nil
            )
        }
    }

    public func completeActivities(_ completions: [ActivityCompletion]) async throws -> Set<Lease> {
        var lost: Set<Lease> = []
        var batch: [(lease: Lease, kind: String)] = []
        for completion in completions {
            if case .completed(let output) = completion.outcome {
                try ProviderValidation.payload(output, limit: self.configuration.maxPayloadBytes, what: "the activity output", instanceID: completion.lease.id)
            }
            // The task id is "<instance>|<execution>|<operation>" (Self.taskID): the message can be
            // written without reading the task first, and the whole batch is one statement.
            guard let operationID = completion.lease.id.split(separator: "|").last.flatMap({ Int($0) }) else {
                lost.insert(completion.lease)
                continue
            }
            let message: HistoryEvent.Kind =
                switch completion.outcome {
                case .completed(let output): .activityCompleted(operationID: operationID, result: output)
                case .failed(let failure): .activityFailed(operationID: operationID, failure: failure)
                }
            batch.append((completion.lease, try DurableJSON.encode(message)))
        }
        guard !batch.isEmpty else { return lost }
        let completed: Set<String> = try await self.withRetry("completing \(batch.count) activities") {
            let rows = try await self.client.query(
                """
                WITH input AS (
                    SELECT * FROM unnest(\(batch.map(\.lease.id))::text[], \(batch.map(\.lease.epoch))::int8[],
                                         \(batch.map(\.lease.owner))::text[], \(batch.map(\.kind))::text[]) AS t(id, epoch, owner, kind)
                ), done AS (
                    DELETE FROM activity_tasks a USING input x
                    WHERE a.id = x.id AND a.lock_epoch = x.epoch AND a.lock_owner = x.owner AND a.locked_until IS NOT NULL
                    RETURNING a.id, a.instance_id, a.execution_id, x.kind
                ), queued AS (
                    INSERT INTO messages (instance_id, execution_id, kind)
                    SELECT i.id, i.execution_id, d.kind FROM done d
                    JOIN instances i ON i.id = d.instance_id AND i.execution_id = d.execution_id AND i.status IN ('pending', 'running')
                    RETURNING 1
                )
                SELECT coalesce((SELECT array_agg(id) FROM done), '{}'),
                       (SELECT count(*) FROM (SELECT pg_notify(\(self.configuration.channel), 'o') FROM (SELECT 1 FROM queued LIMIT 1) q) n)::int8
                """,
                logger: self.logger
            ).collect()
            return Set(try rows[0].decode(([String], Int64).self).0)
        }
        for entry in batch where !completed.contains(entry.lease.id) { lost.insert(entry.lease) }
        return lost
    }

    public func abandonActivity(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let retry = reason == .retry ? 1 : 0
        let release = reason == .retry ? 0 : 1
        let miss: Int = if case .missingHandler = reason { 1 } else { 0 }
        try await self.withRetry("abandoning activity \(lease)") {
            let rows = try await self.client.query(
                """
                WITH released AS (
                    UPDATE activity_tasks SET lock_owner = NULL, locked_until = NULL,
                        visible_at = now() + make_interval(secs => \(seconds)),
                        attempt = attempt + \(retry), deliveries = greatest(0, deliveries - \(release)),
                        handler_misses = handler_misses + \(miss)
                    WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM released)::int8,
                       (SELECT count(*) FROM (SELECT pg_notify(\(self.configuration.channel), 'a') FROM released) n)::int8
                """,
                logger: self.logger
            )
            for try await (released, _) in rows.decode((Int64, Int64).self) where released == 1 { return }
            throw Self.leaseLost(lease, what: "activity")
        }
    }

    public func renewActivity(_ lease: Lease) async throws -> Bool {
        try await self.withRetry("renewing activity \(lease)") {
            let rows = try await self.client.query(
                """
                UPDATE activity_tasks
                SET locked_until = now() + make_interval(secs => \(self.leaseSeconds)), visible_at = now() + make_interval(secs => \(self.leaseSeconds))
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING cancel_requested
                """,
                logger: self.logger
            )
            for try await cancelRequested in rows.decode(Bool.self) { return cancelRequested }
            throw Self.leaseLost(lease, what: "activity")
        }
    }
}
