/// What became of the first turn of an eager start that offered to commit it
/// (``DurableInstances/createInstance(_:claimingFirstTurnFor:committing:)``).
public enum FirstTurn: Sendable {
    /// No turn for the starter: the id existed already.
    case none
    /// Claimed for the starter (leased to it as a claim would lease it), to be run and committed
    /// like any claimed turn.
    case claimed(OrchestrationWorkItem)
    /// Computed by the starter and committed together with the start: `commit` is what was
    /// committed, `prefetched` the activities it leased to the starter.
    case committed(OrchestrationWorkItem, TurnCommit, prefetched: [ActivityWorkItem])
}
