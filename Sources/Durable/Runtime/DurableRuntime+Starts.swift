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

    /// Starts `request`, claiming its first turn for this node when ``mayStartEagerly(_:)``.
    func start(_ request: StartRequest) async throws -> StartResult {
        guard self.mayStartEagerly(request) else { return try await self.provider.createInstance(request) }
        let (result, turn) = try await self.provider.createInstance(request, claimingFirstTurnFor: self.registration.leaseOwner)
        if let turn {
            self.counters.withLock { $0.eagerStarts += 1 }
            self.metrics.eagerStart()
            self.localTurns.push([turn])
            // Local work, not a reason to claim: the dispatcher starts the turn and sleeps again.
            self.orchestrationWake.signal(claim: false)
        }
        return result
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
