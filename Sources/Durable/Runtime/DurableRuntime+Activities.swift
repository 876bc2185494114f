import Foundation
import Logging
import Tracing

extension DurableRuntime {
    /// Renews a running activity's lease at once when its cancellation is requested, so it learns
    /// within a round trip instead of at its next renewal.
    func runCancellationListener() async {
        for await taskID in self.provider.activityCancellations() {
            self.runningActivities.withLock { $0[taskID] }?()
        }
    }

    /// One dispatcher per task queue this node serves.
    func runActivityDispatchers() async {
        await withTaskGroup(of: Void.self) { group in
            for lane in self.lanes.values {
                group.addTask { await self.runActivityDispatcher(lane) }
            }
        }
    }

    private func runActivityDispatcher(_ lane: ActivityLane) async {
        var request = self.claimRequest
        request.queue = lane.queue
        // The sessions of dead nodes are taken over by the lane that takes prefetched work.
        request.sessionsOfDeadNodes = lane === self.prefetchLane
        await self.dispatch(
            .activities,
            wake: lane.wake,
            concurrency: lane.concurrency,
            inFlight: lane.inFlight,
            local: lane.local,
            claim: { [request] limit, searchesOrphans in
                var request = request
                request.limit = limit
                request.searchesOrphans = searchesOrphans
                return try await self.provider.claimActivities(request)
            },
            takesOver: { $0.deliveryCount > 1 },
            process: { item, slot in await self.processActivity(item, lane: lane, slot: slot) },
            handBack: { item in
                await self.attempt(self.logger) { try await self.provider.abandonActivity(item.lease, delay: .zero, reason: .interrupted) }
            }
        )
    }

