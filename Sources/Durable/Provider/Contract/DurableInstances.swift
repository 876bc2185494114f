/// Starting instances and sending them messages: the client side of the contract
/// (docs/provider-contract.md, "Client operations"). A requirement group of ``DurableProvider``.
public protocol DurableInstances: Sendable {
    /// Creates an instance and enqueues its `executionStarted` message. Starting an existing id with
    /// the same name and input returns `.alreadyExists` (idempotent); with anything else it throws
    /// `instanceAlreadyExists`.
    func createInstance(_ request: StartRequest) async throws -> StartResult

    /// Creates an instance as ``createInstance(_:)`` does and, when this call created it, claims
    /// its first turn for `owner` in the same step (an eager start): the instance is leased to
    /// `owner` as a claim would lease it (delivery 1), no notification wakes other nodes for it,
    /// and the claimed turn (its `executionStarted` message, an empty history) is returned. An id
    /// that exists returns `.alreadyExists` and no turn, as ``createInstance(_:)`` would.
    ///
    /// Its lease fences it like any claim's: if the owner never commits, the instance is claimable
    /// when the lease expires, or at once by a takeover of a stale owner.
    ///
    /// Conformance: "an eager start leases the first turn to its starter".
    func createInstance(_ request: StartRequest, claimingFirstTurnFor owner: String) async throws -> (StartResult, OrchestrationWorkItem?)

    /// An eager start (``createInstance(_:claimingFirstTurnFor:)``) whose first turn may be
    /// committed in the same step: when the call created the instance, the provider may hand the
    /// claimed turn to `firstTurn`, which computes it, and commit the start and that turn together,
    /// atomically (`.committed`, as ``DurableTurns/commitTurn(_:_:)`` would commit it under the
    /// turn's lease), or leave the turn claimed for the starter (`.claimed`), when `firstTurn`
    /// returns `nil` or whenever the provider prefers (the default never commits). Either way the
    /// start is committed when this returns; an id that exists returns `.alreadyExists` and
    /// `.none`. The provider may hand `firstTurn` the turn before it knows whether the id is new
    /// (the turn it would claim, with its clock's best reading as `claimedAt` and an unwritten start
    /// message): when the id then exists, nothing of that turn is written and the starter drops
    /// what it computed.
    ///
    /// Conformance: "a start that commits its first turn records both".
    func createInstance(
        _ request: StartRequest,
        claimingFirstTurnFor owner: String,
        committing firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> (StartResult, FirstTurn)

    /// Enqueues a message for an instance's current execution: an event or a cancellation. Throws
    /// `instanceNotFound` for an unknown instance and `invalidInput` for an event to a finished one;
    /// cancelling a finished instance does nothing.
    func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws

    /// Raises an event (an `eventRaised` message; anything else is `invalidInput`) to an instance, creating it first (with its `executionStarted`, delivered
    /// before the event) when the id does not exist: one atomic step, so concurrent callers create
    /// one instance and every event reaches it. An existing instance keeps its name and input
    /// (`.alreadyExists`); a finished one throws `invalidInput` and nothing changes.
    ///
    /// Conformance: "signal-with-start creates once under concurrent callers".
    func signalWithStart(_ request: StartRequest, event: HistoryEvent.Kind) async throws -> StartResult

    /// Delivers a publication (``Publication``: the topic and `data`) to every running execution
    /// subscribed, at this moment, to a pattern that matches `topic` (``TopicPattern``), in one
    /// atomic step: each such subscription gets an `eventRaised` named
    /// ``TopicSubscription/eventName(_:)`` of its pattern, visible at once. Subscriptions are the
    /// `subscribe` / `unsubscribe` actions of committed turns; those of ended executions deliver
    /// nothing. Returns how many deliveries it made. A malformed topic or data over the payload
    /// limit throws `invalidInput` / `payloadTooLarge` and delivers nothing.
    ///
    /// Conformance: "a publication reaches exactly the current subscribers of matching patterns".
    func publish(topic: String, data: Payload) async throws -> Int
}

extension DurableInstances {
    /// For providers without eager starts: a plain start, whose first turn is claimed as any other.
    public func createInstance(_ request: StartRequest, claimingFirstTurnFor owner: String) async throws -> (StartResult, OrchestrationWorkItem?) {
        (try await self.createInstance(request), nil)
    }

    /// For providers that do not commit a start with its first turn: the turn stays claimed.
    public func createInstance(
        _ request: StartRequest,
        claimingFirstTurnFor owner: String,
        committing firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> (StartResult, FirstTurn) {
        let (result, turn) = try await self.createInstance(request, claimingFirstTurnFor: owner)
        return (result, turn.map { .claimed($0) } ?? .none)
    }
}
