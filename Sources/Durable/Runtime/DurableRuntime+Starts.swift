import Synchronization

extension DurableRuntime {
    /// A client for this runtime's provider whose starts are eager when they can be
    /// (``Configuration/eagerStarts``): an instance this node can run, on a turn queue it serves,
    /// started while it has a free turn slot, is created already claimed by this node, and its first
    /// turn runs here at once, without a notification to hear or a claim to make. Other starts, and
    /// every start while the node is not running, are plain ones, claimed by whichever node comes
    /// first.
    ///
    /// An eager start skips the claim order (``Priority``): it takes a slot that is free now, not
    /// the turn that has waited longest. Work that waits behind it is claimed when a slot frees, as
    /// it would be anyway.
    public var client: DurableClient {
        DurableClient(provider: self.provider, tracer: self.tracer, runtime: self)
    }

    /// Starts `request`, claiming its first turn for this node when ``mayStartEagerly(_:)``; the
    /// provider may commit that turn, computed here, together with the start (no hand-over to the
    /// dispatcher, and in PostgreSQL one confirmation for both writes).
    func start(_ request: StartRequest) async throws -> StartResult {
        guard self.mayStartEagerly(request) else { return try await self.provider.createInstance(request) }
        let started = ContinuousClock.now
        let computed = Atomic(false)
        let (result, first) = try await self.provider.createInstance(request, claimingFirstTurnFor: self.registration.leaseOwner) { item in
            let commit = await self.firstTurn(item)
            if commit != nil { computed.store(true, ordering: .relaxed) }
            return commit
        }
        switch first {
        case .none:
            // The id existed: a turn computed for it before the provider knew is not its execution.
            if computed.load(ordering: .relaxed) { self.engine.evict(instanceID: request.instanceID) }
        case .claimed(let item):
            self.countEagerStart()
            // Perhaps computed, but not committed: the dispatcher runs it from the start.
            self.engine.evict(instanceID: item.lease.id)
            self.localTurns.push([item])
            // Local work, not a reason to claim: the dispatcher starts the turn and sleeps again.
            self.orchestrationWake.signal(claim: false)
        case .committed(let item, let commit, let prefetched):
            self.countEagerStart()
            self.metrics.turn(orchestration: item.instance.name, .committed, duration: ContinuousClock.now - started)
            self.committed(commit.result, instanceID: item.lease.id, orchestration: item.instance.name, now: item.claimedAt, prefetched: prefetched, logger: self.logger)
        }
        return result
    }

    private func countEagerStart() {
        self.counters.withLock { $0.eagerStarts += 1 }
        self.metrics.eagerStart()
    }

    /// The commit of the first turn of an instance this node starts, computed for the start's own
    /// commit; `nil` when there is none to offer (no handler here, the node stopping, or the turn
    /// running past ``Configuration/maxTurnDuration``, which would hold the caller's start, or an
    /// execution of that id kept here already): the turn then stays claimed, and the dispatcher
    /// runs it as any other.
    func firstTurn(_ item: OrchestrationWorkItem) async -> TurnCommit? {
        // An execution kept here means the id exists (the provider may ask before it knows): not
        // one to replace with a new start's.
        guard !self.stopping, self.engine.cachedStart(instanceID: item.lease.id) == nil else { return nil }
        var traced = item
        let span = self.startTurnSpan(&traced)
        defer { span.end() }
        let turn = traced
        let computed = Abandonable<TurnResult?>()
        Task { computed.finish(.success(self.computeFirstTurn(turn))) }
        let timer = DeadlineQueue.shared.schedule(at: .now + self.configuration.maxTurnDuration) { computed.abandon() }
        let outcome = await computed.result()
        DeadlineQueue.shared.cancel(timer)
        guard case .success(let result?)? = outcome else { return nil }
        span.attributes["durable.turn.new_events"] = result.newEvents.count
        let trace = self.tracer.carrier(for: span.context)
        return TurnCommit(consumedMessageIDs: turn.messages.map(\.id), result: result.tracing(trace), prefetch: self.prefetchRequest)
    }

    private func computeFirstTurn(_ item: OrchestrationWorkItem) -> TurnResult? {
        self.providerClockOffset.withLock { $0 = item.claimedAt.timeIntervalSinceNow }
        self.metrics.record(self.metrics.startToFirstTurn, from: item.instance.createdAt, to: item.claimedAt)
        do throws(DurableError) {
            return try self.engine.runTurn(instanceID: item.lease.id, history: item.history, messages: item.messages.map(\.kind), now: item.claimedAt)
        } catch where error.code == .orchestrationNotRegistered {
            return nil
        } catch {
            self.logger.error("orchestration failed by the engine", metadata: ["durable.instance": .string(item.lease.id), "error": "\(error)"])
            return Self.failure(of: item, error)
        }
    }

    /// Whether a start may claim its first turn for this node: eager starts on, the node running,
    /// its queue served, its name (and version) registered here, and a turn slot free.
    func mayStartEagerly(_ request: StartRequest) -> Bool {
        self.configuration.eagerStarts && self.isRegistered
            && self.configuration.orchestrationQueues.contains(request.queueName)
            && self.registration.capabilities.canRun(name: request.name, version: request.version ?? "")
            && self.turnsInFlight.value + self.localTurns.count < self.configuration.orchestrationConcurrency
    }
}
