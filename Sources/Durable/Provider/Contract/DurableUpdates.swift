/// Updates: a client's request into a running orchestration and its outcome
/// (docs/provider-contract.md, "Updates"). The outcome is written by the turn commit that carries
/// the engine's `answerUpdate` action. A requirement group of ``DurableProvider``.
public protocol DurableUpdates: Sendable {
    /// Records the update and enqueues its `updateRequested` message, in one step. Returns `false`,
    /// changing nothing, when the id is known already (the same update sent again). Throws
    /// `instanceNotFound` for an unknown instance, `instanceFinished` for a finished one, and
    /// `invalidInput` for a bad id, name or input.
    ///
    /// Conformance: "an update is recorded once and its outcome written by the commit".
    func sendUpdate(_ update: UpdateRequest) async throws -> Bool

    /// Update-with-start: creates the instance (as ``DurableInstances/createInstance(_:)``, its start
    /// first) when the id does not exist, then sends the update, in one step; concurrent callers
    /// create one instance. An existing instance keeps its name and input (`.alreadyExists`); a
    /// finished one throws `instanceFinished`. A repeated update id sends nothing more.
    func updateWithStart(_ start: StartRequest, _ update: UpdateRequest) async throws -> StartResult

    /// The update's outcome; `nil` while it has none (or for an unknown id).
    func updateOutcome(id: String) async throws -> UpdateOutcome?

    /// Hints that the update may have an outcome, for the client that waits (then read it).
    func updateOutcomes(id: String) -> AsyncStream<Void>
}
