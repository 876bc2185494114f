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
            let rows = try await self.starts.execute(
                CreateInstanceStatement(
                    instanceID: request.instanceID, name: request.name, version: version, executionID: executionID,
                    input: request.input.json, start: start, channel: self.configuration.channel
                )
            )
            for (created, _) in try rows.map({ try $0.decode((Int64, Int64).self) }) where created > 0 {
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
            let rows = try await self.execute(ClaimOrchestrationsStatement(request, leaseSeconds: self.leaseSeconds))
            return try Self.workItems(rows, owner: request.owner)
        }
    }

    /// Decodes claimed turns: rows of a claim statement, or one row with only `next_visible` when
    /// nothing was claimed.
    static func workItems(_ rows: [PostgresRow], owner: String) throws -> ClaimResult<OrchestrationWorkItem> {
            var items: [OrchestrationWorkItem] = []
            var nextVisible: Double?
            for row in rows {
                let cells = row.makeRandomAccess()
                nextVisible = try cells["next_visible"].decode(Double?.self)
                guard try cells["id"].decode(String?.self) != nil else { continue }
                let info = try Self.instanceInfo(cells)
                let stored = try cells["history"].decode([String].self)
                let historyOffset = try cells["history_offset"].decode(Int.self)
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
                        historyLength: try cells["history_length"].decode(Int.self),
                        historyOffset: historyOffset
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
