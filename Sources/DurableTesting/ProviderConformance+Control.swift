import Durable
import Foundation

// Operator control (DurableInstanceControl): pause, resume and reset.
extension ProviderConformance {
    static let controlChecks: [Check] = [
        Check(name: "a paused instance takes no turns until resumed", body: pauseHoldsTurns),
        Check(name: "a pause fences off a turn in flight", body: pauseFencesTurn),
        Check(name: "a pause with a deadline resumes by itself", body: pauseDeadline),
        Check(name: "pausing a finished or unknown instance is a typed error", body: pauseErrors),
        Check(name: "a reset to the last failure runs the failed activity again on a new version", body: resetToLastFailure),
    ]
}

private func claims(_ provider: any DurableProvider, _ id: String, owner: String = "probe") async throws -> [OrchestrationWorkItem] {
    try await provider.claimOrchestrations(ClaimRequest(owner: owner, limit: 10)).items.filter { $0.lease.id == id }
}

private func pauseHoldsTurns(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "held")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let tasks = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items.sorted { $0.request.operationID < $1.request.operationID }
    try require(tasks.count == 2, "two running activities")

    let outcome = try await provider.pauseInstance(PauseRequest(instanceID: "held", by: "ops", reason: "investigating"))
    guard case .paused(let record) = outcome else { throw ConformanceFailure("the pause was not applied: \(outcome)") }
    try require(record.by == "ops" && record.reason == "investigating" && record.until == nil, "the pause record: \(record)")
    try require(try await provider.instance(id: "held")?.pause == record, "the instance shows its pause")
    guard case .alreadyPaused = try await provider.pauseInstance(PauseRequest(instanceID: "held", by: "someone else")) else {
        throw ConformanceFailure("pausing a paused instance must change nothing")
    }

    // Results and events keep arriving; no path takes a turn.
    let joined = try await provider.completeActivities(
        [ActivityCompletion(lease: tasks[0].lease, outcome: .completed(.null), knownHistory: 3)], claim: ClaimRequest(owner: "a", limit: 10)
    )
    try require(joined.lost.isEmpty && joined.claimed.isEmpty, "a completion records its result but claims no turn of a paused instance")
    try await provider.sendMessage(instanceID: "held", .eventRaised(name: "meanwhile", input: .null))
    let fused = try await provider.completeActivity(
        ActivityCompletion(lease: tasks[1].lease, outcome: .completed(.null)),
        committing: TurnCommit(
            consumedMessageIDs: [],
            result: TurnResult(newEvents: [HistoryEvent(sequenceNumber: 3, timestamp: Date(), kind: .executionCompleted(output: .null))], actions: [], outcome: .completed(output: .null))
        )
    )
    guard case .recorded = fused else { throw ConformanceFailure("a completion must not commit a turn of a paused instance: \(fused)") }
    try require(try await claims(provider, "held").isEmpty, "a paused instance is not claimed")
    try require(try await provider.history(instanceID: "held").count == 3, "a paused instance's history does not change")

    guard case .resumed = try await provider.resumeInstance(ResumeRequest(instanceID: "held", by: "ops")) else {
        throw ConformanceFailure("the resume was not applied")
    }
    guard case .notPaused = try await provider.resumeInstance(ResumeRequest(instanceID: "held", by: "ops")) else {
        throw ConformanceFailure("resuming an instance that is not paused must change nothing")
    }
    try require(try await provider.instance(id: "held")?.pause == nil, "the resumed instance shows no pause")
    let item = try await claimUntil(provider, owner: "b")[0]
    let kinds = item.messages.map(\.kind.name)
    try require(
        kinds == ["instancePaused", "activityCompleted", "eventRaised", "activityCompleted", "instanceResumed"],
        "everything that arrived is delivered in order between the pause and the resume, got \(kinds)"
    )
    try await provider.commitTurn(
        item.lease,
        TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }, actions: []))
    )
    let recorded = try await provider.history(instanceID: "held").map(\.kind)
    try require(recorded.contains(.instancePaused(record)), "the history records who paused and why")
}

