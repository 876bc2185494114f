import Foundation
import Logging
import Metrics
import Tracing

extension DurableRuntime {
    /// What this node's claims ask for, `limit` aside.
    var claimRequest: ClaimRequest {
        var request = ClaimRequest(
            owner: self.registration.leaseOwner,
            limit: 0,
            capabilities: self.capabilities,
            staleNodeAfter: self.configuration.staleNodeAfter,
            claimUnrunnableAfter: self.configuration.claimUnrunnableAfter
        )
        request.orchestrationQueues = self.configuration.orchestrationQueues
        return request
    }

    func runOrchestrationDispatcher() async {
        let request = self.claimRequest
        await self.dispatch(
            .orchestrations,
            wake: self.orchestrationWake,
            concurrency: self.configuration.orchestrationConcurrency,
            inFlight: self.turnsInFlight,
            local: self.localTurns,
            claim: { limit, searchesOrphans in
                var request = request
                request.limit = limit
                request.searchesOrphans = searchesOrphans
                return try await self.provider.claimOrchestrations(request)
            },
            takesOver: { $0.deliveryCount > 1 },
            process: { item, _ in await self.processTurn(item) },
            handBack: { item in
                await self.attempt(self.logger) { try await self.provider.abandonOrchestration(item.lease, delay: .zero, reason: .interrupted) }
            }
        )
    }

    func processTurn(_ item: OrchestrationWorkItem) async {
        var logger = self.logger
        logger[metadataKey: "durable.instance"] = .string(item.lease.id)
        logger[metadataKey: "durable.execution"] = .string(item.instance.executionID)
        logger[metadataKey: "durable.epoch"] = "\(item.lease.epoch)"
        if item.deliveryCount > 1 {
            self.metrics.takeover(.orchestrations)
            logger.info("taking over an instance whose previous claim did not commit", metadata: ["durable.delivery": "\(item.deliveryCount)"])
        }
        let started = ContinuousClock.now
        let orchestration = item.instance.name
        let lease = item.lease
        if item.deliveryCount > self.configuration.poisonLimit {
            await self.poison(item, logger: logger)
            return
        }
        var traced = item
        let span = self.startTurnSpan(&traced)
        let turnItem = traced
        defer { span.end() }
        let trace = self.tracer.carrier(for: span.context)
        let outcome = await withLeaseRenewal(
            every: self.configuration.leaseRenewalInterval,
            maxDuration: self.configuration.maxTurnDuration,
            renew: {
                try await self.provider.renewOrchestration(lease)
                return false
            },
            onRenewalError: { [logger] in logger.warning("lease renewal failed", metadata: ["error": "\($0)"]) }
        ) { [logger] in
            try await self.runTurn(turnItem, trace: trace, logger: logger)
        }
        if case .failure(let error) = outcome {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            // The history in storage does not hold this turn: the cached execution is ahead of it.
            self.engine.evict(instanceID: lease.id)
        }
        switch outcome {
        case .success(let result?):
            self.metrics.turn(orchestration: orchestration, .committed, duration: ContinuousClock.now - started)
            span.attributes["durable.turn.new_events"] = result.newEvents.count
            self.traceTimers(result, firedAt: item.claimedAt, turn: span.context)
        case .success(nil):
            span.attributes["durable.turn.handed_back"] = true
        case .failure(WorkInterruption.leaseLost):
            self.metrics.leaseLost(.orchestrations)
            self.metrics.turnDiscarded(orchestration: orchestration, .leaseLost)
            logger.warning("turn discarded: its lease was taken over or the instance was paused")
        case .failure(WorkInterruption.hung(let limit)):
            self.metrics.turnDiscarded(orchestration: orchestration, .hung)
            logger.error("turn ran past \(limit); its lease is left to expire and the delivery counts towards poisoning")
            self.orchestrationWake.signal()
        case .failure(let error as DurableError) where error.code == .leaseLost:
            self.metrics.leaseLost(.orchestrations)
            self.metrics.turnDiscarded(orchestration: orchestration, .leaseLost)
            logger.warning("turn discarded: its lease was taken over or the instance was paused")
        case .failure(let error as DurableError) where error.code == .staleTurn:
            self.metrics.turnDiscarded(orchestration: orchestration, .stale)
            // Its messages go back at once: the next claim brings the stored history.
            logger.warning("turn discarded: computed from a history that moved on; running it again", metadata: ["error": "\(error)"])
            await self.attempt(logger) { try await self.provider.abandonOrchestration(lease, delay: .zero, reason: .interrupted) }
            self.orchestrationWake.signal()
        case .failure(let error):
            self.metrics.turn(orchestration: orchestration, .failed)
            logger.warning("turn failed; handing the instance back", metadata: ["error": "\(error)"])
            await self.attempt(logger) { try await self.provider.abandonOrchestration(lease, delay: .seconds(1), reason: .interrupted) }
        }
    }

