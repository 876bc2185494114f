public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    // MARK: Client

    public func createInstance(_ request: StartRequest) async throws -> StartResult {
        try ProviderValidation.instanceID(request.instanceID)
        try ProviderValidation.name(request.name)
        try ProviderValidation.payload(request.input, limit: self.configuration.maxPayloadBytes, what: "the input", instanceID: request.instanceID)
        let executionID = UUID().uuidString.lowercased()
        let version = request.version ?? ""
        let start = try DurableJSON.encode(
            HistoryEvent.Kind.executionStarted(.init(name: request.name, version: version, input: request.input, executionID: executionID))
        )
        return try await self.withRetry("starting instance '\(request.instanceID)'") {
            let rows = try await self.client.query(
                """
                WITH created AS (
                    INSERT INTO instances (id, name, version, execution_id, status, input)
                    VALUES (\(request.instanceID), \(request.name), \(version), \(executionID), 'pending', \(request.input.json))
                    ON CONFLICT (id) DO NOTHING
                    RETURNING id
                ), queued AS (
                    INSERT INTO messages (instance_id, execution_id, kind)
                    SELECT id, \(executionID), \(start) FROM created
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM queued)::int8, (SELECT count(*) FROM (SELECT pg_notify(\(self.configuration.channel), 'o') FROM queued) n)::int8
                """,
                logger: self.logger
            )
            for try await (created, _) in rows.decode((Int64, Int64).self) where created > 0 {
                return .created
            }
            let existing = try await self.client.query("SELECT name, input, status FROM instances WHERE id = \(request.instanceID)", logger: self.logger)
            for try await (name, input, status) in existing.decode((String, String, String).self) {
                guard name == request.name, input == request.input.json else {
                    throw DurableError(
                        .instanceAlreadyExists,
                        "instance '\(request.instanceID)' exists already (\(name), status \(status)) with another name or input",
                        instanceID: request.instanceID,
                        name: name
                    )
                }
                return .alreadyExists
            }
            throw DurableError(.storage, "instance '\(request.instanceID)' was neither created nor found", instanceID: request.instanceID)
        }
    }

    public func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws {
        try ProviderValidation.instanceID(instanceID)
        if case .eventRaised(let name, let input) = message {
            try ProviderValidation.name(name)
            try ProviderValidation.payload(input, limit: self.configuration.maxPayloadBytes, what: "the event data", instanceID: instanceID)
        }
        let kind = try DurableJSON.encode(message)
        let status: String? = try await self.withRetry("sending a message to '\(instanceID)'") {
            let rows = try await self.client.query(
                """
                WITH target AS (
                    SELECT id, status FROM instances WHERE id = \(instanceID)
                ), queued AS (
                    INSERT INTO messages (instance_id, kind)
                    SELECT id, \(kind) FROM target WHERE status IN ('pending', 'running')
                    RETURNING 1
                )
                SELECT (SELECT status FROM target), (SELECT count(*) FROM (SELECT pg_notify(\(self.configuration.channel), 'o') FROM queued) n)::int8
                """,
                logger: self.logger
            )
            for try await (status, _) in rows.decode((String?, Int64).self) { return status }
            return nil
        }
        guard let status else {
            throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
        }
        if status != "pending" && status != "running" {
            if case .cancelRequested = message { return }
            throw DurableError(.invalidInput, "instance '\(instanceID)' is \(status) and takes no more messages", instanceID: instanceID)
        }
    }

    // MARK: Claims

    public func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem> {
        try await self.withRetry("claiming orchestrations") {
            let rows = try await self.client.query(self.claimQuery(request, only: nil), logger: self.logger)
            return try await Self.workItems(rows, owner: request.owner)
        }
    }

    /// Claims up to `request.limit` ready instances (or only `only`), returning them with their
    /// history and visible messages: one statement.
    func claimQuery(_ request: ClaimRequest, only: String?) -> PostgresQuery {
        let names = request.capabilities.map { Array($0.orchestrations.keys) }
        let pairs = request.capabilities.map { capabilities in
            capabilities.orchestrations.flatMap { name, versions in versions.map { "\(name)\u{1F}\($0)" } }
        }
        let stale = request.staleNodeAfter.map(\.seconds)
        let grace = request.claimUnrunnableAfter.map(\.seconds)
        let liveness = (request.staleNodeAfter ?? .seconds(30)).seconds
        return
                """
                WITH candidates AS (
                    SELECT i.id FROM instances i
                    WHERE i.id IN (SELECT m.instance_id FROM messages m WHERE m.visible_at <= now())
                      AND (\(only)::text IS NULL OR i.id = \(only))
                      AND i.status IN ('pending', 'running')
                      AND (i.locked_until IS NULL OR i.locked_until <= now()
                           OR (\(stale)::float8 IS NOT NULL AND EXISTS (
                               SELECT 1 FROM nodes n WHERE n.id = split_part(i.lock_owner, '#', 1)
                                 AND (n.incarnation <> split_part(i.lock_owner, '#', 2) OR n.stopped_at IS NOT NULL
                                      OR n.heartbeat_at <= now() - make_interval(secs => \(stale))))))
                      AND (\(names)::text[] IS NULL
                           OR (i.version = '' AND i.name = ANY(\(names)::text[]))
                           OR i.name || chr(31) || i.version = ANY(\(pairs)::text[])
                           -- Work no live node can run is claimed after a grace period, to be handed
                           -- back with backoff and show what it waits for.
                           OR (\(grace)::float8 IS NOT NULL
                               AND EXISTS (SELECT 1 FROM messages g WHERE g.instance_id = i.id
                                           AND g.visible_at <= now() - make_interval(secs => \(grace)))
                               AND NOT EXISTS (
                                   SELECT 1 FROM nodes n
                                   WHERE n.stopped_at IS NULL AND n.heartbeat_at > now() - make_interval(secs => \(liveness))
                                     AND (CASE WHEN i.version = '' THEN (n.capabilities::jsonb -> 'orchestrations') ? i.name
                                               ELSE coalesce((n.capabilities::jsonb -> 'orchestrations' -> i.name) ? i.version, false) END))))
                    ORDER BY i.updated_at
                    LIMIT \(request.limit)
                    FOR UPDATE SKIP LOCKED
                ), claimed AS (
                    UPDATE instances i
                    SET lock_owner = \(request.owner), lock_epoch = i.lock_epoch + 1,
                        locked_until = now() + make_interval(secs => \(self.leaseSeconds)), deliveries = i.deliveries + 1
                    FROM candidates c WHERE i.id = c.id
                    RETURNING i.*
                )
                -- One round trip: the claimed rows with their history and visible messages, and when
                -- the next message or lease comes due (one row with only that when nothing was claimed).
                SELECT \(unescaped: Self.instanceColumns("i")), i.lock_epoch, i.deliveries, i.handler_misses, now(),
                       EXTRACT(EPOCH FROM (LEAST(
                           (SELECT min(visible_at) FROM messages WHERE visible_at > now()),
                           (SELECT min(locked_until) FROM instances WHERE locked_until > now())
                       ) - now()))::float8 AS next_visible,
                       coalesce((SELECT array_agg(h.event ORDER BY h.seq) FROM history h
                                 WHERE h.instance_id = i.id AND h.execution_id = i.execution_id), '{}') AS history,
                       coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM messages m
                                 WHERE m.instance_id = i.id AND m.visible_at <= now()
                                   AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)), '{}') AS message_ids,
                       coalesce((SELECT array_agg(m.kind ORDER BY m.id) FROM messages m
                                 WHERE m.instance_id = i.id AND m.visible_at <= now()
                                   AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)), '{}') AS message_kinds
                FROM (SELECT 1) one LEFT JOIN claimed i ON true
                """
    }

    static func workItems(_ rows: PostgresRowSequence, owner: String) async throws -> ClaimResult<OrchestrationWorkItem> {
            var items: [OrchestrationWorkItem] = []
            var nextVisible: Double?
            for try await row in rows {
                let cells = row.makeRandomAccess()
                nextVisible = try cells["next_visible"].decode(Double?.self)
                guard try cells["id"].decode(String?.self) != nil else { continue }
                let info = try Self.instanceInfo(cells)
                let stored = try cells["history"].decode([String].self)
                let messageIDs = try cells["message_ids"].decode([Int64].self)
                let messageKinds = try cells["message_kinds"].decode([String].self)
                var history: [HistoryEvent] = []
                var messages: [InboxMessage] = []
                var loadError: DurableError?
                // An unreadable event or message spoils its own instance only, not the whole claim.
                do {
                    history = try stored.map { event throws(DurableError) in try DurableJSON.decode(HistoryEvent.self, from: event) }
                    messages = try zip(messageIDs, messageKinds).map { id, kind throws(DurableError) in
                        InboxMessage(id: id, kind: try DurableJSON.decode(HistoryEvent.Kind.self, from: kind))
                    }
                } catch {
                    loadError = DurableError(.serialization, "the history or messages of '\(info.id)' cannot be read: \(error)", instanceID: info.id)
                    history = []
                    messages = []
                }
                items.append(
                    OrchestrationWorkItem(
                        lease: Lease(id: info.id, owner: owner, epoch: try cells["lock_epoch"].decode(Int64.self)),
                        instance: info,
                        history: history,
                        messages: messages,
                        claimedAt: try cells["now"].decode(Date.self),
                        deliveryCount: try cells["deliveries"].decode(Int.self),
                        handlerMisses: try cells["handler_misses"].decode(Int.self),
                        loadError: loadError,
                        historyLength: stored.count
                    )
                )
            }
        return ClaimResult(
            items: items,
            nextVisibleIn: items.isEmpty ? nextVisible.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) } : nil
        )
    }

    // MARK: Leases

    public func abandonOrchestration(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let waitingFor: String? = if case .missingHandler(let missing) = reason { missing } else { nil }
        let release = reason == .retry ? 0 : 1
        let miss = waitingFor == nil ? 0 : 1
        try await self.transaction("abandoning \(lease)") { connection in
            let rows = try await connection.query(
                """
                UPDATE instances SET lock_owner = NULL, locked_until = NULL, deliveries = greatest(0, deliveries - \(release)),
                    handler_misses = handler_misses + \(miss), waiting_for = coalesce(\(waitingFor), waiting_for)
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING id
                """,
                logger: self.logger
            )
            guard try await rows.collect().count == 1 else { throw Self.leaseLost(lease, what: "orchestration") }
            try await connection.query(
                """
                UPDATE messages SET visible_at = now() + make_interval(secs => \(seconds))
                WHERE instance_id = \(lease.id) AND visible_at <= now()
                """,
                logger: self.logger
            )
            // Even a delayed hand-back notifies: other dispatchers may be sleeping until the lease
            // would have expired, later than the delay.
            try await connection.query("SELECT pg_notify(\(self.configuration.channel), 'o')", logger: self.logger)
        }
    }

    public func renewOrchestration(_ lease: Lease) async throws {
        try await self.withRetry("renewing \(lease)") {
            let rows = try await self.client.query(
                """
                UPDATE instances SET locked_until = now() + make_interval(secs => \(self.leaseSeconds))
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING id
                """,
                logger: self.logger
            )
            guard try await rows.collect().count == 1 else { throw Self.leaseLost(lease, what: "orchestration") }
        }
    }

    // MARK: Rows

    static func instanceColumns(_ alias: String) -> String {
        [
            "id", "name", "version", "execution_id", "status", "input", "output", "failure", "custom_status",
            "parent_instance", "parent_execution", "parent_operation", "created_at", "updated_at", "completed_at", "waiting_for", "completed_by",
        ].map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    static func instanceInfo(_ cells: PostgresRandomAccessRow) throws -> InstanceInfo {
        var parent: HistoryEvent.ParentReference?
        if let instance = try cells["parent_instance"].decode(String?.self),
            let execution = try cells["parent_execution"].decode(String?.self),
            let operation = try cells["parent_operation"].decode(Int?.self)
        {
            parent = .init(instanceID: instance, executionID: execution, operationID: operation)
        }
        let status = try cells["status"].decode(String.self)
        return InstanceInfo(
            id: try cells["id"].decode(String.self),
            name: try cells["name"].decode(String.self),
            version: try cells["version"].decode(String.self),
            executionID: try cells["execution_id"].decode(String.self),
            status: InstanceStatus(rawValue: status) ?? .running,
            input: Payload(json: try cells["input"].decode(String.self)),
            output: try cells["output"].decode(String?.self).map(Payload.init(json:)),
            failure: try cells["failure"].decode(String?.self).map { try DurableJSON.decode(FailureDetails.self, from: $0) },
            customStatus: try cells["custom_status"].decode(String?.self).map(Payload.init(json:)),
            parent: parent,
            createdAt: try cells["created_at"].decode(Date.self),
            updatedAt: try cells["updated_at"].decode(Date.self),
            completedAt: try cells["completed_at"].decode(Date?.self),
            waitingFor: try cells["waiting_for"].decode(String?.self),
            completedBy: try cells["completed_by"].decode(String?.self)
        )
    }
}
