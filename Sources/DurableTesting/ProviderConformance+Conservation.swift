import Durable
import Foundation

// Message conservation and action ordering: every message a turn claims is recorded, carried over,
// left for a later turn or discarded on purpose; a turn's actions take effect in the order the turn
// produced them.
extension ProviderConformance {
    static let conservationChecks: [Check] = [
        Check(name: "continue-as-new delivers carried-over and waiting messages in arrival order", body: carryOverOrder),
        Check(name: "messages of an ended execution are discarded, not delivered to the next", body: endedExecutionMessages),
        Check(name: "a turn's actions take effect in order", body: actionOrder),
        Check(name: "an oversized activity output is recorded as the attempt's failure", body: oversizedActivityOutput),
        Check(name: "a turn computed from an older history is refused as stale", body: staleTurn),
        Check(name: "a commit repeated after it was applied is recognized, not a lost lease", body: repeatedCommit),
    ]
}

private func raised(_ name: String) -> HistoryEvent.Kind {
    .eventRaised(name: name, input: .null)
}

private func carryOverOrder(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "carry")
    let item = try await claimUntil(provider, owner: "a")[0]
    // Arrives during the turn, after the events the turn carries over.
    try await provider.sendMessage(instanceID: "carry", raised("c"))
    let next = HistoryEvent.ExecutionStarted(name: "Conformance", version: "1.0.0", input: .null, executionID: "carry-2")
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [
        event(item, item.messages.count, .continuedAsNew(input: .null, version: "1.0.0"))
    ]
    try await provider.commitTurn(
        item.lease,
        TurnCommit(
            consumedMessageIDs: item.messages.map(\.id),
            result: TurnResult(newEvents: events, outcome: .continuedAsNew(next: next, carryOver: [raised("a"), raised("b"), .cancelRequested(reason: "r")]))
        )
    )
    let again = try await claimUntil(provider, owner: "a")[0]
    let kinds = again.messages.map(\.kind)
    try require(
        kinds == [.executionStarted(next), raised("a"), raised("b"), .cancelRequested(reason: "r"), raised("c")],
        "the next execution must get its start, the carried-over messages, then those that arrived during the turn: got \(kinds.map(\.name))"
    )
}

private func endedExecutionMessages(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "ended")
    let first = try await claimUntil(provider, owner: "a")[0]
    // The first execution waits on an activity and a timer.
    let request = ActivityRequest(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil)
    let fireAt = first.claimedAt.addingTimeInterval(3600)
    var events = first.messages.enumerated().map { event(first, $0.offset, $0.element.kind) }
    events.append(event(first, events.count, .activityScheduled(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil)))
    events.append(event(first, events.count, .timerCreated(operationID: 2, fireAt: fireAt)))
    try await provider.commitTurn(
        first.lease,
        TurnCommit(
            consumedMessageIDs: first.messages.map(\.id),
            result: TurnResult(newEvents: events, actions: [.scheduleActivity(request), .scheduleTimer(operationID: 2, fireAt: fireAt)])
        )
    )
    let task = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 1)).items
    try require(task.count == 1, "the activity task exists")
    // An event ends the first execution as continued-as-new before the activity or timer is done.
    try await provider.sendMessage(instanceID: "ended", raised("go"))
    let second = try await claimUntil(provider, owner: "a")[0]
    let next = HistoryEvent.ExecutionStarted(name: "Conformance", version: "1.0.0", input: .null, executionID: "ended-2")
    let history = try await provider.history(instanceID: "ended")
    let turn = second.messages.enumerated().map { HistoryEvent(sequenceNumber: history.count + $0.offset, timestamp: second.claimedAt, kind: $0.element.kind) }
    try await provider.commitTurn(
        second.lease,
        TurnCommit(
            consumedMessageIDs: second.messages.map(\.id),
            result: TurnResult(
                newEvents: turn + [HistoryEvent(sequenceNumber: history.count + turn.count, timestamp: second.claimedAt, kind: .continuedAsNew(input: .null, version: nil))],
                actions: [.cancelActivity(operationID: 1), .cancelTimer(operationID: 2)],
                outcome: .continuedAsNew(next: next, carryOver: [])
            )
        )
    )
    // The old execution's activity result comes in late: it must not reach the new execution.
    try await provider.completeActivity(task[0].lease, .completed(.null))
    let third = try await claimUntil(provider, owner: "a")[0]
    try require(third.messages.map(\.kind) == [.executionStarted(next)], "the new execution got the old one's messages: \(third.messages.map(\.kind.name))")
    let depths = try await provider.queueDepths()
    try require(depths.delayedMessages == 0, "the old execution's timer is still queued: \(depths)")
}

