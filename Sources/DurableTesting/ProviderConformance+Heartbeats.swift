import Durable
import Foundation

// Activity heartbeats: details kept across attempts, a lease that lasts only as long as asked.
extension ProviderConformance {
    static let heartbeatChecks: [Check] = [
        Check(name: "heartbeats are kept for the next attempt and a short lease lapses", body: heartbeats),
        Check(name: "a cancellation waited for is answered, also when the attempt's node stopped", body: reportedCancellation),
    ]
}

private func heartbeats(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "beating")
    let turn = try await claimUntil(provider, owner: "a")[0]
    try await commitFirstTurn(provider, turn, activities: 1)
    let first = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items
    try require(first.count == 1 && first[0].lastHeartbeat == nil, "a first attempt has no earlier heartbeat")
    let checkpoint = try Payload(encoding: ["done": 3])
    try require(try await provider.heartbeatActivity(first[0].lease, details: checkpoint, extendBy: nil) == false, "no cancellation requested")
    let shown = try await provider.activities(instanceID: "beating")
    try require(shown.first?.heartbeat == checkpoint && shown.first?.heartbeatAt != nil, "the heartbeat is shown: \(shown)")

    try await provider.abandonActivity(first[0].lease, delay: .zero, reason: .failedAttempt(FailureDetails(type: "Crash", message: "boom")))
    let second = try await provider.claimActivities(ClaimRequest(owner: "b", limit: 10)).items
    try require(second.count == 1 && second[0].attempt == 2 && second[0].lastHeartbeat == checkpoint, "the retry gets the checkpoint: \(second.map(\.attempt))")
    try await requireError(.leaseLost, "a heartbeat of the abandoned attempt") {
        _ = try await provider.heartbeatActivity(first[0].lease, details: .null, extendBy: nil)
    }
    try require(try await provider.activities(instanceID: "beating").first?.heartbeat == checkpoint, "a fenced heartbeat writes nothing")

    // A heartbeat that extends the lease by little: when it lapses, another node takes the task.
    _ = try await provider.heartbeatActivity(second[0].lease, details: nil, extendBy: .milliseconds(300))
    let deadline = ContinuousClock.now + .seconds(30)
    var third: [ActivityWorkItem] = []
    while third.isEmpty {
        try require(ContinuousClock.now < deadline, "the short lease did not lapse")
        third = try await provider.claimActivities(ClaimRequest(owner: "c", limit: 10)).items
        if third.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
    }
    try require(third[0].lastHeartbeat == checkpoint && third[0].lease.epoch > second[0].lease.epoch, "taken over with the checkpoint and a new epoch")
    try await requireError(.leaseLost, "a late heartbeat after the takeover") {
        _ = try await provider.heartbeatActivity(second[0].lease, details: .null, extendBy: nil)
    }
}

private func reportedCancellation(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "reported")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let running = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 1)).items
    try require(running.count == 1, "expected one running task")
    let runningID = running[0].request.operationID
    let idleID = runningID == 1 ? 2 : 1
    try await provider.sendMessage(instanceID: "reported", .eventRaised(name: "x", input: .null))
    let item = try await claimUntil(provider, owner: "a")[0]
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [runningID, idleID].enumerated().map {
        event(item, item.messages.count + $0.offset, .operationCancelled(operationID: $0.element))
    }
    let actions: [TurnAction] = [runningID, idleID].map { .cancelActivity(operationID: $0, reportOutcome: true) }
    try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions)))

    // The task that had not started is answered at once.
    let answered = try await claimUntil(provider, owner: "a")[0]
    try require(
        answered.messages.map(\.kind).contains { if case .activityFailed(idleID, let failure) = $0 { failure.code == "cancelled" } else { false } },
        "the idle task's cancellation was not answered: \(answered.messages.map(\.kind))"
    )
    try await provider.commitTurn(
        answered.lease,
        TurnCommit(consumedMessageIDs: answered.messages.map(\.id), result: TurnResult(newEvents: answered.messages.enumerated().map { event(answered, $0.offset, $0.element.kind) }))
    )

    // The running one's node stops before reporting: once its lease lapses any node claims it (a
    // node without the handler too) to report the cancellation.
    try require(try await provider.heartbeatActivity(running[0].lease, details: nil, extendBy: .milliseconds(300)), "the cancellation was not reported to the running attempt")
    let deadline = ContinuousClock.now + .seconds(30)
    var orphan: [ActivityWorkItem] = []
    while orphan.isEmpty {
        try require(ContinuousClock.now < deadline, "the cancelled task was never handed out again")
        orphan = try await provider.claimActivities(ClaimRequest(owner: "v", limit: 10, capabilities: Capabilities(orchestrations: [:], activities: []))).items
        if orphan.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
    }
    try require(orphan.count == 1 && orphan[0].cancelRequested && orphan[0].request.operationID == runningID, "handed out as cancelled: \(orphan.map(\.cancelRequested))")
    let failure = FailureDetails(DurableError(.cancelled, "its node stopped"))
    try await provider.completeActivity(orphan[0].lease, .failed(failure))
    let reported = try await claimUntil(provider, owner: "a")[0]
    try require(reported.messages.map(\.kind) == [.activityFailed(operationID: runningID, failure: failure)], "the report reached the orchestration: \(reported.messages)")
}
