import Durable
import Foundation

// Activities leased with the commit that schedules them, and completions written in batches or
// together with the turn that consumes them.
extension ProviderConformance {
    static let completionChecks: [Check] = [
        Check(name: "a commit leases new activities to the committer", body: prefetch),
        Check(name: "a commit applied already returns only the activities it leased", body: appliedPrefetch),
        Check(name: "batched completions are fenced one by one", body: batchedCompletions),
        Check(name: "a completion with no sibling outstanding claims the join", body: completionClaimsTheJoin),
        Check(name: "an activity outcome commits the turn that consumes it", body: completionCommitsTheTurn),
    ]
}

private func prefetch(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "prefetch")
    let item = try await claimUntil(provider, owner: "me")[0]
    let prefetch = ClaimRequest(owner: "me", limit: 2, capabilities: Capabilities(orchestrations: [:], activities: ["Work"]))
    let leased = try await provider.commitTurn(
        item.lease, firstTurn(item, scheduling: [(1, "Work", nil), (2, "Work", nil), (3, "Other", nil), (4, "Work", nil)], prefetch: prefetch)
    )
    try require(leased.map(\.request.operationID).sorted() == [1, 2], "the first two Work activities are leased, got \(leased.map(\.request.operationID))")
    try require(leased.allSatisfy { $0.lease.owner == "me" && $0.lease.epoch == 1 && $0.attempt == 1 && $0.instanceID == "prefetch" }, "prefetched leases")
    let others = try await provider.claimActivities(ClaimRequest(owner: "other", limit: 10)).items
    try require(others.map(\.request.operationID).sorted() == [3, 4], "only the unleased tasks are claimable by others, got \(others.map(\.request.operationID))")
    try await provider.completeActivity(leased[0].lease, .completed(.null))
    let next = try await claimUntil(provider, owner: "me")[0]
    try require(next.messages.contains { $0.kind == .activityCompleted(operationID: leased[0].request.operationID, result: .null) }, "the prefetched activity's result arrived")
}

/// A commit whose answer was lost is retried, and the retry is recognized as applied: it must hand
/// back the activities that commit leased, not one it left unleased that the same node has claimed
/// (and runs) since.
private func appliedPrefetch(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "applied")
    let item = try await claimUntil(provider, owner: "me")[0]
    let commit = firstTurn(item, scheduling: [(1, "Work", nil), (2, "Work", nil)], prefetch: ClaimRequest(owner: "me", limit: 1))
    let leased = try await provider.commitTurn(item.lease, commit)
    try require(leased.map(\.request.operationID) == [1], "the first activity is leased, got \(leased.map(\.request.operationID))")
    let claimed = try await provider.claimActivities(ClaimRequest(owner: "me", limit: 10)).items
    try require(claimed.map(\.request.operationID) == [2], "the other is claimed by the same node, got \(claimed.map(\.request.operationID))")
    let again = try await provider.commitTurn(item.lease, commit)
    try require(again.map(\.request.operationID) == [1], "the retried commit hands back only what it leased, got \(again.map(\.request.operationID))")
}

private func batchedCompletions(_ factory: ProviderConformance.Factory) async throws {
    // Renewed every 50 ms: a lease of 3 s survives a loaded machine's pauses (1.5 s did not once,
    // with seven PostgreSQL suites running in parallel).
    let provider = try await factory(.seconds(3))
    try await start(provider, "batch")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 3)
    let first = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items
    try require(first.count == 3, "three tasks")
    // One task's lease runs out and is taken over; its old lease must be rejected in the batch.
    let stale = first[0]
    var taken: [ActivityWorkItem] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while taken.isEmpty, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
        for item in first.dropFirst() { _ = try? await provider.renewActivity(item.lease) }
        taken = try await provider.claimActivities(ClaimRequest(owner: "b", limit: 10)).items
    }
    try require(taken.map(\.lease.id) == [stale.lease.id], "only the unrenewed task was taken over")
    let lost = try await provider.completeActivities(first.map { ActivityCompletion(lease: $0.lease, outcome: .completed(.null)) }, claim: nil).lost
    try require(lost == [stale.lease], "exactly the stale lease is reported lost, got \(lost)")
    let item = try await claimUntil(provider, owner: "c")[0]
    let completed = item.messages.compactMap { if case .activityCompleted(let op, _) = $0.kind { op } else { nil } }
    try require(completed.sorted() == first.dropFirst().map(\.request.operationID).sorted(), "the current leases' results arrived: \(completed)")
    try require(
        try await provider.completeActivities([ActivityCompletion(lease: taken[0].lease, outcome: .completed(.null))], claim: nil).lost.isEmpty,
        "the new owner completes"
    )
}