    /// Runs and commits the turn, its new work parented to `trace`; returns what it committed, or
    /// `nil` when the instance was handed back without a turn.
    private func runTurn(_ item: OrchestrationWorkItem, trace: TraceCarrier?, logger: Logger) async throws -> TurnResult? {
        self.providerClockOffset.withLock { $0 = item.claimedAt.timeIntervalSinceNow }
        var item = item
        if item.loadError == nil, item.historyOffset > 0 {
            // Claimed with only the end of the history, for the execution this node keeps.
            let continued: TurnResult?
            do throws(DurableError) {
                continued = try self.engine.continueTurn(
                    instanceID: item.lease.id, executionID: item.instance.executionID, historyTail: item.history,
                    historyOffset: item.historyOffset, messages: item.messages.map(\.kind), now: item.claimedAt
                )
            } catch {
                logger.error("orchestration failed by the engine", metadata: ["error": "\(error)"])
                continued = Self.failure(of: item, error)
            }
            if let continued {
                self.counters.withLock { $0.joinedTurns += 1 }
                return try await self.commit(item, continued.tracing(trace), resumed: false, logger: logger)
            }
            // It was evicted meanwhile (or no longer matches): replay the whole history.
            item.history = try await self.provider.history(instanceID: item.lease.id)
            item.historyOffset = 0
            item.historyLength = item.history.count
        }
        if let loadError = item.loadError {
            self.engine.evict(instanceID: item.lease.id)
            // Perhaps written by a newer release: back off and let another node try; the delivery
            // counts, so a history nobody can read ends as poisoned.
            let delay = self.missingHandlerDelay(misses: item.deliveryCount)
            logger.error("cannot load the instance; handing it back", metadata: ["error": "\(loadError)", "durable.retryIn": "\(delay)"])
            try await self.provider.abandonOrchestration(item.lease, delay: delay, reason: .retry)
            self.metrics.turn(orchestration: item.instance.name, .failed)
            return nil
        }
        if item.historyLength == 0, item.instance.status == .pending {
            // A new instance's first turn (a continued execution starts with an empty history too).
            self.metrics.record(self.metrics.startToFirstTurn, from: item.instance.createdAt, to: item.claimedAt)
        }
        let resumed = self.resume.withLock { $0.attach(item.lease.id) }
        if resumed {
            logger.info("resume: attached", metadata: ["durable.history": "\(item.history.count)", "durable.messages": "\(item.messages.count)"])
        }
        let result: TurnResult
        do throws(DurableError) {
            result = try self.traced(resumed ? "durable.resume.replay" : nil, instance: item.lease.id) { () throws(DurableError) -> TurnResult in
                try self.engine.runTurn(
                    instanceID: item.lease.id,
                    history: item.history,
                    messages: item.messages.map(\.kind),
                    now: item.claimedAt
                )
            }
        } catch let error where error.code == .orchestrationNotRegistered {
            try await self.handBackUnregistered(item, error: error, logger: logger)
            return nil
        } catch {
            // Divergence or a malformed history: the execution cannot go on; fail it with the reason.
            logger.error("orchestration failed by the engine", metadata: ["error": "\(error)"])
            result = Self.failure(of: item, error)
        }
        return try await self.commit(item, result.tracing(trace), resumed: resumed, logger: logger)
    }