private func pauseFencesTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "in-flight")
    let item = try await claimUntil(provider, owner: "a")[0]
    _ = try await provider.pauseInstance(PauseRequest(instanceID: "in-flight", by: "ops"))
    try await requireError(.leaseLost, "a turn in flight commits after a pause") { try await commitFirstTurn(provider, item, activities: 1) }
    try await requireError(.leaseLost, "a turn in flight renews after a pause") { try await provider.renewOrchestration(item.lease) }
    try require(try await provider.history(instanceID: "in-flight").isEmpty, "the discarded turn changed the history")
    try require(try await provider.queueDepths().readyActivities == 0, "the discarded turn created activity tasks")
    _ = try await provider.resumeInstance(ResumeRequest(instanceID: "in-flight", by: "ops"))
    let again = try await claimUntil(provider, owner: "b")[0]
    try require(again.deliveryCount == 1, "the interrupted delivery does not count towards poisoning, got \(again.deliveryCount)")
    try require(again.messages.first.map { if case .executionStarted = $0.kind { true } else { false } } ?? false, "the start message is still there, first")
}

private func pauseDeadline(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "timed")
    let outcome = try await provider.pauseInstance(PauseRequest(instanceID: "timed", by: "ops", for: .seconds(2)))
    guard case .paused(let record) = outcome, let until = record.until else { throw ConformanceFailure("a pause with a deadline: \(outcome)") }
    try require(try await claims(provider, "timed").isEmpty, "not claimed before the deadline")
    let next = try await provider.claimOrchestrations(ClaimRequest(owner: "probe", limit: 10)).nextVisibleIn
    try require(next.map { $0 <= .seconds(2) } ?? false, "the deadline is the next due time, got \(String(describing: next))")
    let item = try await claimUntil(provider, owner: "b", timeout: .seconds(10))[0]
    try require(item.claimedAt >= until.addingTimeInterval(-0.05), "claimed at the deadline, not before")
    try require(
        item.messages.map(\.kind.name) == ["executionStarted", "instancePaused", "instanceResumed"],
        "the deadline's resume is delivered, got \(item.messages.map(\.kind.name))"
    )
    try await commitFirstTurn(provider, item)
    try require(try await provider.instance(id: "timed")?.pause == nil, "the first turn after the deadline clears the pause")

    // An earlier resume withdraws the deadline's.
    _ = try await provider.pauseInstance(PauseRequest(instanceID: "timed", by: "ops", for: .milliseconds(300)))
    _ = try await provider.resumeInstance(ResumeRequest(instanceID: "timed", by: "ops"))
    let resumed = try await claimUntil(provider, owner: "c")[0]
    try await Task.sleep(for: .milliseconds(400))
    try require(resumed.messages.map(\.kind.name) == ["instancePaused", "instanceResumed"], "one pause, one resume: \(resumed.messages.map(\.kind.name))")
    try await provider.abandonOrchestration(resumed.lease, delay: .zero, reason: .interrupted)
    let later = try await claimUntil(provider, owner: "d")[0]
    try require(later.messages.count == 2, "no second resume appears at the withdrawn deadline, got \(later.messages.map(\.kind.name))")
}

private func pauseErrors(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await requireError(.instanceNotFound, "pausing an unknown instance") { _ = try await provider.pauseInstance(PauseRequest(instanceID: "nobody", by: "ops")) }
    try await requireError(.instanceNotFound, "resuming an unknown instance") { _ = try await provider.resumeInstance(ResumeRequest(instanceID: "nobody", by: "ops")) }
    try await start(provider, "done")
    let item = try await claimUntil(provider, owner: "a")[0]
    let events = [event(item, 0, item.messages[0].kind), event(item, 1, .executionCompleted(output: .null))]
    try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: [], outcome: .completed(output: .null))))
    try await requireError(.instanceFinished, "pausing a finished instance") { _ = try await provider.pauseInstance(PauseRequest(instanceID: "done", by: "ops")) }
    try await requireError(.instanceFinished, "resuming a finished instance") { _ = try await provider.resumeInstance(ResumeRequest(instanceID: "done", by: "ops")) }
    try await start(provider, "running")
    try await requireError(.invalidInput, "a pause without who") { _ = try await provider.pauseInstance(PauseRequest(instanceID: "running", by: " ")) }
    try await requireError(.invalidInput, "a pause of no duration") { _ = try await provider.pauseInstance(PauseRequest(instanceID: "running", by: "ops", for: .zero)) }
    try require(try await provider.instance(id: "running")?.pause == nil, "a rejected pause changed the instance")
}