private func completionClaimsTheJoin(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "join")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 3)
    let tasks = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items.sorted { $0.request.operationID < $1.request.operationID }
    try require(tasks.count == 3, "three tasks")
    let known = 4  // executionStarted and three activityScheduled
    func completion(_ task: ActivityWorkItem) -> ActivityCompletion {
        ActivityCompletion(lease: task.lease, outcome: .completed(.null), knownHistory: known)
    }
    let claim = ClaimRequest(owner: "a", limit: 10)

    // A sibling is still outstanding: the result is only queued, for any node's claim.
    let partial = try await provider.completeActivities([completion(tasks[0])], claim: claim)
    try require(partial.claimed.isEmpty, "no turn claimed while a sibling activity is outstanding")
    try require(partial.readyForTurn, "the result is ready for a turn")

    // A stale lease claims nothing.
    let stale = Lease(id: tasks[1].lease.id, owner: "a", epoch: tasks[1].lease.epoch + 7)
    let rejected = try await provider.completeActivities([ActivityCompletion(lease: stale, outcome: .completed(.null), knownHistory: known)], claim: claim)
    try require(rejected.lost == [stale] && rejected.claimed.isEmpty, "a stale completion claims nothing")

    // The last outstanding results: the join is claimed in the same step, with every result and
    // the history from the last known event on.
    let joined = try await provider.completeActivities([completion(tasks[1]), completion(tasks[2])], claim: claim)
    try require(joined.claimed.count == 1, "the join was claimed, got \(joined.claimed.count)")
    try require(!joined.readyForTurn, "nothing is left for other nodes")
    let item = joined.claimed[0]
    let results = item.messages.compactMap { if case .activityCompleted(let op, _) = $0.kind { op } else { nil } }
    try require(results == [1, 2, 3], "all three results in order, got \(results)")
    try require(item.historyOffset == known - 1 && item.history.map(\.sequenceNumber) == [known - 1], "the history from the last known event on, got offset \(item.historyOffset)")
    try require(item.historyLength == known, "the history length counts the events not returned")
    try require(item.lease.owner == "a", "leased to the completer")
    try require(try await provider.claimOrchestrations(ClaimRequest(owner: "b", limit: 10)).items.isEmpty, "the claimed turn is not claimable by others")

    // The turn commits under that lease like any other.
    let next = HistoryEvent(sequenceNumber: known, timestamp: item.claimedAt, kind: item.messages[0].kind)
    try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: [item.messages[0].id], result: TurnResult(newEvents: [next], actions: [])))
    let rest = try await claimUntil(provider, owner: "b")[0]
    try require(rest.messages.count == 2 && rest.history.count == known + 1, "unconsumed results stay; the history grew by the committed event")
}

