public import Durable
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresProvider {
    // MARK: Client

    public func createInstance(_ request: StartRequest) async throws -> StartResult {
        try await self.start(request, claimingFirstTurnFor: "").0
    }

    public func createInstance(_ request: StartRequest, claimingFirstTurnFor owner: String) async throws -> (StartResult, OrchestrationWorkItem?) {
        try await self.start(request, claimingFirstTurnFor: owner)
    }

    /// The statement that creates `request`'s instance, leased to `owner` unless it is empty.
    func createStatement(
        _ request: StartRequest, executionID: String, startEvent: HistoryEvent.Kind, owner: String
    ) throws -> CreateInstanceStatement {
        CreateInstanceStatement(
            instanceID: request.instanceID, name: request.name, version: request.version ?? "", executionID: executionID,
            input: request.input.json, start: try DurableJSON.encode(startEvent), channel: self.configuration.channel, queue: request.queueName,
            priority: request.priority ?? Priority.default, owner: owner, leaseSeconds: self.leaseSeconds
        )
    }

    /// A start, eager when `owner` is not empty; `retried` when an earlier attempt of this start may
    /// have created the instance and lost its answer.
    func start(_ request: StartRequest, claimingFirstTurnFor owner: String, retried: Bool = false) async throws -> (StartResult, OrchestrationWorkItem?) {
        try ProviderValidation.start(request, limit: self.configuration.maxPayloadBytes)
        let executionID = UUID().uuidString.lowercased()
        let startEvent = Self.startEvent(request, executionID: executionID)
        let create = try self.createStatement(request, executionID: executionID, startEvent: startEvent, owner: owner)
        let attempts = Atomic(0)
        return try await self.withRetry("starting instance '\(request.instanceID)'", statement: "create_instance", deadline: .seconds(3600)) {
            let attempt = attempts.add(1, ordering: .relaxed).newValue
            let rows = try await self.starts.execute(create)
            for row in rows {
                let cells = row.makeRandomAccess()
                guard try cells["created"].decode(Int64.self) > 0 else { continue }
                guard let messageID = try cells["message_id"].decode(Int64?.self) else { return (.created, nil) }
                return (.created, try Self.eagerTurn(cells, owner: owner, epoch: 1, message: InboxMessage(id: messageID, kind: startEvent)))
            }
            let existing = try await self.client.query(
                "SELECT name, input, status, lock_owner IS NOT DISTINCT FROM \(owner) AND lock_epoch = 1 AND history_length = 0 FROM instances WHERE id = \(request.instanceID)",
                logger: self.logger
            )
            for try await (name, input, status, eagerlyOurs) in existing.decode((String, String, String, Bool).self) {
                guard name == request.name, input == request.input.json else {
                    throw DurableError(
                        .instanceAlreadyExists,
                        "instance '\(request.instanceID)' exists already (\(name), status \(status)) with another name or input",
                        instanceID: request.instanceID,
                        name: name
                    )
                }
                if !owner.isEmpty, attempt > 1 || retried, eagerlyOurs {
                    // An earlier attempt created it leased to us, and its answer was lost: the turn is
                    // ours, under a new epoch.
                    let rows = try await self.client.write(
                        """
                        UPDATE instances i SET lock_epoch = i.lock_epoch + 1, locked_until = now() + make_interval(secs => \(self.leaseSeconds))
                        WHERE i.id = \(request.instanceID) AND i.lock_owner = \(owner) AND i.lock_epoch = 1 AND i.history_length = 0
                        RETURNING \(unescaped: Self.instanceColumns("i")), i.lock_epoch, now(),
                                  (SELECT min(m.id) FROM messages m WHERE m.instance_id = i.id) AS message_id
                        """,
                        logger: self.logger
                    )
                    if let cells = rows.first?.makeRandomAccess(), let messageID = try cells["message_id"].decode(Int64?.self) {
                        let epoch = try cells["lock_epoch"].decode(Int64.self)
                        return (.created, try Self.eagerTurn(cells, owner: owner, epoch: epoch, message: InboxMessage(id: messageID, kind: startEvent)))
                    }
                }
                return (.alreadyExists, nil)
            }
            throw DurableError(.storage, "instance '\(request.instanceID)' was neither created nor found", instanceID: request.instanceID)
        }
    }

    /// The first turn of an eagerly started instance, from its row's columns (and `now`) and its
    /// start message.
    static func eagerTurn(_ cells: PostgresRandomAccessRow, owner: String, epoch: Int64, message: InboxMessage) throws -> OrchestrationWorkItem {
        let info = try Self.instanceInfo(cells)
        return OrchestrationWorkItem(
            lease: Lease(id: info.id, owner: owner, epoch: epoch),
            instance: info,
            history: [],
            messages: [message],
            claimedAt: try cells["now"].decode(Date.self),
            deliveryCount: 1
        )
    }

    public func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws {
        try ProviderValidation.instanceID(instanceID)
        if case .eventRaised(let name, let input, _) = message {
            try ProviderValidation.name(name)
            try ProviderValidation.payload(input, limit: self.configuration.maxPayloadBytes, what: "the event data", instanceID: instanceID)
        }
        let kind = try DurableJSON.encode(message)
        let status: String? = try await self.withRetry("sending a message to '\(instanceID)'", statement: "send_message") {
            let rows = try await self.write(SendMessageStatement(instanceID: instanceID, kind: kind, channel: self.configuration.channel))
            guard let row = rows.first else { return nil }
            let (status, _) = try row.decode((String?, Int64).self)
            return status
        }
        try Self.checkDelivered(message, instanceID: instanceID, status: status)
    }

    /// The encoded `executionStarted` message of a new instance.
    static func startMessage(_ request: StartRequest, executionID: String) throws(DurableError) -> String {
        try DurableJSON.encode(Self.startEvent(request, executionID: executionID))
    }

    /// The `executionStarted` message of a new instance.
    static func startEvent(_ request: StartRequest, executionID: String) -> HistoryEvent.Kind {
        .executionStarted(
            .init(
                name: request.name, version: request.version ?? "", input: request.input, executionID: executionID, traceContext: request.traceContext,
                queue: request.queue, priority: request.priority
            )
        )
    }

    /// The outcome of ``SendMessageStatement`` for the sender: unknown and finished instances.
    static func checkDelivered(_ message: HistoryEvent.Kind, instanceID: String, status: String?) throws(DurableError) {
        guard let status else {
            throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
        }
        if status != "pending" && status != "running" {
            if message.isCancellation { return }
            throw DurableError(.invalidInput, "instance '\(instanceID)' is \(status) and takes no more messages", instanceID: instanceID)
        }
    }

    public func signalWithStart(_ request: StartRequest, event: HistoryEvent.Kind) async throws -> StartResult {
        try ProviderValidation.signalWithStart(request, event: event, limit: self.configuration.maxPayloadBytes)
        let executionID = UUID().uuidString.lowercased()
        let version = request.version ?? ""
        let start = try Self.startMessage(request, executionID: executionID)
        let kind = try DurableJSON.encode(event)
        let id = request.instanceID
        return try await self.transaction("signalling '\(id)' with start", statement: "signal_with_start") { connection in
            // Two statements: the second's snapshot has the instance a concurrent caller created
            // while the first waited on its row.
            let created = CreateInstanceStatement(
                instanceID: id, name: request.name, version: version, executionID: executionID, input: request.input.json, start: start,
                channel: self.configuration.channel, queue: request.queueName, priority: request.priority ?? Priority.default
            )
            let counts = try await connection.query(created.query, logger: self.logger).collect().first?.decode((Int64, Int64).self)
            let rows = try await connection.query(SendMessageStatement(instanceID: id, kind: kind, channel: self.configuration.channel).query, logger: self.logger).collect()
            try Self.checkDelivered(event, instanceID: id, status: try rows.first?.decode((String?, Int64).self).0)
            return (counts?.0 ?? 0) > 0 ? .created : .alreadyExists
        }
    }

    // MARK: Claims

    public func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem> {
        let claimed = try await self.withRetry("claiming orchestrations", statement: "claim_orchestrations") {
            let claim = ClaimOrchestrationsStatement(request, leaseSeconds: self.leaseSeconds)
            let rows = try await request.orchestrationQueues.count == 1
                ? self.claim(claim) : self.claim(ClaimOrchestrationsFromQueuesStatement(claim: claim))
            return try Self.workItems(rows, owner: request.owner)
        }
        return try await self.consistent(claimed)
    }

    /// Claimed turns whose history and messages belong to the row version that was locked: a claim
    /// that locked a row another node committed after the claim's snapshot read them from that
    /// older snapshot (a history without the commit's events, messages it consumed), so they are
    /// read again, under the new lease, with a snapshot that has the commit.
    func consistent(_ claimed: (result: ClaimResult<OrchestrationWorkItem>, stale: Set<String>)) async throws -> ClaimResult<OrchestrationWorkItem> {
        var result = claimed.result
        guard !claimed.stale.isEmpty else { return result }
        for index in result.items.indices where claimed.stale.contains(result.items[index].lease.id) {
            let item = result.items[index]
            self.logger.debug("a claim raced a commit of the same instance; reading its history again", metadata: ["durable.instance": .string(item.lease.id)])
            // Retried on its own: the claim has committed, and its turns are this node's to run.
            let rows = try await self.withRetry("reading the claimed turn of \(item.lease)", statement: "read_claimed_turn") {
                try await self.client.query(
                    """
                    SELECT \(unescaped: ClaimOrchestrationsStatement.turnColumns(historyFrom: String(item.historyOffset)))
                    FROM instances i WHERE i.id = \(item.lease.id) AND i.lock_epoch = \(item.lease.epoch)
                    """,
                    logger: self.logger
                ).collect()
            }
            guard let row = rows.first else { continue }
            let cells = row.makeRandomAccess()
            let (history, messages, loadError) = Self.decodeTurn(
                id: item.lease.id, history: try cells["history"].decode([String].self),
                messageIDs: try cells["message_ids"].decode([Int64].self), messageKinds: try cells["message_kinds"].decode([String].self)
            )
            result.items[index].history = history
            result.items[index].messages = messages
            result.items[index].loadError = loadError
        }
        return result
    }

    /// Decodes a claimed turn's history and messages; an unreadable event or message spoils its own
    /// instance only, not the whole claim.
    static func decodeTurn(id: String, history stored: [String], messageIDs: [Int64], messageKinds: [String]) -> ([HistoryEvent], [InboxMessage], DurableError?) {
        do {
            let history = try stored.map { event throws(DurableError) in try DurableJSON.decode(HistoryEvent.self, from: event) }
            let messages = try zip(messageIDs, messageKinds).map { id, kind throws(DurableError) in
                InboxMessage(id: id, kind: try DurableJSON.decode(HistoryEvent.Kind.self, from: kind))
            }
            return (history, messages, nil)
        } catch {
            return ([], [], DurableError(.serialization, "the history or messages of '\(id)' cannot be read: \(error)", instanceID: id))
        }
    }

    /// Decodes claimed turns: rows of a claim statement, or one row with only `next_visible` when
    /// nothing was claimed; with the ids of those whose snapshot was older than the locked row.
    static func workItems(_ rows: [PostgresRow], owner: String) throws -> (result: ClaimResult<OrchestrationWorkItem>, stale: Set<String>) {
            var items: [OrchestrationWorkItem] = []
            var stale: Set<String> = []
            var nextVisible: Double?
            for row in rows {
                let cells = row.makeRandomAccess()
                nextVisible = try cells["next_visible"].decode(Double?.self)
                guard try cells["id"].decode(String?.self) != nil else { continue }
                let info = try Self.instanceInfo(cells)
                let historyOffset = try cells["history_offset"].decode(Int.self)
                let epoch = try cells["lock_epoch"].decode(Int64.self)
                if try cells["snapshot_current"].decode(Bool?.self) != true { stale.insert(info.id) }
                let (history, messages, loadError) = Self.decodeTurn(
                    id: info.id, history: try cells["history"].decode([String].self),
                    messageIDs: try cells["message_ids"].decode([Int64].self), messageKinds: try cells["message_kinds"].decode([String].self)
                )
                items.append(
                    OrchestrationWorkItem(
                        lease: Lease(id: info.id, owner: owner, epoch: epoch),
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
        let result = ClaimResult(
            items: items,
            nextVisibleIn: nextVisible.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) }
        )
        return (result, stale)
    }

    // MARK: Leases

    public func abandonOrchestration(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        let seconds = delay.seconds
        let waitingFor: String? = if case .missingHandler(let missing) = reason { missing } else { nil }
        let release = reason.countsDelivery ? 0 : 1
        let miss = waitingFor == nil ? 0 : 1
        try await self.transaction("abandoning \(lease)", statement: "abandon_orchestration") { connection in
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
            // A statement of its own: its snapshot has the delayed messages and every message sent
            // before it; the row stays locked until the commit, so later senders come after.
            try await connection.query(
                "UPDATE instances SET inbox_at = (SELECT min(visible_at) FROM messages WHERE instance_id = \(lease.id)) WHERE id = \(lease.id)",
                logger: self.logger
            )
            // Even a delayed hand-back notifies: other dispatchers may be sleeping until the lease
            // would have expired, later than the delay.
            try await connection.query("SELECT pg_notify(\(self.configuration.channel), 'o')", logger: self.logger)
        }
    }

    public func renewOrchestration(_ lease: Lease) async throws {
        try await self.withRetry("renewing \(lease)", statement: "renew_orchestration") {
            let rows = try await self.client.write(
                """
                UPDATE instances SET locked_until = now() + make_interval(secs => \(self.leaseSeconds))
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                RETURNING id
                """,
                logger: self.logger
            )
            guard rows.count == 1 else { throw Self.leaseLost(lease, what: "orchestration") }
        }
    }

    // MARK: Rows

    /// The columns of an instance that ``instanceInfo(_:)`` reads, with their types.
    static let instanceColumnTypes: [(name: String, type: String)] = [
        ("id", "text"), ("name", "text"), ("version", "text"), ("execution_id", "text"), ("status", "text"), ("input", "text"),
        ("output", "text"), ("failure", "text"), ("custom_status", "text"), ("parent_instance", "text"), ("parent_execution", "text"),
        ("parent_operation", "int4"), ("created_at", "timestamptz"), ("updated_at", "timestamptz"), ("completed_at", "timestamptz"),
        ("waiting_for", "text"), ("completed_by", "text"), ("pause", "text"), ("awaited_events", "text[]"), ("queue", "text"), ("priority", "int2"),
    ]

    static func instanceColumns(_ alias: String) -> String {
        Self.instanceColumnTypes.map { "\(alias).\($0.name)" }.joined(separator: ", ")
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
        var info = InstanceInfo(
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
            completedBy: try cells["completed_by"].decode(String?.self),
            pause: try cells["pause"].decode(String?.self).map { try DurableJSON.decode(PauseRecord.self, from: $0) }
        )
        info.awaitedEvents = try cells["awaited_events"].decode([String]?.self) ?? []
        info.queue = try cells["queue"].decode(String.self)
        info.priority = Int(try cells["priority"].decode(Int16.self))
        return info
    }
}
