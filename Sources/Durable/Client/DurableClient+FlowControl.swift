extension DurableClient {
    /// Creates a rate limit shared by the fleet, or changes the one of that name (``RateLimit``);
    /// activities that name it start at most at its rate from the next admission on.
    public func defineRateLimit(_ limit: RateLimit) async throws {
        try await self.provider.defineRateLimit(limit)
    }

    /// Every defined rate limit, by name.
    public func rateLimits() async throws -> [RateLimit] {
        try await self.provider.rateLimits()
    }

    /// Deletes a rate limit; activities that name it are no longer limited. Returns whether it existed.
    @discardableResult
    public func deleteRateLimit(name: String) async throws -> Bool {
        try await self.provider.deleteRateLimit(name: name)
    }

    /// Starts `O` by key under `policy` (``KeyedStartPolicy``): debounced (one start once the calls
    /// stop for the quiet period, with the last input), as a singleton (at most one instance of the
    /// key at a time; a call while one runs is skipped or queued) or under a concurrency limit (at
    /// most N at a time, the calls beyond it queued in order). Concurrent callers on any number
    /// of processes reach one decision. The instances started are `<key>#0`, `<key>#1`, …; the key's
    /// policy, orchestration, version and queue are those of its first call.
    ///
    /// - Returns: under a concurrency limit, the call's instance, `<key>#<n>` (created now or when
    ///   a slot frees); otherwise the id of the instance that decides for the key, `keyed:<key>`
    ///   (`durable why` it).
    @discardableResult
    public func start<O: Orchestration>(
        _ type: O.Type, input: O.Input, key: String, policy: KeyedStartPolicy, version: String? = nil, queue: String? = nil, priority: Int? = nil
    ) async throws -> String {
        try await self.start(
            name: O.name, input: try Payload(encoding: input), key: key, policy: policy, version: version, queue: queue ?? O.queue, priority: priority
        )
    }

    /// Starts an orchestration by name by key (see ``start(_:input:key:policy:version:queue:)``);
    /// `queue` `nil` is the default queue. The key's instance takes the first call's `priority`, and
    /// the instances it starts inherit it.
    @discardableResult
    public func start(
        name: String, input: Payload, key: String, policy: KeyedStartPolicy, version: String? = nil, queue: String? = nil, priority: Int? = nil
    ) async throws -> String {
        let instanceID = DurableKeyedStart.instanceID(key: key)
        try ProviderValidation.instanceID(key)
        // Room for the `#<n>` of the instances it starts.
        guard key.count <= 170 else { throw DurableError(.invalidInput, "a start key must have at most 170 characters", instanceID: instanceID) }
        if let queue { try TaskQueue.validate(queue) }
        switch policy {
        case .debounce(let quiet) where quiet <= .zero:
            throw DurableError(.invalidInput, "a debounce needs a positive quiet period", instanceID: instanceID)
        case .concurrency(let limit):
            // Slots kept by the provider (which checks the limit): a start with a free slot is one
            // statement, and the end of an instance starts the oldest waiting call in its own
            // transaction, no turn of a key's instance in between (docs/flow-control.md).
            let request = StartRequest(instanceID: KeyedStartMachine.instanceID(key: key, number: 0), name: name, version: version, input: input, queue: queue, priority: priority)
            return try await self.provider.startUnderConcurrencyLimit(request, key: key, limit: limit).instanceID
        default: break
        }
        let record = DurableKeyedStart.Record(orchestration: name, version: version, queue: queue, machine: KeyedStartMachine(key: key, policy: policy))
        let request = StartRequest(instanceID: instanceID, name: DurableKeyedStart.name, input: try Payload(encoding: record), priority: priority)
        // The call's input travels as a Payload, which the key's instance passes to the start as it is.
        let call = HistoryEvent.Kind.eventRaised(name: DurableKeyedStart.eventName, input: try Payload(encoding: input))
        _ = try await self.provider.signalWithStart(request, event: call)
        return instanceID
    }
}