private func resetToLastFailure(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "rewound")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 1)
    let attempt = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items
    try require(attempt.count == 1, "one activity")
    try await provider.completeActivity(attempt[0].lease, .failed(FailureDetails(type: "Bug", message: "off by one")))
    let failed = try await claimUntil(provider, owner: "a")[0]
    let failure = FailureDetails(type: "Bug", message: "off by one")
    try await provider.commitTurn(failed.lease, TurnCommit(
        consumedMessageIDs: failed.messages.map(\.id),
        result: TurnResult(newEvents: [event(failed, 0, failed.messages[0].kind), event(failed, 1, .executionFailed(failure: failure))], actions: [], outcome: .failed(failure))
    ))
    try require(try await provider.instance(id: "rewound")?.status == .failed, "the instance failed")

    func reset(_ point: ResetPoint) async throws -> ResetOutcome {
        try await provider.resetInstance(ResetRequest(instanceID: "rewound", to: point, version: "2.0.0", event: .init(name: "fixed", input: .null), by: "ops", reason: "bug fixed"))
    }
    try await requireError(.invalidInput, "a decision is not a reset point") { _ = try await reset(.sequence(1)) }
    try await requireError(.invalidInput, "a sequence outside the history") { _ = try await reset(.sequence(9)) }
    try await requireError(.instanceNotFound, "an unknown instance") {
        _ = try await provider.resetInstance(ResetRequest(instanceID: "nobody", to: .start, by: "ops"))
    }
    try require(try await provider.instance(id: "rewound")?.status == .failed, "a refused reset changed the instance")

    let outcome = try await reset(.lastFailure)
    try require(outcome.keptEvents == 2 && outcome.rescheduled == 1, "two events kept, the failed activity runs again: \(outcome)")
    let info = try await provider.instance(id: "rewound")
    try require(info?.status == .running && info?.version == "2.0.0" && info?.executionID == outcome.executionID && info?.failure == nil, "the instance runs the new execution: \(String(describing: info))")
    let history = try await provider.history(instanceID: "rewound")
    guard case .executionStarted(let start)? = history.first?.kind, history.count == 2 else { throw ConformanceFailure("the kept history: \(history.map(\.kind.name))") }
    try require(start.executionID == outcome.executionID && start.version == "2.0.0", "the new start: \(start)")
    let old = try await provider.history(instanceID: "rewound", executionID: outcome.previousExecutionID)
    guard case .executionReset(let record)? = old.last?.kind, old.count == 5 else { throw ConformanceFailure("the old history ends with the reset: \(old.map(\.kind.name))") }
    try require(record.toSequence == 2 && record.newExecutionID == outcome.executionID && record.by == "ops", "the reset record: \(record)")

    let again = try await provider.claimActivities(ClaimRequest(owner: "b", limit: 10)).items
    try require(again.count == 1 && again[0].executionID == outcome.executionID && again[0].request.operationID == 1 && again[0].attempt == 1, "the activity runs again for the new execution")
    let turn = try await claimUntil(provider, owner: "b")[0]
    try require(turn.messages.map(\.kind) == [.eventRaised(name: "fixed", input: .null)], "the injected event is delivered: \(turn.messages.map(\.kind.name))")
    try require(turn.historyLength == 2, "the turn continues the kept history")

    // From the start: an empty history and the start message again.
    try await provider.abandonOrchestration(turn.lease, delay: .zero, reason: .interrupted)
    let fresh = try await provider.resetInstance(ResetRequest(instanceID: "rewound", to: .start, by: "ops"))
    try require(try await provider.instance(id: "rewound")?.status == .pending && fresh.keptEvents == 0, "reset to the start is a fresh start")
    let first = try await claimUntil(provider, owner: "c")[0]
    guard case .executionStarted(let restart)? = first.messages.first?.kind else { throw ConformanceFailure("the start message: \(first.messages.map(\.kind.name))") }
    try require(restart.executionID == fresh.executionID && first.history.isEmpty, "the new execution starts from nothing")
    try require(try await provider.claimActivities(ClaimRequest(owner: "c", limit: 10)).items.isEmpty, "the previous execution's task is gone")
}
