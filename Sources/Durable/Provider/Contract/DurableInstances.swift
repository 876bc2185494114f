/// Starting instances and sending them messages: the client side of the contract
/// (docs/provider-contract.md, "Client operations"). A requirement group of ``DurableProvider``.
public protocol DurableInstances: Sendable {
    /// Creates an instance and enqueues its `executionStarted` message. Starting an existing id with
    /// the same name and input returns `.alreadyExists` (idempotent); with anything else it throws
    /// `instanceAlreadyExists`.
    func createInstance(_ request: StartRequest) async throws -> StartResult

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
