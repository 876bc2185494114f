public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    static func taskID(_ instanceID: String, _ executionID: String, _ operationID: Int) -> String {
        "\(instanceID)|\(executionID)|\(operationID)"
    }

    /// The answer to a cancellation the code waits for, when the activity had not started.
    static func cancelledBeforeStart(_ instanceID: String, _ executionID: String, _ operationID: Int) -> OutgoingMessage {
        let failure = FailureDetails(DurableError(.cancelled, "cancelled before it started", instanceID: instanceID))
        return OutgoingMessage(instanceID: instanceID, executionID: executionID, kind: .activityFailed(operationID: operationID, failure: failure))
    }

    public func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem> {
        let names = request.capabilities?.activities
        let owner = request.owner
        let stale = request.orphanStaleness.map(\.seconds)
        return try await self.withRetry("claiming activities", statement: "claim_activities") {
            // visible_at moves to the end of the lease, so "visible now" also covers expired leases.
            // A claim that leased nothing needs no confirmation: nothing runs on its word (a
            // session it took over from a dead node is taken again by the next claim if it rolled
            // back). An idle node's polls so cost one statement each.
            let rows = try await self.write(
                ClaimActivitiesStatement(
                    owner: owner, queue: request.queue, limit: request.limit, leaseSeconds: self.leaseSeconds, names: names, stale: stale,
                    sessions: request.sessionsOfDeadNodes, liveness: (request.staleNodeAfter ?? .seconds(30)).seconds
                ),
                needsConfirmation: ClaimActivitiesStatement.leasedAny
            )
            var items: [ActivityWorkItem] = []
            var nextVisible: Double?
            for (id, instanceID, executionID, requestJSON, attempt, deliveries, epoch, misses, heartbeat, cancelled, admitted, next)
                in try rows.map({ try $0.decode((String?, String?, String?, String?, Int?, Int?, Int64?, Int?, String?, Bool?, Bool?, Double?).self) })
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
                        handlerMisses: misses,
                        lastHeartbeat: heartbeat.map(Payload.init(json:)),
                        cancelRequested: cancelled ?? false,
                        rateAdmitted: admitted ?? false
                    )
                )
            }
            return ClaimResult(
                items: items,
                nextVisibleIn: nextVisible.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) }
            )
        }
    }

    public func completeActivities(_ completions: [ActivityCompletion], claim: ClaimRequest?) async throws -> ActivityCompletionResult {
        var lost: Set<Lease> = []
        var batch: [(lease: Lease, kind: String, known: Int)] = []
        for var completion in completions {
            // An oversized output is recorded as the attempt's failure: it must not fail the batch.
            completion.outcome = ProviderValidation.activityOutcome(completion.outcome, limit: self.configuration.maxPayloadBytes, taskID: completion.lease.id)
            // The task id is "<instance>|<execution>|<operation>" (Self.taskID): the message can be
            // written without reading the task first, and the whole batch is one statement.
            guard let operationID = completion.lease.id.split(separator: "|").last.flatMap({ Int($0) }) else {
                lost.insert(completion.lease)
                continue
            }
            let message = completion.outcome.message(operationID: operationID)
            batch.append((completion.lease, try DurableJSON.encode(message), claim == nil ? -1 : completion.knownHistory ?? -1))
        }
        guard !batch.isEmpty else { return ActivityCompletionResult(lost: lost) }
        let written = batch
        let owner = claim?.owner ?? ""
        let (completed, ready, claims) = try await self.withRetry("completing \(written.count) activities", statement: "complete_activities") {
            let rows = try await self.write(
                CompleteActivitiesStatement(
                    ids: written.map(\.lease.id), epochs: written.map(\.lease.epoch), owners: written.map(\.lease.owner),
                    kinds: written.map(\.kind), known: written.map(\.known), limit: claim?.limit ?? 0, owner: owner,
                    leaseSeconds: self.leaseSeconds, channel: self.configuration.channel
                )
            )
            let first = rows[0].makeRandomAccess()
            let completed = Set(try first["completed"].decode([String].self))
            let ready = try first["ready"].decode(Bool.self)
            return (completed, ready, try Self.workItems(rows, owner: owner))
        }
        let claimed = try await self.consistent(claims).items
        for entry in batch where !completed.contains(entry.lease.id) { lost.insert(entry.lease) }
        return ActivityCompletionResult(lost: lost, claimed: claimed, readyForTurn: ready)
    }

    public func abandonActivity(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let seconds = delay.seconds
        let retry = reason.countsDelivery ? 1 : 0
        let release = reason.countsDelivery ? 0 : 1
        let lastError: String? = if case .failedAttempt(let failure) = reason { try DurableJSON.encode(failure) } else { nil }
        let miss: Int = if case .missingHandler = reason { 1 } else { 0 }
        try await self.withRetry("abandoning activity \(lease)", statement: "abandon_activity") {
            let rows = try await self.client.write(
                """
                WITH released AS (
                    UPDATE activity_tasks SET lock_owner = NULL, locked_until = NULL,
                        visible_at = now() + make_interval(secs => \(seconds)),
                        attempt = attempt + \(retry), deliveries = greatest(0, deliveries - \(release)),
                        handler_misses = handler_misses + \(miss), last_error = coalesce(\(lastError), last_error), rate_admitted = false
                    WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM released)::int8,
                       (SELECT count(*) FROM (SELECT pg_notify(\(self.configuration.channel), 'a') FROM released) n)::int8
                """,
                logger: self.logger
            )
            for (released, _) in try rows.map({ try $0.decode((Int64, Int64).self) }) where released == 1 { return }
            throw Self.leaseLost(lease, what: "activity")
        }
    }

    public func renewActivity(_ lease: Lease) async throws -> Bool {
        try await self.withRetry("renewing activity \(lease)", statement: "renew_activity") {
            let rows = try await self.client.write(
                """
                UPDATE activity_tasks
                SET locked_until = now() + make_interval(secs => \(self.leaseSeconds)), visible_at = now() + make_interval(secs => \(self.leaseSeconds))
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING cancel_requested
                """,
                logger: self.logger
            )
            if let row = rows.first { return try row.decode(Bool.self) }
            throw Self.leaseLost(lease, what: "activity")
        }
    }

    public func heartbeatActivity(_ lease: Lease, details: Payload?, extendBy: Duration?) async throws -> Bool {
        if let details { try ProviderValidation.payload(details, limit: self.configuration.maxPayloadBytes, what: "the heartbeat's details") }
        let seconds = extendBy?.seconds ?? self.leaseSeconds
        return try await self.withRetry("heartbeating activity \(lease)", statement: "heartbeat_activity") {
            let rows = try await self.client.write(
                """
                UPDATE activity_tasks
                SET locked_until = now() + make_interval(secs => \(seconds)), visible_at = now() + make_interval(secs => \(seconds)),
                    heartbeat = coalesce(\(details?.json), heartbeat), heartbeat_at = CASE WHEN \(details != nil) THEN now() ELSE heartbeat_at END
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING cancel_requested
                """,
                logger: self.logger
            )
            if let row = rows.first { return try row.decode(Bool.self) }
            throw Self.leaseLost(lease, what: "activity")
        }
    }
}
