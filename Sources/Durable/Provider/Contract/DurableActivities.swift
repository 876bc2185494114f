import Foundation

/// Activity tasks: claims, completions (batched, or with the turn that consumes them), hand-backs
/// and renewals (docs/provider-contract.md, "Activities"). A requirement group of
/// ``DurableProvider``.
public protocol DurableActivities: Sendable {
    /// Claims up to `limit` visible activity tasks with no live lease.
    func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem>

    /// Records activities' final outcomes in one step: for each, deletes the task and enqueues the
    /// result for its instance, fenced by its lease. Leases that were no longer current change
    /// nothing and are reported in ``ActivityCompletionResult/lost``; the others are all applied.
    ///
    /// With `claim`, the same step also claims (for `claim.owner`, up to `claim.limit`) the next turn
    /// of each instance that a completion with ``ActivityCompletion/knownHistory`` leaves with no
    /// other activity outstanding and that no one holds: the turn that joins the results costs no
    /// notification and no claim of its own. Such a work item carries the history from sequence
    /// `knownHistory - 1` on (``OrchestrationWorkItem/historyOffset``): the completer already has
    /// the rest.
    func completeActivities(_ completions: [ActivityCompletion], claim: ClaimRequest?) async throws -> ActivityCompletionResult

    /// Records an activity's outcome and commits, in the same step, the turn that consumes it (which
    /// the completer ran on the execution it keeps): when the instance still runs the activity's
    /// execution, nobody holds it, no other activity of it is outstanding and its history ends where
    /// the turn's events begin. The instance is then free, its epoch moved on, as after
    /// ``commitTurn(_:_:)`` (with ``TurnCommit/prefetch`` likewise). Otherwise only the outcome is
    /// recorded, as by ``completeActivities(_:claim:)``, for a later turn.
    func completeActivity(_ completion: ActivityCompletion, committing turn: TurnCommit) async throws -> CompletionCommit

    /// Releases the task; it becomes visible again after `delay`. A `.retry` counts an attempt.
    func abandonActivity(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws

    /// Extends the lease; returns whether cancellation of the activity was requested.
    func renewActivity(_ lease: Lease) async throws -> Bool

    /// Extends the lease by `extendBy` from now (the lease duration when `nil`: a heartbeat timeout
    /// shortens it) and, with `details`, keeps them as the task's latest heartbeat, which later
    /// claims of the task carry (``ActivityWorkItem/lastHeartbeat``, across retries) and
    /// ``DurableReads/activities(instanceID:)`` shows. Fenced like ``renewActivity(_:)``: a stale
    /// lease throws `leaseLost` and writes nothing. Returns whether cancellation was requested.
    ///
    /// Conformance: "heartbeats are kept for the next attempt and a short lease lapses".
    func heartbeatActivity(_ lease: Lease, details: Payload?, extendBy: Duration?) async throws -> Bool
}

extension DurableActivities {
    /// Records one activity's final outcome; throws `leaseLost` when its lease is no longer current.
    public func completeActivity(_ lease: Lease, _ outcome: ActivityOutcome) async throws {
        if try await self.completeActivities([ActivityCompletion(lease: lease, outcome: outcome)], claim: nil).lost.contains(lease) {
            throw DurableError(.leaseLost, "the activity lease \(lease) of '\(lease.owner)' is no longer current")
        }
    }
}
