public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    /// A message to insert: its target, the execution it is for (`nil`: the current one), its kind and
    /// when it becomes visible (`nil`: now).
    struct OutgoingMessage {
        var instanceID: String
        var executionID: String?
        var kind: HistoryEvent.Kind
        var visibleAt: Date?
        var timerOperation: Int?
    }

    @discardableResult
    public func commitTurn(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem] {
        do {
            return try await self.commitTurnOnce(lease, commit)
        } catch let error as DurableError where error.code == .leaseLost {
            if let prefetched = try await self.appliedCommit(lease, commit) { return prefetched }
            throw error
        }
    }

    /// The activities a commit leased to the committer, when that commit was already applied: a
    /// commit retried after its first run had committed (its answer lost with the connection) is
    /// fenced off by that very commit, and must not be taken for a lost lease. The turn is ours
    /// when the instance still carries our epoch (every claim bumps it) and its history ends with
    /// the turn's first and last events exactly; `nil` otherwise.
    func appliedCommit(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem]? {
        guard let first = commit.result.newEvents.first, let last = commit.result.newEvents.last else { return nil }
        let (firstEvent, event) = (try DurableJSON.encode(first), try DurableJSON.encode(last))
        let owner = commit.prefetch?.owner ?? ""
        let rows = try await self.withRetry("checking whether a turn of \(lease) was committed", statement: "check_commit") {
            try await self.client.query(
                """
                SELECT h.execution_id,
                       coalesce((SELECT array_agg(t.id ORDER BY t.operation_id) FROM activity_tasks t
                                 WHERE t.instance_id = i.id AND t.execution_id = h.execution_id AND t.lock_owner = \(owner)
                                   AND t.lock_epoch = 1 AND t.deliveries = 1), '{}'),
                       coalesce((SELECT array_agg(t.operation_id ORDER BY t.operation_id) FROM activity_tasks t
                                 WHERE t.instance_id = i.id AND t.execution_id = h.execution_id AND t.lock_owner = \(owner)
                                   AND t.lock_epoch = 1 AND t.deliveries = 1), '{}')
                FROM instances i JOIN history h ON h.instance_id = i.id
                WHERE i.id = \(lease.id) AND i.lock_epoch = \(lease.epoch) AND i.lock_owner IS NULL
                  AND h.seq = \(last.sequenceNumber) AND h.event = \(event)
                  AND EXISTS (SELECT 1 FROM history f WHERE f.instance_id = i.id AND f.execution_id = h.execution_id
                                AND f.seq = \(first.sequenceNumber) AND f.event = \(firstEvent))
                  AND NOT EXISTS (SELECT 1 FROM history n WHERE n.instance_id = i.id AND n.execution_id = h.execution_id
                                    AND n.seq > \(last.sequenceNumber))
                """,
                logger: self.logger
            ).collect()
        }
        guard let row = rows.first else { return nil }
        let (executionID, ids, operations) = try row.decode((String, [String], [Int]).self)
        self.logger.debug("a retried commit had been applied already", metadata: ["durable.instance": .string(lease.id)])
        // Only the tasks the commit leased: one it left unleased may have been claimed since, by
        // this very node, and is running already.
        let leased = commit.prefetchedOperations
        let requests = commit.result.actions.compactMap { if case .scheduleActivity(let request) = $0, leased.contains(request.operationID) { request } else { nil } }
        return Self.prefetchedItems(ids: ids, operations: operations, requests: requests, owner: owner, instanceID: lease.id, executionID: executionID)
    }

    /// Work items for the activity tasks a commit leased to `owner`.
    static func prefetchedItems(
        ids: [String], operations: [Int], requests: [ActivityRequest], owner: String, instanceID: String, executionID: String
    ) -> [ActivityWorkItem] {
        let byOperation = Dictionary(requests.map { ($0.operationID, $0) }, uniquingKeysWith: { first, _ in first })
        return zip(ids, operations).compactMap { id, operationID in
            byOperation[operationID].map { request in
                ActivityWorkItem(
                    lease: Lease(id: id, owner: owner, epoch: 1), instanceID: instanceID, executionID: executionID,
                    request: request, attempt: 1, deliveryCount: 1
                )
            }
        }
    }

    private func commitTurnOnce(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem] {
        try ProviderValidation.turn(commit.result, limit: self.configuration.maxPayloadBytes, instanceID: lease.id)
        if Self.fitsOneStatement(commit.result) {
            let (fenced, _, prefetched) = try await self.commitTurnInOneStatement(lease, commit)
            guard fenced > 0 else { throw Self.leaseLost(lease, what: "orchestration") }
            guard fenced == 2 else {
                throw DurableError(.staleTurn, "the turn's events do not continue the stored history", instanceID: lease.id)
            }
            return prefetched
        }
        let result = commit.result
        // Encode everything before the transaction: no failure can leave it half done.
        let events = try result.newEvents.map { event throws(DurableError) in (event.sequenceNumber, try DurableJSON.encode(event)) }
        let customStatus = result.customStatus?.json
        let channel = self.configuration.channel
        let (woke, prefetched) = try await self.transaction("committing a turn of \(lease)", statement: "commit_turn") { connection -> (String, [ActivityWorkItem]) in
            let fence = try await connection.query(
                """
                SELECT execution_id, history_length::int8
                FROM instances i
                WHERE id = \(lease.id) AND lock_epoch = \(lease.epoch) AND lock_owner = \(lease.owner) AND locked_until IS NOT NULL
                FOR UPDATE
                """,
                logger: self.logger
            )
            var current: (executionID: String, historyCount: Int64)?
            for try await row in fence.decode((String, Int64).self) { current = row }
            guard let (executionID, historyCount) = current else { throw Self.leaseLost(lease, what: "orchestration") }
            if let first = events.first, first.0 != Int(historyCount) {
                throw DurableError(
                    .staleTurn,
                    "turn events start at sequence \(first.0) but the history has \(historyCount) events",
                    instanceID: lease.id
                )
            }

            var wake: Set<Character> = []
            var outgoing: [OutgoingMessage] = []
            if case .continuedAsNew = result.outcome {
                // The old execution's history goes; nothing of it is kept.
                try await connection.query("DELETE FROM history WHERE instance_id = \(lease.id)", logger: self.logger)
            } else if !events.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO history (instance_id, execution_id, seq, event)
                    SELECT \(lease.id), \(executionID), s, e FROM unnest(\(events.map(\.0))::int[], \(events.map(\.1))::text[]) AS t(s, e)
                    """,
                    logger: self.logger
                )
            }
            if !commit.consumedMessageIDs.isEmpty {
                try await connection.query("DELETE FROM messages WHERE id = ANY(\(commit.consumedMessageIDs))", logger: self.logger)
            }

            var activities: [ActivityRequest] = []
            for action in result.actions {
                switch action {
                case .scheduleActivity(let request):
                    activities.append(request)
                case .scheduleTimer(let operationID, let fireAt):
                    outgoing.append(OutgoingMessage(instanceID: lease.id, executionID: executionID, kind: .timerFired(operationID: operationID), visibleAt: fireAt, timerOperation: operationID))
                case .cancelTimer(let operationID) where outgoing.contains(where: { $0.instanceID == lease.id && $0.timerOperation == operationID }):
                    // Created earlier in this turn: actions take effect in order, so it is never written.
                    outgoing.removeAll { $0.instanceID == lease.id && $0.timerOperation == operationID }
                case .cancelActivity(let operationID, let reportOutcome) where activities.contains(where: { $0.operationID == operationID }):
                    activities.removeAll { $0.operationID == operationID }
                    if reportOutcome { outgoing.append(Self.cancelledBeforeStart(lease.id, executionID, operationID)) }
                case .cancelTimer(let operationID):
                    try await connection.query(
                        "DELETE FROM messages WHERE instance_id = \(lease.id) AND execution_id = \(executionID) AND timer_operation = \(operationID)",
                        logger: self.logger
                    )
                case .cancelActivity(let operationID, let reportOutcome):
                    let taskID = Self.taskID(lease.id, executionID, operationID)
                    let rows = try await connection.query(
                        """
                        WITH idle AS (
                            DELETE FROM activity_tasks WHERE id = \(taskID) AND (locked_until IS NULL OR locked_until <= now()) RETURNING id
                        ), running AS (
                            -- The node running it hears at once ("x|" and the task id), not at its next renewal.
                            UPDATE activity_tasks SET cancel_requested = true WHERE id = \(taskID) AND id NOT IN (SELECT id FROM idle)
                            RETURNING pg_notify(\(self.configuration.channel), 'x|' || id)
                        )
                        SELECT count(*)::int8 FROM idle
                        """,
                        logger: self.logger
                    )
                    for try await deleted in rows.decode(Int64.self) where deleted > 0 && reportOutcome {
                        outgoing.append(Self.cancelledBeforeStart(lease.id, executionID, operationID))
                    }
                case .startSubOrchestration(let childID, var start):
                    start.executionID = UUID().uuidString.lowercased()
                    let created = try await connection.query(
                        """
                        INSERT INTO instances (id, name, version, execution_id, status, input, parent_instance, parent_execution, parent_operation, queue, priority)
                        VALUES (\(childID), \(start.name), \(start.version), \(start.executionID), 'pending', \(start.input.json),
                                \(start.parent?.instanceID), \(start.parent?.executionID), \(start.parent?.operationID), \(start.queueName),
                                \(start.priority ?? Priority.default)::smallint)
                        ON CONFLICT (id) DO NOTHING
                        RETURNING id
                        """,
                        logger: self.logger
                    )
                    if try await created.collect().count == 1 {
                        outgoing.append(OutgoingMessage(instanceID: childID, executionID: start.executionID, kind: .executionStarted(start)))
                    } else {
                        let existing = try await connection.query("SELECT parent_instance, input FROM instances WHERE id = \(childID)", logger: self.logger)
                        var same = false
                        for try await (parent, input) in existing.decode((String?, String).self) {
                            same = parent == lease.id && input == start.input.json
                        }
                        if !same {
                            let failure = FailureDetails(
                                type: String(reflecting: DurableError.self),
                                message: "instance '\(childID)' exists already",
                                code: DurableError.Code.instanceAlreadyExists.description
                            )
                            outgoing.append(
                                OutgoingMessage(
                                    instanceID: lease.id,
                                    executionID: executionID,
                                    kind: .subOrchestrationFailed(operationID: start.parent?.operationID ?? 0, failure: failure)
                                )
                            )
                        }
                    }
                case .cancelSubOrchestration(let childID, let reason, let cooperative):
                    let kind: HistoryEvent.Kind = cooperative ? .cooperativeCancelRequested(reason: reason) : .cancelRequested(reason: reason)
                    outgoing.append(OutgoingMessage(instanceID: childID, executionID: nil, kind: kind))
                case .notifyParent(let parent, let message):
                    outgoing.append(OutgoingMessage(instanceID: parent.instanceID, executionID: parent.executionID, kind: message))
                case .subscribe, .unsubscribe, .answerUpdate:
                    break  // below, together
                }
            }
            try await self.writeSubscriptions(result.actions, instanceID: lease.id, executionID: executionID, on: connection)
            try await self.writeUpdateOutcomes(result.actions, on: connection)
            var prefetched: [ActivityWorkItem] = []
            if !activities.isEmpty {
                let requests = try activities.map { request throws(DurableError) in try DurableJSON.encode(request) }
                // Up to the prefetch limit, tasks this node can run are leased to it right away.
                let leased = Self.prefetched(activities, commit)
                let owner = commit.prefetch?.owner ?? ""
                let inserted = try await connection.query(
                    """
                    INSERT INTO activity_tasks (id, instance_id, execution_id, operation_id, name, queue, request, priority,
                                                lock_owner, lock_epoch, deliveries, locked_until, visible_at)
                    SELECT \(lease.id) || '|' || \(executionID) || '|' || op, \(lease.id), \(executionID), op, n, q, r, p,
                           CASE WHEN l THEN \(owner) END, CASE WHEN l THEN 1 ELSE 0 END, CASE WHEN l THEN 1 ELSE 0 END,
                           CASE WHEN l THEN now() + make_interval(secs => \(self.leaseSeconds)) END,
                           CASE WHEN l THEN now() + make_interval(secs => \(self.leaseSeconds)) ELSE now() END
                    FROM unnest(\(activities.map(\.operationID))::int[], \(activities.map(\.name))::text[], \(activities.map(\.queueName))::text[],
                                \(requests)::text[], \(activities.map(\.priorityColumn))::int2[], \(leased)::bool[])
                         AS t(op, n, q, r, p, l)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING id, operation_id, lock_owner IS NOT NULL
                    """,
                    logger: self.logger
                )
                let byOperation = Dictionary(activities.map { ($0.operationID, $0) }, uniquingKeysWith: { first, _ in first })
                for try await (id, operationID, isLeased) in inserted.decode((String, Int, Bool).self) {
                    guard isLeased, let request = byOperation[operationID] else {
                        wake.insert("a")
                        continue
                    }
                    prefetched.append(
                        ActivityWorkItem(
                            lease: Lease(id: id, owner: owner, epoch: 1), instanceID: lease.id, executionID: executionID,
                            request: request, attempt: 1, deliveryCount: 1
                        )
                    )
                }
            }

            let (status, output, failure) = try Self.outcomeColumns(result.outcome)
            var next: HistoryEvent.ExecutionStarted?
            switch result.outcome {
            case .continuedAsNew(let start, let carryOver):
                next = start
                try await connection.query(
                    "DELETE FROM messages WHERE instance_id = \(lease.id) AND execution_id = \(executionID)",
                    logger: self.logger
                )
                outgoing.removeAll { $0.instanceID == lease.id && $0.executionID == executionID }
                // Messages that arrived during the turn go after the carried-over ones, which arrived
                // before them: the next execution sees every message in arrival order.
                let waiting = try await connection.query(
                    "DELETE FROM messages WHERE instance_id = \(lease.id) AND execution_id IS NULL RETURNING id, kind, visible_at",
                    logger: self.logger
                )
                var later: [(id: Int64, kind: String, visibleAt: Date)] = []
                for try await row in waiting.decode((Int64, String, Date).self) { later.append(row) }
                outgoing.append(OutgoingMessage(instanceID: lease.id, executionID: start.executionID, kind: .executionStarted(start)))
                outgoing += carryOver.map { OutgoingMessage(instanceID: lease.id, executionID: nil, kind: $0) }
                for message in later.sorted(by: { $0.id < $1.id }) {
                    let kind = try DurableJSON.decode(HistoryEvent.Kind.self, from: message.kind)
                    outgoing.append(OutgoingMessage(instanceID: lease.id, executionID: nil, kind: kind, visibleAt: message.visibleAt))
                }
            default:
                break
            }
            let terminal = output != nil || failure != nil
            if terminal {
                try await connection.query("DELETE FROM messages WHERE instance_id = \(lease.id)", logger: self.logger)
                outgoing.removeAll { $0.instanceID == lease.id }
                wake.insert("c")
            }

            if !outgoing.isEmpty {
                let now = outgoing.contains { $0.visibleAt == nil }
                let kinds = try outgoing.map { message throws(DurableError) in try DurableJSON.encode(message.kind) }
                // Arrays of optionals are sent with sentinels: "" for no execution, 0 for now, -1 for no timer.
                let inserted = try await connection.query(
                    """
                    INSERT INTO messages (instance_id, execution_id, kind, visible_at, timer_operation)
                    SELECT t.i, NULLIF(t.x, ''), t.k, CASE WHEN t.v = 0 THEN now() ELSE to_timestamp(t.v) END, NULLIF(t.o, -1)
                    FROM unnest(\(outgoing.map(\.instanceID))::text[], \(outgoing.map { $0.executionID ?? "" })::text[], \(kinds)::text[],
                                \(outgoing.map { $0.visibleAt?.timeIntervalSince1970 ?? 0 })::float8[], \(outgoing.map { $0.timerOperation ?? -1 })::int[])
                         WITH ORDINALITY AS t(i, x, k, v, o, n)
                    JOIN instances target ON target.id = t.i
                    WHERE (target.id = \(lease.id) OR target.status IN ('pending', 'running'))
                      AND (t.x = '' OR t.x = target.execution_id OR target.id = \(lease.id))
                    -- Ids in the order the turn produced the messages: they are delivered in id order.
                    ORDER BY t.n
                    RETURNING 1
                    """,
                    logger: self.logger
                )
                if now, try await inserted.collect().count > 0 { wake.insert("o") }
                let others = Array(Set(outgoing.map(\.instanceID)).subtracting([lease.id])).sorted()
                if !others.isEmpty {
                    // In id order, so that concurrent commits lock the rows in one order.
                    try await connection.query(
                        "UPDATE instances SET inbox_at = LEAST(inbox_at, now()) WHERE id = ANY(\(others)) AND status IN ('pending', 'running')",
                        logger: self.logger
                    )
                }
            }

            let updated = try await connection.query(
                """
                UPDATE instances SET
                    status = \(status),
                    version = coalesce(\(next?.version ?? Self.startedVersion(result)), version),
                    execution_id = coalesce(\(next?.executionID), execution_id),
                    input = coalesce(\(next?.input.json), input),
                    output = \(output), failure = \(failure), custom_status = \(customStatus), awaited_events = \(result.awaitedEvents.isEmpty ? nil : result.awaitedEvents),
                    completed_at = CASE WHEN \(terminal) THEN now() ELSE NULL END,
                    completed_by = CASE WHEN \(terminal) THEN \(String(lease.nodeID)) ELSE NULL END, turn_node = \(String(lease.nodeID)),
                    updated_at = now(), lock_owner = NULL, locked_until = NULL, deliveries = 0, handler_misses = 0, waiting_for = NULL, pause = NULL,
                    history_length = \(next == nil ? Int(historyCount) + events.count : 0),
                    -- This statement's snapshot has every message written before it, and the row has
                    -- been locked since the fence: later senders update it after this commit.
                    inbox_at = CASE WHEN \(terminal) THEN NULL ELSE (SELECT min(m.visible_at) FROM messages m WHERE m.instance_id = \(lease.id)) END
                WHERE id = \(lease.id)
                -- The clock, not now(): this transaction's start, earlier than messages that others
                -- committed since and this statement sees (then nothing would announce them).
                RETURNING coalesce(inbox_at <= clock_timestamp(), false)
                """,
                logger: self.logger
            )
            for try await pending in updated.decode(Bool.self) where pending { wake.insert("o") }
            let work = String(wake.subtracting(["c"]).sorted())
            if !work.isEmpty {
                try await connection.query("SELECT pg_notify(\(channel), \(work))", logger: self.logger)
            }
            if wake.contains("c") {
                try await connection.query("SELECT pg_notify(\(self.configuration.completionChannel), \(lease.id))", logger: self.logger)
            }
            return (String(wake.sorted()), prefetched)
        }
        self.logger.trace("turn committed", metadata: ["durable.instance": .string(lease.id), "durable.notified": .string(woke)])
        return prefetched
    }

    /// The instance's status, output and failure columns after a turn with this outcome.
    static func outcomeColumns(_ outcome: TurnOutcome?) throws(DurableError) -> (status: String, output: String?, failure: String?) {
        switch outcome {
        case nil, .continuedAsNew:
            return ("running", nil, nil)
        case .completed(let value):
            return ("completed", value.json, nil)
        case .failed(let details):
            return ("failed", nil, try DurableJSON.encode(details))
        case .cancelled(let reason):
            let failure = FailureDetails(type: String(reflecting: DurableError.self), message: "cancelled: \(reason)", code: DurableError.Code.cancelled.description)
            return ("cancelled", nil, try DurableJSON.encode(failure))
        }
    }

    /// Which of a turn's new activities are leased to the committer (``TurnCommit/prefetchedOperations``).
    static func prefetched(_ activities: [ActivityRequest], _ commit: TurnCommit) -> [Bool] {
        let leased = commit.prefetchedOperations
        return activities.map { leased.contains($0.operationID) }
    }

    /// The version the first turn resolved, recorded in its `executionStarted` event.
    static func startedVersion(_ result: TurnResult) -> String? {
        for event in result.newEvents {
            if case .executionStarted(let start) = event.kind { return start.version }
        }
        return nil
    }
}

extension PostgresProvider {
    /// Whether a turn can be committed by ``commitTurnInOneStatement(_:_:)``: it schedules
    /// activities and timers, notifies its parent, and runs on or ends as completed or failed. The
    /// rest (children, cancellations, continue-as-new) takes the transaction path.
    static func fitsOneStatement(_ result: TurnResult) -> Bool {
        switch result.outcome {
        case nil, .completed, .failed: break
        case .cancelled, .continuedAsNew: return false
        }
        return result.actions.allSatisfy { action in
            switch action {
            case .scheduleActivity, .scheduleTimer, .notifyParent: true
            default: false
            }
        }
    }

    public func completeActivity(_ completion: ActivityCompletion, committing turn: TurnCommit) async throws -> CompletionCommit {
        let parts = completion.lease.id.split(separator: "|", omittingEmptySubsequences: false)
        guard Self.fitsOneStatement(turn.result), parts.count >= 3, let operationID = Int(parts[parts.count - 1]) else {
            let recorded = try await self.completeActivities([completion], claim: nil)
            return recorded.lost.isEmpty ? .recorded : .leaseLost
        }
        let instanceID = parts.dropLast(2).joined(separator: "|")
        if ProviderValidation.activityOutcome(completion.outcome, limit: self.configuration.maxPayloadBytes, taskID: completion.lease.id) != completion.outcome {
            // Recorded as a failure, which the prepared turn does not consume.
            let recorded = try await self.completeActivities([completion], claim: nil)
            return recorded.lost.isEmpty ? .recorded : .leaseLost
        }
        try ProviderValidation.turn(turn.result, limit: self.configuration.maxPayloadBytes, instanceID: instanceID)
        let (fenced, completed, prefetched) = try await self.commitTurnInOneStatement(
            Lease(id: instanceID, owner: completion.lease.owner, epoch: 0),
            turn,
            completing: (completion, try DurableJSON.encode(completion.outcome.message(operationID: operationID)))
        )
        guard completed else { return .leaseLost }
        return fenced == 2 ? .committed(prefetched: prefetched) : .recorded
    }

    /// The common turn in one round trip (``CommitTurnStatement``); with `completing`, committed
    /// with that activity outcome instead of under a lease. Returns the fence count (2: committed),
    /// whether the activity's lease was current, and the prefetched activities.
    func commitTurnInOneStatement(
        _ lease: Lease,
        _ commit: TurnCommit,
        completing: (completion: ActivityCompletion, message: String)? = nil
    ) async throws -> (fenced: Int64, completed: Bool, prefetched: [ActivityWorkItem]) {
        let (statement, activities) = try self.commitStatement(lease, commit, completing: completing)
        // GroupCommit bounds each batch itself: a deadline here would also count the time queued
        // behind other batches, and give up on a statement that still runs and commits.
        let rows = try await self.withRetry("committing a turn of \(lease)", statement: "commit_turn", deadline: .seconds(3600)) {
            try await self.commits.execute(statement)
        }
        return try Self.committedTurn(rows[0], activities: activities, commit: commit, instanceID: lease.id)
    }

    /// What ``CommitTurnStatement``'s row says: the fence count, whether the activity's lease was
    /// current, and the activities it leased to the committer.
    static func committedTurn(
        _ row: PostgresRow, activities: [ActivityRequest], commit: TurnCommit, instanceID: String
    ) throws -> (fenced: Int64, completed: Bool, prefetched: [ActivityWorkItem]) {
        let (fenced, ids, operations, _, completed) = try row.decode((Int64, [String], [Int], Int64, Bool).self)
        guard !ids.isEmpty, let executionID = ids.first?.split(separator: "|").dropLast().last.map(String.init) else { return (fenced, completed, []) }
        let prefetched = Self.prefetchedItems(
            ids: ids, operations: operations, requests: activities, owner: commit.prefetch?.owner ?? "", instanceID: instanceID, executionID: executionID
        )
        return (fenced, completed, prefetched)
    }

    /// The statement of ``commitTurnInOneStatement(_:_:completing:)``, and the activities it schedules.
    func commitStatement(
        _ lease: Lease,
        _ commit: TurnCommit,
        completing: (completion: ActivityCompletion, message: String)? = nil
    ) throws -> (statement: CommitTurnStatement, activities: [ActivityRequest]) {
        let result = commit.result
        let events = try result.newEvents.map { event throws(DurableError) in try DurableJSON.encode(event) }
        var activities: [ActivityRequest] = []
        var outgoing: [OutgoingMessage] = []
        for action in result.actions {
            switch action {
            case .scheduleActivity(let request):
                activities.append(request)
            case .scheduleTimer(let operationID, let fireAt):
                outgoing.append(OutgoingMessage(instanceID: lease.id, executionID: nil, kind: .timerFired(operationID: operationID), visibleAt: fireAt, timerOperation: operationID))
            case .notifyParent(let parent, let message):
                outgoing.append(OutgoingMessage(instanceID: parent.instanceID, executionID: parent.executionID, kind: message))
            default:
                break
            }
        }
        let (status, output, failure) = try Self.outcomeColumns(result.outcome)
        let terminal = output != nil || failure != nil
        if terminal { outgoing.removeAll { $0.instanceID == lease.id } }
        let requests = try activities.map { request throws(DurableError) in try DurableJSON.encode(request) }
        let leased = Self.prefetched(activities, commit)
        let owner = commit.prefetch?.owner ?? ""
        let kinds = try outgoing.map { message throws(DurableError) in try DurableJSON.encode(message.kind) }
        let firstSequence = result.newEvents.first?.sequenceNumber ?? -1
        let statement = CommitTurnStatement(
            completes: completing != nil, taskID: completing?.completion.lease.id ?? "", taskEpoch: completing?.completion.lease.epoch ?? 0,
            taskOwner: completing?.completion.lease.owner ?? "", resultMessage: completing?.message ?? "",
            instanceID: lease.id, epoch: lease.epoch, leaseOwner: lease.owner,
            firstSequence: firstSequence, sequenceNumbers: result.newEvents.map(\.sequenceNumber), events: events,
            terminal: terminal, consumedMessageIDs: commit.consumedMessageIDs,
            prefetchOwner: owner, leaseSeconds: self.leaseSeconds,
            operationIDs: activities.map(\.operationID), activityNames: activities.map(\.name), activityQueues: activities.map(\.queueName),
            requests: requests, activityPriorities: activities.map(\.priorityColumn), leased: leased,
            targets: outgoing.map(\.instanceID), executions: outgoing.map { $0.executionID ?? "" }, kinds: kinds,
            visibleAt: outgoing.map { $0.visibleAt?.timeIntervalSince1970 ?? 0 }, timerOperations: outgoing.map { $0.timerOperation ?? -1 },
            status: status, version: Self.startedVersion(result), output: output, failure: failure, customStatus: result.customStatus?.json, awaitedEvents: result.awaitedEvents.isEmpty ? nil : result.awaitedEvents,
            nodeID: String(lease.nodeID), channel: self.configuration.channel, completionChannel: self.configuration.completionChannel
        )
        return (statement, activities)
    }
}