    /// Runs one activity attempt and reports how it ended. Once its code has ended, its `slot` goes
    /// to the next activity of `lane` while the outcome is written (``ActivityLane/handOver()``).
    func processActivity(_ item: ActivityWorkItem, lane: ActivityLane, slot: DispatchSlot) async {
        let request = item.request
        var logger = self.logger
        logger[metadataKey: "durable.instance"] = .string(item.instanceID)
        logger[metadataKey: "durable.activity"] = .string(request.name)
        logger[metadataKey: "durable.operation"] = "\(request.operationID)"
        logger[metadataKey: "durable.attempt"] = "\(item.attempt)"

        if item.cancelRequested {
            logger.info("reporting the cancellation of an activity whose node stopped before it did")
            let failure = FailureDetails(DurableError(.cancelled, "cancelled by its orchestration; its node stopped before it reported how it ended", instanceID: item.instanceID, name: request.name))
            await self.complete(item, lane: lane, slot: slot, .failed(failure), logger: logger)
            return
        }
        if item.deliveryCount > 1 {
            self.metrics.takeover(.activities)
            logger.info("taking over an activity whose previous delivery did not finish", metadata: ["durable.delivery": "\(item.deliveryCount)"])
        }
        if item.deliveryCount > self.configuration.poisonLimit {
            let error = DurableError(
                .poisoned,
                "activity '\(request.name)' was delivered \(item.deliveryCount) times without an outcome (its node crashed, hung or lost the lease each time); "
                    + "given up after the limit of \(self.configuration.poisonLimit)",
                instanceID: item.instanceID,
                name: request.name
            )
            logger.error("poisoned: failing the activity", metadata: ["error": "\(error)"])
            self.counters.withLock { $0.poisoned += 1 }
            self.metrics.poisoned(.activities, name: request.name)
            await self.complete(item, lane: lane, slot: slot, .failed(FailureDetails(error)), logger: logger)
            return
        }
        guard let handler = self.registry.activity(name: request.name) else {
            let misses = item.handlerMisses + 1
            let delay = self.missingHandlerDelay(misses: misses)
            let waitingFor = "activity \(request.name)"
            self.countMissingHandler(kind: "activity", name: request.name)
            if let limit = self.configuration.missingHandlerLimit, misses >= limit {
                let error = DurableError(.activityNotRegistered, "no node had activity '\(request.name)' after \(misses) claims", instanceID: item.instanceID, name: request.name)
                await self.complete(item, lane: lane, slot: slot, .failed(FailureDetails(error)), logger: logger)
                return
            }
            logger.warning(
                "no handler for this activity; handing it back",
                metadata: ["durable.registry": .string(self.registry.summary), "durable.retryIn": .string("\(delay)")]
            )
            await self.attempt(logger) { try await self.provider.abandonActivity(item.lease, delay: delay, reason: .missingHandler(waitingFor)) }
            return
        }

        if let rateLimit = request.rateLimit, !item.rateAdmitted, await !self.admit(item, rateLimit: rateLimit, logger: logger) { return }

        let heartbeat = ActivityHeartbeat()
        let context = ActivityContext(
            instanceID: item.instanceID,
            name: request.name,
            operationID: request.operationID,
            attempt: item.attempt,
            logger: logger,
            previousHeartbeat: item.lastHeartbeat,
            heartbeats: heartbeat
        )
        let lease = item.lease
        let heartbeatTimeout = request.heartbeatTimeout
        // With a heartbeat timeout, heartbeats are written every fifth of it, and a silence is
        // noticed at its deadline (a check without a new heartbeat costs no statement).
        let renewal = heartbeatTimeout.map { min(self.configuration.leaseRenewalInterval, $0 / 5) } ?? self.configuration.leaseRenewalInterval
        // The lease lasts only as long as the heartbeats keep coming, and two checks longer than the
        // timeout: this node gives a silent attempt up (a retry) before the lease could lapse under
        // it and another claim took the same attempt over; when this node dies it lapses soon.
        let heartbeatLease = heartbeatTimeout.map { $0 + renewal * 2 }
        if let heartbeatLease {
            _ = try? await self.provider.heartbeatActivity(lease, details: nil, extendBy: heartbeatLease)
        }
        // Just past the deadline, so that the silence is then longer than the timeout.
        var silenceCheck: (@Sendable () -> ContinuousClock.Instant)?
        if let heartbeatTimeout {
            let past = heartbeatTimeout + Duration.milliseconds(1)
            silenceCheck = { heartbeat.silentUntil(past) }
        }
        let started = ContinuousClock.now
        let span = self.startSpan("durable.activity", parent: request.traceContext, instanceID: item.instanceID)
        defer { span.end() }
        span.attributes["durable.activity.name"] = request.name
        span.attributes["durable.activity.operation"] = request.operationID
        span.attributes["durable.activity.attempt"] = item.attempt
        span.attributes["durable.execution.id"] = item.executionID
        span.attributes["durable.lease.epoch"] = Int(item.lease.epoch)
        let keeping = LeaseRenewal<Payload>(
            every: renewal,
            maxDuration: self.configuration.maxActivityDuration,
            checkBy: silenceCheck,
            gracePeriod: self.configuration.activityGracePeriod,
            renew: { try await self.renew(lease, heartbeat, timeout: heartbeatTimeout, extendBy: heartbeatLease) },
            onRenewalError: { [logger] in logger.warning("lease renewal failed", metadata: ["error": "\($0)"]) }
        )
        self.runningActivities.withLock { $0[lease.id] = keeping.renewNow }
        defer { _ = self.runningActivities.withLock { $0.removeValue(forKey: lease.id) } }
        var result = await keeping.run {
            try await withTimeout(
                request.timeout,
                error: DurableError(
                    .timedOut,
                    "activity '\(request.name)' attempt \(item.attempt) ran past its timeout of \(request.timeout.map { "\($0)" } ?? "-")",
                    instanceID: item.instanceID,
                    name: request.name
                )
            ) {
                try await handler(request.input, context)
            }
        }

        var abandoned: Duration?
        if case .failure(WorkInterruption.abandoned(let interruption, let after)) = result {
            abandoned = after
            self.metrics.abandoned(activity: request.name)
            logger.error("activity code did not return within the grace period of \(after) after it was interrupted; abandoned, it may still be running")
            result = .failure(interruption)
        }
        if case .failure(WorkInterruption.heartbeatTimedOut(let timeout)) = result {
            // A failed attempt like any other: retried per the policy, on any node.
            result = .failure(DurableError(
                .timedOut, "activity '\(request.name)' attempt \(item.attempt) sent no heartbeat for \(timeout)", instanceID: item.instanceID, name: request.name
            ))
        }
        if case .failure(WorkInterruption.hung) = result {} else {
            self.counters.withLock { $0.activities += 1 }
        }
        let duration = ContinuousClock.now - started
        if case .failure(let error) = result {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
        }
        switch result {
        case .failure(WorkInterruption.hung(let limit)):
            self.metrics.attempt(activity: request.name, .hung, duration: duration)
            logger.error("activity ran past \(limit); cancelled, its lease left to expire, the delivery counts towards poisoning")
            // The next claim learns when the lease expires.
            self.lanes[request.queueName]?.wake.signal()
        case .success(let output):
            self.metrics.attempt(activity: request.name, .completed, duration: duration)
            await self.complete(item, lane: lane, slot: slot, .completed(output), logger: logger)
        case .failure(WorkInterruption.leaseLost):
            self.metrics.attempt(activity: request.name, .leaseLost, duration: duration)
            self.metrics.leaseLost(.activities)
            logger.warning("activity result discarded: lease lost to another owner")
        case .failure(WorkInterruption.cancelRequested):
            self.metrics.attempt(activity: request.name, .cancelled, duration: duration)
            logger.info("activity cancelled by its orchestration")
            let message = abandoned.map { "cancelled by its orchestration; abandoned after it did not stop within \($0)" } ?? "cancelled by its orchestration"
            let failure = FailureDetails(DurableError(.cancelled, message, instanceID: item.instanceID, name: request.name))
            await self.complete(item, lane: lane, slot: slot, .failed(failure), logger: logger)
        case .failure(let error) where self.stopping && (error is CancellationError || Task.isCancelled):
            self.metrics.attempt(activity: request.name, .interrupted, duration: duration)
            logger.info("activity interrupted by shutdown; handing it back")
            await self.attempt(logger) { try await self.provider.abandonActivity(lease, delay: .zero, reason: .interrupted) }
        case .failure(let error):
            let failure = FailureDetails(error)
            if let delay = request.retry.delay(afterAttempt: item.attempt, failure: failure) {
                // The checkpoint sent just before the failure is the one the retry needs.
                if let details = heartbeat.takePending() {
                    _ = try? await self.provider.heartbeatActivity(lease, details: details, extendBy: nil)
                }
                self.metrics.attempt(activity: request.name, .retried, duration: duration)
                logger.info("activity attempt failed; retrying", metadata: ["error": "\(failure)", "durable.retryIn": "\(delay)"])
                await self.attempt(logger) { try await self.provider.abandonActivity(lease, delay: delay, reason: .failedAttempt(failure)) }
            } else {
                self.metrics.attempt(activity: request.name, .failed, duration: duration)
                logger.info("activity failed", metadata: ["error": "\(failure)"])
                await self.complete(item, lane: lane, slot: slot, .failed(failure), logger: logger)
            }
        }
    }