    @discardableResult
    private func commit(_ item: OrchestrationWorkItem, _ result: TurnResult, resumed: Bool, logger: Logger) async throws -> TurnResult {
        try await self.localOutcomes.committing(item.lease.id) {
            try await self.commitAndFollow(item, result, resumed: resumed, logger: logger)
        }
    }

    private func commitAndFollow(_ item: OrchestrationWorkItem, _ result: TurnResult, resumed: Bool, logger: Logger) async throws -> TurnResult {
        var result = result
        let prefetched: [ActivityWorkItem]
        do {
            prefetched = try await self.provider.commitTurn(
                item.lease,
                TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result, prefetch: self.prefetchRequest)
            )
        } catch let error as DurableError where error.code == .payloadTooLarge {
            // Deterministic: every delivery would produce the same turn. Fail the execution once,
            // with what was too large, instead of handing it back forever.
            self.engine.evict(instanceID: item.lease.id)
            logger.error("the turn writes a payload over the limit; failing the execution", metadata: ["error": "\(error)"])
            result = Self.failure(of: item, error)
            prefetched = try await self.provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result))
        }
        if resumed {
            logger.info("resume: replayed", metadata: ["durable.newEvents": "\(result.newEvents.count)"])
        }
        self.committed(result, instanceID: item.lease.id, orchestration: item.instance.name, now: item.claimedAt, prefetched: prefetched, logger: logger)
        return result
    }

    /// Activities a turn schedules are leased to this node in the same commit, up to its free activity
    /// slots: they start without a notification, wake-up or claim.
    var prefetchRequest: ClaimRequest? {
        guard !self.stopping else { return nil }
        guard let lane = self.prefetchLane else { return nil }
        var prefetch = self.claimRequest
        prefetch.queue = lane.queue
        prefetch.limit = lane.free
        return prefetch
    }

    /// What follows a committed turn: local wake-ups for its timers, its prefetched activities, logs.
    func committed(_ result: TurnResult, instanceID: String, orchestration: String, now: Date, prefetched: [ActivityWorkItem], logger: Logger) {
        self.counters.withLock { $0.turns += 1 }
        for due in result.timersFired {
            self.metrics.record(self.metrics.timerLag, from: due, to: now)
        }
        for discarded in result.discardedMessages {
            logger.info(
                "message discarded: it came after the execution ended",
                metadata: ["durable.message": .string(discarded.message.name), "durable.reason": .string(discarded.reason.rawValue)]
            )
            self.metrics.messageDiscarded(reason: discarded.reason.rawValue)
        }
        if orchestration == DurableSchedule.name {
            // A schedule's firings: the children it starts, named after their nominal time.
            for case .startSubOrchestration(let childID, _) in result.actions {
                guard let nominal = ScheduleStateMachine.nominal(ofInstance: childID) else { continue }
                self.metrics.scheduleFired(lagFrom: nominal, to: now)
            }
        }
        for case .scheduleTimer(_, let fireAt) in result.actions {
            let delay = fireAt.timeIntervalSince(now)
            self.orchestrationWake.signal(after: .milliseconds(Int64(max(0, delay) * 1000) + 1))
        }
        if !prefetched.isEmpty, let lane = self.prefetchLane {
            lane.local.push(prefetched)
            lane.wake.signal(claim: false)
        }
        if let outcome = result.outcome {
            self.metrics.finished(orchestration: orchestration, status: outcome.metricLabel)
            if case .completed(let output) = outcome { self.localOutcomes.completed(instanceID, output: output) }
        }
        if let outcome = result.outcome, case .continuedAsNew = outcome {} else if let outcome = result.outcome {
            logger.debug("execution ended", metadata: ["durable.outcome": "\(outcome)"])
            if self.resume.withLock({ $0.complete(instanceID) }) {
                self.traced("durable.resume.complete", instance: instanceID) {}
                logger.info("resume: completed", metadata: ["durable.outcome": "\(outcome)"])
            }
        }
    }

    /// Hands back an instance this node has no handler for, with growing backoff, saying what is
    /// missing, what this node has and which live nodes have it.
    private func handBackUnregistered(_ item: OrchestrationWorkItem, error: DurableError, logger: Logger) async throws {
        let misses = item.handlerMisses + 1
        let delay = self.missingHandlerDelay(misses: misses)
        let name = error.name ?? item.instance.name
        let version = error.version ?? item.instance.version
        let waitingFor = version.isEmpty ? name : "\(name) \(version)"
        self.countMissingHandler(kind: "orchestration", name: name)
        self.metrics.turnDiscarded(orchestration: name, .missingHandler)
        if let limit = self.configuration.missingHandlerLimit, misses >= limit {
            logger.error("no handler after \(misses) claims; failing the instance", metadata: ["durable.missing": .string(waitingFor)])
            var failure = error
            failure.message += " (given up after \(misses) claims found no handler)"
            try await self.provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: Self.failure(of: item, failure)))
            return
        }
        let nodes = (try? await self.provider.listNodes(staleAfter: self.configuration.staleNodeAfter)) ?? []
        let able = nodes.filter { node in
            node.isAlive && (node.registration.capabilities.orchestrations[name].map { version.isEmpty || $0.contains(version) } ?? false)
        }
        logger.warning(
            "no handler for this orchestration on this node; handing it back",
            metadata: [
                "durable.missing": .string(waitingFor),
                "durable.registry": .string(self.registry.summary),
                "durable.nodesWithHandler": .string(able.isEmpty ? "none" : able.map(\.registration.id).joined(separator: ", ")),
                "durable.handlerMisses": "\(misses)",
                "durable.retryIn": .string("\(delay)"),
            ]
        )
        try await self.provider.abandonOrchestration(item.lease, delay: delay, reason: .missingHandler(waitingFor))
    }

    /// Fails an instance whose turn was delivered more often than the poison limit.
    private func poison(_ item: OrchestrationWorkItem, logger: Logger) async {
        self.engine.evict(instanceID: item.lease.id)
        let error = DurableError(
            .poisoned,
            "a turn of '\(item.instance.name)' was delivered \(item.deliveryCount) times without completing (its node crashed, hung or lost the lease each time); "
                + "given up after the limit of \(self.configuration.poisonLimit)"
                + (item.loadError.map { "; last load error: \($0.message)" } ?? ""),
            instanceID: item.lease.id,
            name: item.instance.name,
            version: item.instance.version
        )
        logger.error("poisoned: failing the instance", metadata: ["error": "\(error)"])
        self.counters.withLock { $0.poisoned += 1 }
        self.metrics.poisoned(.orchestrations, name: item.instance.name)
        await self.attempt(logger) {
            try await self.provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: Self.failure(of: item, error)))
        }
    }

    func countMissingHandler(kind: String, name: String) {
        self.counters.withLock { $0.missingHandler += 1 }
        self.metrics.missingHandler(kind: kind, name: name)
    }

    /// Runs `body` in a span named `name`, or without one when `name` is nil.
    func traced<T, E: Error>(_ name: String?, instance: String, _ body: () throws(E) -> T) throws(E) -> T {
        guard let name else { return try body() }
        let span = self.tracer.startSpan(name, context: .topLevel, ofKind: .internal)
        span.attributes["durable.instance"] = instance
        span.attributes["durable.node"] = self.registration.id
        defer { span.end() }
        return try body()
    }

    /// The turn that records an engine error as the execution's failure.
    static func failure(of item: OrchestrationWorkItem, _ error: DurableError) -> TurnResult {
        let failure = FailureDetails(error)
        var actions: [TurnAction] = []
        if let parent = item.instance.parent {
            actions.append(.notifyParent(parent, .subOrchestrationFailed(operationID: parent.operationID, failure: failure)))
        }
        let event = HistoryEvent(sequenceNumber: item.historyLength, timestamp: item.claimedAt, kind: .executionFailed(failure: failure))
        return TurnResult(newEvents: [event], actions: actions, outcome: .failed(failure), customStatus: item.instance.customStatus)
    }
}

extension TurnOutcome {
    /// The `status` label of `durable_instances_finished_total`.
    var metricLabel: String {
        switch self {
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .continuedAsNew: "continued_as_new"
        }
    }
}