private func completionCommitsTheTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    func firstTurn(_ id: String, activities: Int) async throws -> [ActivityWorkItem] {
        try await start(provider, id)
        try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a") { $0.contains { $0.lease.id == id } }.first { $0.lease.id == id }!, activities: activities)
        return try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items
            .filter { $0.instanceID == id }.sorted { $0.request.operationID < $1.request.operationID }
    }
    /// The turn that records the result at `sequence` and then schedules `next` or completes.
    func turn(_ task: ActivityWorkItem, at sequence: Int, next: Int?) -> TurnCommit {
        let now = Date()
        var events = [HistoryEvent(sequenceNumber: sequence, timestamp: now, kind: .activityCompleted(operationID: task.request.operationID, result: .null))]
        var actions: [TurnAction] = []
        var outcome: TurnOutcome?
        if let next {
            events.append(HistoryEvent(sequenceNumber: sequence + 1, timestamp: now, kind: .activityScheduled(operationID: next, name: "Work", input: .null, retry: .none, timeout: nil)))
            actions.append(.scheduleActivity(ActivityRequest(operationID: next, name: "Work", input: .null, retry: .none, timeout: nil)))
        } else {
            events.append(HistoryEvent(sequenceNumber: sequence + 1, timestamp: now, kind: .executionCompleted(output: .null)))
            outcome = .completed(output: .null)
        }
        return TurnCommit(consumedMessageIDs: [], result: TurnResult(newEvents: events, actions: actions, outcome: outcome), prefetch: ClaimRequest(owner: "a", limit: 5))
    }

    // The instance is free and waits for this activity only: outcome and turn commit together.
    let single = try await firstTurn("fused", activities: 1)
    try require(single.count == 1, "one task")
    let stale = ActivityCompletion(lease: Lease(id: single[0].lease.id, owner: "a", epoch: single[0].lease.epoch + 3), outcome: .completed(.null))
    guard case .leaseLost = try await provider.completeActivity(stale, committing: turn(single[0], at: 2, next: 2)) else {
        throw ConformanceFailure("a stale activity lease must change nothing")
    }
    let first = try await provider.completeActivity(ActivityCompletion(lease: single[0].lease, outcome: .completed(.null)), committing: turn(single[0], at: 2, next: 2))
    guard case .committed(let prefetched) = first else { throw ConformanceFailure("the turn was not committed with the outcome: \(first)") }
    try require(prefetched.map(\.request.operationID) == [2], "the turn's new activity is leased to the committer")
    try require(try await provider.history(instanceID: "fused").count == 4, "the history holds the result and the turn's decision")
    try require(try await provider.claimOrchestrations(ClaimRequest(owner: "b", limit: 10)).items.allSatisfy { $0.lease.id != "fused" }, "no message was left for a claim")
    let last = try await provider.completeActivity(ActivityCompletion(lease: prefetched[0].lease, outcome: .completed(.null)), committing: turn(prefetched[0], at: 4, next: nil))
    guard case .committed = last else { throw ConformanceFailure("the last turn was not committed: \(last)") }
    try require(try await provider.instance(id: "fused")?.status == .completed, "the instance completed")

    // A sibling is outstanding: only the outcome is recorded, as a message for a claimed turn.
    let pair = try await firstTurn("sibling", activities: 2)
    guard case .recorded = try await provider.completeActivity(ActivityCompletion(lease: pair[0].lease, outcome: .completed(.null)), committing: turn(pair[0], at: 3, next: nil)) else {
        throw ConformanceFailure("with a sibling outstanding the outcome must only be recorded")
    }
    try require(try await provider.history(instanceID: "sibling").count == 3, "the turn was not committed")

    // Someone holds the instance: only the outcome is recorded.
    let busy = try await firstTurn("busy", activities: 1)
    try await provider.sendMessage(instanceID: "busy", .eventRaised(name: "e", input: .null))
    let holder = try await claimUntil(provider, owner: "b") { $0.contains { $0.lease.id == "busy" } }.first { $0.lease.id == "busy" }!
    guard case .recorded = try await provider.completeActivity(ActivityCompletion(lease: busy[0].lease, outcome: .completed(.null)), committing: turn(busy[0], at: 2, next: nil)) else {
        throw ConformanceFailure("a held instance must not be committed by another")
    }
    try await provider.abandonOrchestration(holder.lease, delay: .zero, reason: .interrupted)
    let after = try await claimUntil(provider, owner: "c") { $0.contains { $0.lease.id == "busy" } }.first { $0.lease.id == "busy" }!
    try require(after.messages.count == 2 && after.history.count == 2, "the event and the result wait for the next turn")
}