    /// Admits an attempt under its rate limit: `true` when it starts now; otherwise the provider
    /// handed it back until its slot, and this node's lane is woken then (the slot is a due time
    /// no notification announces).
    private func admit(_ item: ActivityWorkItem, rateLimit: String, logger: Logger) async -> Bool {
        do {
            guard let slot = try await self.provider.admitActivity(item.lease, rateLimit: rateLimit) else { return true }
            let delay = Duration.milliseconds(Int64(max(0, slot.timeIntervalSince(Date().addingTimeInterval(self.providerClockOffset.withLock { $0 }))) * 1000))
            self.metrics.rateLimited(rateLimit, delay: delay)
            self.lanes[item.request.queueName]?.wake.signal(after: delay + .milliseconds(1))
            logger.debug("rate limit '\(rateLimit)': the attempt waits for its slot", metadata: ["durable.retryIn": "\(delay)"])
        } catch let error as DurableError where error.code == .leaseLost {
            logger.warning("activity not admitted: lease lost to another owner")
        } catch {
            // Not admitted: it is not started, so the limit holds; it runs after a short pause.
            logger.warning("admitting the activity under its rate limit failed; handing it back", metadata: ["error": "\(error)"])
            await self.attempt(logger) { try await self.provider.abandonActivity(item.lease, delay: .seconds(1), reason: .interrupted) }
        }
        return false
    }

    /// One lease renewal of a running activity, carrying its latest heartbeat. With a heartbeat
    /// timeout, only a new heartbeat extends the lease (by `extendBy`), and a silence longer than
    /// the timeout gives the attempt up.
    private func renew(_ lease: Lease, _ heartbeat: ActivityHeartbeat, timeout: Duration?, extendBy: Duration?) async throws -> Bool {
        if let timeout, heartbeat.silence > timeout { throw WorkInterruption.heartbeatTimedOut(timeout) }
        let details = heartbeat.takePending()
        guard details != nil || timeout == nil else { return false }
        if details == nil { return try await self.provider.renewActivity(lease) }
        return try await self.provider.heartbeatActivity(lease, details: details, extendBy: extendBy)
    }

    private func complete(_ item: ActivityWorkItem, lane: ActivityLane, slot: DispatchSlot, _ outcome: ActivityOutcome, logger: Logger) async {
        let lease = item.lease
        // Only the write is left: a slot held through it (a group commit's WAL flush and its
        // confirmation) would keep the next activity waiting on the database, not on running code.
        let handedOver = lane.handOver()
        if handedOver { slot.free() }
        defer { if handedOver { lane.recorded() } }
        await withLeaseHeld(every: self.configuration.leaseRenewalInterval, renew: { try await self.provider.renewActivity(lease) }) {
            await self.record(item, outcome, logger: logger)
        }
    }