private func actionOrder(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "order")
    let item = try await claimUntil(provider, owner: "a")[0]
    let request = ActivityRequest(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil)
    let fireAt = item.claimedAt.addingTimeInterval(3600)
    let child = HistoryEvent.ExecutionStarted(
        name: "Conformance", version: "1.0.0", input: .null, executionID: "",
        parent: .init(instanceID: "order", executionID: item.instance.executionID, operationID: 3)
    )
    var events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
    for kind: HistoryEvent.Kind in [
        .activityScheduled(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil),
        .timerCreated(operationID: 2, fireAt: fireAt),
        .subOrchestrationScheduled(operationID: 3, name: "Conformance", version: "1.0.0", instanceID: "order-child", input: .null),
        .operationCancelled(operationID: 1), .operationCancelled(operationID: 2), .operationCancelled(operationID: 3),
    ] {
        events.append(event(item, events.count, kind))
    }
    let actions: [TurnAction] = [
        .scheduleActivity(request), .scheduleTimer(operationID: 2, fireAt: fireAt), .startSubOrchestration(instanceID: "order-child", start: child),
        .cancelActivity(operationID: 1), .cancelTimer(operationID: 2), .cancelSubOrchestration(instanceID: "order-child", reason: "in order"),
    ]
    let prefetched = try await provider.commitTurn(
        item.lease,
        TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions), prefetch: ClaimRequest(owner: "w", limit: 10))
    )
    try require(prefetched.isEmpty, "an activity scheduled and cancelled in one turn was leased to run")
    try require(try await provider.claimActivities(ClaimRequest(owner: "w", limit: 10)).items.isEmpty, "an activity scheduled and cancelled in one turn is claimable")
    let depths = try await provider.queueDepths()
    try require(depths.delayedMessages == 0, "a timer created and cancelled in one turn is queued: \(depths)")
    try require(depths.runningActivities == 0 && depths.readyActivities == 0, "an activity scheduled and cancelled in one turn exists: \(depths)")
    let started = try await claimUntil(provider, owner: "a")[0]
    try require(started.lease.id == "order-child", "the child was started")
    try require(
        started.messages.map(\.kind.name) == ["executionStarted", "cancelRequested"],
        "a child started then cancelled gets its start, then the cancellation: \(started.messages.map(\.kind.name))"
    )
}

private func oversizedActivityOutput(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "big-output")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let tasks = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 10)).items.sorted { $0.request.operationID < $1.request.operationID }
    try require(tasks.count == 2, "expected 2 activity tasks")
    // Over any sensible limit (the providers' default is 2 MiB).
    let huge = try Payload(encoding: String(repeating: "x", count: 3 << 20))
    let result = try await provider.completeActivities(
        [ActivityCompletion(lease: tasks[0].lease, outcome: .completed(huge)), ActivityCompletion(lease: tasks[1].lease, outcome: .completed(.null))],
        claim: nil
    )
    try require(result.lost.isEmpty, "both completions must be recorded: \(result.lost)")
    let item = try await claimUntil(provider, owner: "a")[0]
    let kinds = item.messages.map(\.kind)
    try require(kinds.contains(.activityCompleted(operationID: 2, result: .null)), "the other member of the batch was recorded: \(kinds.map(\.name))")
    let failure = kinds.compactMap { kind -> FailureDetails? in
        if case .activityFailed(1, let failure) = kind { failure } else { nil }
    }.first
    try require(failure?.code == DurableError.Code.payloadTooLarge.description, "the oversized output is recorded as a payloadTooLarge failure: \(kinds.map(\.name))")
}

private func staleTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "stale")
    let first = try await claimUntil(provider, owner: "a")[0]
    try await commitFirstTurn(provider, first)
    try await provider.sendMessage(instanceID: "stale", raised("next"))
    let second = try await claimUntil(provider, owner: "a")[0]
    // Events numbered as if the first turn had not been committed.
    let events = second.messages.enumerated().map { HistoryEvent(sequenceNumber: $0.offset, timestamp: second.claimedAt, kind: $0.element.kind) }
    try await requireError(.staleTurn, "a turn that does not continue the stored history") {
        try await provider.commitTurn(second.lease, TurnCommit(consumedMessageIDs: second.messages.map(\.id), result: TurnResult(newEvents: events)))
    }
    try require(try await provider.history(instanceID: "stale").count == first.messages.count, "the stale turn changed the history")
    try await provider.abandonOrchestration(second.lease, delay: .zero, reason: .interrupted)
    let again = try await claimUntil(provider, owner: "b")[0]
    try require(again.messages.map(\.kind) == [raised("next")], "the stale turn's messages are claimable again at once: \(again.messages.map(\.kind.name))")
}

/// A commit retried after its first run committed (the answer was lost with the connection) must
/// not be taken for a lost lease: the turn is in the history once, and the activities it leased
/// to the committer are handed back again. A different turn with the same lease is still refused.
private func repeatedCommit(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "repeated")
    let item = try await claimUntil(provider, owner: "a")[0]
    let request = ActivityRequest(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil)
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
        + [event(item, item.messages.count, .activityScheduled(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil))]
    let commit = TurnCommit(
        consumedMessageIDs: item.messages.map(\.id),
        result: TurnResult(newEvents: events, actions: [.scheduleActivity(request)]),
        prefetch: ClaimRequest(owner: "a", limit: 10)
    )
    let first = try await provider.commitTurn(item.lease, commit)
    try require(first.count == 1, "the commit leased its activity to the committer")
    let again = try await provider.commitTurn(item.lease, commit)
    try require(again.map(\.lease) == first.map(\.lease), "the repeated commit hands back the same leased activity, got \(again)")
    try require(try await provider.history(instanceID: "repeated").count == events.count, "the turn is in the history once")
    var other = commit
    other.result.newEvents[other.result.newEvents.count - 1].kind = .timerCreated(operationID: 1, fireAt: item.claimedAt)
    try await requireError(.leaseLost, "another turn with the spent lease") { try await provider.commitTurn(item.lease, other) }
}
