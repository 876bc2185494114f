import Foundation

/// Orchestration turns: claims, commits, hand-backs and renewals of instance leases
/// (docs/provider-contract.md, "Claiming orchestrations", "Committing a turn", "Abandoning work").
/// A requirement group of ``DurableProvider``.
public protocol DurableTurns: Sendable {
    /// Claims up to `limit` instances that have visible messages and no live lease, orphaned leases
    /// (``ClaimRequest/searchesOrphans``) first, then in claim order.
    func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem>

    /// Applies a turn atomically, fenced by the lease, and releases the lease. With
    /// ``TurnCommit/prefetch``, up to its limit of the activity tasks the turn creates (and the
    /// owner can run) are leased to its owner in the same step and returned, saving a claim.
    @discardableResult
    func commitTurn(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem]

    /// Releases the lease without consuming messages; they become visible again after `delay`.
    func abandonOrchestration(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws

    /// Extends the lease by the provider's lease duration.
    func renewOrchestration(_ lease: Lease) async throws
}