    private func record(_ item: ActivityWorkItem, _ outcome: ActivityOutcome, logger: Logger) async {
        if await self.completeWithTurn(item, outcome, logger: logger) { return }
        // When this node keeps the instance's execution, the turn that consumes the result may be
        // claimed with it. Such turns wait in a local queue (bounded by the turn concurrency) and go
        // before claims from the database: they cost no claim of their own and no replay.
        var claim = self.claimRequest
        claim.limit = self.stopping ? 0 : max(0, self.configuration.orchestrationConcurrency - self.localTurns.count)
        let known = claim.limit > 0 ? self.engine.cachedHistoryCount(instanceID: item.instanceID, executionID: item.executionID) : nil
        let completion = ActivityCompletion(lease: item.lease, outcome: outcome, knownHistory: known)
        switch await self.completions.complete(completion, claim: known == nil ? nil : claim) {
        case .success(true):
            break
        case .success(false):
            self.metrics.leaseLost(.activities)
            logger.warning("activity result rejected: lease lost to another owner")
        case .failure(let error):
            logger.warning("recording the activity result failed; it runs again when its lease expires", metadata: ["error": "\(error)"])
        }
    }

    /// When this node keeps the instance's execution and this was the only activity it waits for,
    /// runs the turn that consumes the outcome here and commits both in one step: no message, no
    /// wake-up, no claim. Returns `false` when the outcome still has to be recorded.
    private func completeWithTurn(_ item: ActivityWorkItem, _ outcome: ActivityOutcome, logger: Logger) async -> Bool {
        guard !self.stopping else { return false }
        let now = Date().addingTimeInterval(self.providerClockOffset.withLock { $0 })
        let started = ContinuousClock.now
        guard let start = self.engine.cachedStart(instanceID: item.instanceID) else { return false }
        let orchestration = start.name
        let result: TurnResult?
        do throws(DurableError) {
            result = try self.engine.continueWithResult(
                instanceID: item.instanceID, executionID: item.executionID, operationID: item.request.operationID,
                result: outcome.message(operationID: item.request.operationID), now: now
            )
        } catch {
            // The execution was dropped; a claimed turn replays it and records the failure.
            logger.debug("the turn with the outcome failed; recording the outcome alone", metadata: ["error": "\(error)"])
            return false
        }
        guard var result else { return false }
        let span = self.startSpan("durable.turn", parent: start.traceContext, instanceID: item.instanceID)
        defer { span.end() }
        span.attributes["durable.orchestration.name"] = orchestration
        span.attributes["durable.orchestration.version"] = start.version
        span.attributes["durable.execution.id"] = item.executionID
        span.attributes["durable.turn.joined"] = true
        result = result.tracing(self.tracer.carrier(for: span.context))
        let completion = ActivityCompletion(lease: item.lease, outcome: outcome)
        let turn = TurnCommit(consumedMessageIDs: [], result: result, prefetch: self.prefetchRequest)
        return await self.localOutcomes.committing(item.instanceID) {
            await self.commitOutcome(completion, with: turn, item: item, orchestration: orchestration, now: now, started: started, logger: logger)
        }
    }

    /// Commits an activity's outcome with the turn computed from it (``completeWithTurn(_:_:logger:)``);
    /// `false` when the outcome still has to be recorded.
    private func commitOutcome(
        _ completion: ActivityCompletion, with turn: TurnCommit, item: ActivityWorkItem, orchestration: String, now: Date, started: ContinuousClock.Instant, logger: Logger
    ) async -> Bool {
        let result = turn.result
        do {
            switch try await self.provider.completeActivity(completion, committing: turn) {
            case .committed(let prefetched):
                self.counters.withLock { $0.joinedTurns += 1 }
                self.committed(result, instanceID: item.instanceID, orchestration: orchestration, now: now, prefetched: prefetched, logger: logger)
                self.metrics.turn(orchestration: orchestration, .committed, duration: ContinuousClock.now - started)
            case .recorded:
                // Another turn comes first (the instance was busy or moved on): the kept execution
                // is ahead of the stored history.
                self.engine.evict(instanceID: item.instanceID)
                self.orchestrationWake.signal()
            case .leaseLost:
                self.engine.evict(instanceID: item.instanceID)
                self.metrics.leaseLost(.activities)
                logger.warning("activity result rejected: lease lost to another owner")
            }
        } catch {
            // Perhaps the turn is over a payload limit, or the statement failed: the outcome is
            // recorded on its own, and a claimed turn replays and decides.
            self.engine.evict(instanceID: item.instanceID)
            logger.debug("the turn with the outcome was not committed; recording the outcome alone", metadata: ["error": "\(error)"])
            return false
        }
        return true
    }

    /// Runs a provider write whose failure leaves the work to lease expiry: logged, not thrown. It
    /// runs in a task of its own so that it lands even when shutdown cancelled the work.
    func attempt(_ logger: Logger, _ write: @escaping @Sendable () async throws -> Void) async {
        do {
            try await Task { try await write() }.value
        } catch let error as DurableError where error.code == .leaseLost {
            logger.warning("write rejected: lease lost to another owner")
        } catch {
            logger.warning("provider write failed; the work becomes visible again when its lease expires", metadata: ["error": "\(error)"])
        }
    }
}
