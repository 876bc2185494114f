import Durable
import Foundation

// Task queues: a claim takes from one queue, and a commit leases the committer only what is on
// the queue it asked for.
extension ProviderConformance {
    static let queueChecks: [Check] = [
        Check(name: "claims and prefetches take activities from their task queue only", body: taskQueues),
        Check(name: "a session's tasks go to its node while it lives, then to any node", body: sessionQueues),
        Check(name: "turn claims take instances from the task queues they serve only", body: orchestrationQueues),
    ]
}

private func taskQueues(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "queued")
    let item = try await claimUntil(provider, owner: "me")[0]
    let prefetch = ClaimRequest(owner: "me", limit: 10, capabilities: Capabilities(orchestrations: [:], activities: ["Render"]), queue: "gpu")
    let leased = try await provider.commitTurn(
        item.lease, firstTurn(item, scheduling: [(1, "Work", nil), (2, "Render", "gpu"), (3, "Work", "gpu"), (4, "Work", nil)], prefetch: prefetch)
    )
    try require(leased.map(\.request.operationID) == [2], "only the gpu task the node can run is leased, got \(leased.map(\.request.operationID))")
    let shown = try await provider.activities(instanceID: "queued")
    try require(shown.map(\.queue) == ["default", "gpu", "gpu", "default"], "each task shows its queue: \(shown.map(\.queue))")
    let depths = try await provider.queueDepths().readyActivitiesByQueue
    try require(depths == ["default": 2, "gpu": 1], "ready tasks per queue: \(depths)")

    let plain = try await provider.claimActivities(ClaimRequest(owner: "cpu", limit: 10)).items
    try require(plain.map(\.request.operationID).sorted() == [1, 4], "a claim of the default queue takes its tasks only, got \(plain.map(\.request.operationID))")
    let gpu = try await provider.claimActivities(ClaimRequest(owner: "gpu", limit: 10, queue: "gpu")).items
    try require(gpu.map(\.request.operationID) == [3], "a claim of queue gpu takes its unleased task only, got \(gpu.map(\.request.operationID))")
    let none = try await provider.claimActivities(ClaimRequest(owner: "x", limit: 10, queue: "nobody")).items
    try require(none.isEmpty, "a queue without tasks hands out nothing")
}

private func sessionQueues(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let pinned = node("pinned", "one")
    _ = try await provider.registerNode(pinned)
    try await start(provider, "sessions")
    let item = try await claimUntil(provider, owner: "me")[0]
    var events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
    var actions: [TurnAction] = []
    // Two tasks in the session of a live node, one in the session of a node that never registered.
    for (id, queue) in [(1, TaskQueue.session(of: "pinned")), (2, TaskQueue.session(of: "gone")), (3, TaskQueue.session(of: "pinned"))] {
        events.append(event(item, events.count, .activityScheduled(operationID: id, name: "Work", input: .null, retry: .none, timeout: nil, queue: queue)))
        actions.append(.scheduleActivity(ActivityRequest(operationID: id, name: "Work", input: .null, retry: .none, timeout: nil, queue: queue)))
    }
    _ = try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions)))

    var fallback = ClaimRequest(owner: "other#one", limit: 10, capabilities: Capabilities(orchestrations: [:], activities: ["Work"]), staleNodeAfter: .seconds(30))
    let plain = try await provider.claimActivities(fallback).items
    try require(plain.isEmpty, "a claim that takes no sessions leaves session tasks alone, got \(plain.map(\.request.operationID))")
    fallback.sessionsOfDeadNodes = true
    let stranded = try await provider.claimActivities(fallback).items
    try require(stranded.map(\.request.operationID) == [2], "only the task of the node that is gone is taken over, got \(stranded.map(\.request.operationID))")
    let own = try await provider.claimActivities(ClaimRequest(owner: pinned.leaseOwner, limit: 1, queue: TaskQueue.session(of: "pinned"))).items
    try require(own.map(\.request.operationID) == [1], "the session's node claims its first task, got \(own.map(\.request.operationID))")

    // Stopped: its session's tasks, the one it held included, go to the next claim.
    try await provider.deregisterNode(pinned)
    let moved = try await provider.claimActivities(fallback).items
    try require(moved.map(\.request.operationID).sorted() == [1, 3], "a stopped node's session moves, got \(moved.map(\.request.operationID))")

    // Silent: its session moves once its heartbeat is older than staleNodeAfter.
    let silent = node("silent", "one")
    _ = try await provider.registerNode(silent)
    try await start(provider, "quiet")
    let quiet = try await claimUntil(provider, owner: "me")[0]
    let queue = TaskQueue.session(of: "silent")
    _ = try await provider.commitTurn(quiet.lease, TurnCommit(
        consumedMessageIDs: quiet.messages.map(\.id),
        result: TurnResult(
            newEvents: quiet.messages.enumerated().map { event(quiet, $0.offset, $0.element.kind) }
                + [event(quiet, quiet.messages.count, .activityScheduled(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil, queue: queue))],
            actions: [.scheduleActivity(ActivityRequest(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil, queue: queue))]
        )
    ))
    fallback.staleNodeAfter = .seconds(1)
    _ = try await provider.heartbeat(silent, staleAfter: .seconds(1))
    let fresh = try await provider.claimActivities(fallback).items
    try require(fresh.isEmpty, "the session of a node that heartbeats stays with it, got \(fresh.map(\.instanceID))")
    try await Task.sleep(for: .milliseconds(1200))
    let stale = try await provider.claimActivities(fallback).items
    try require(stale.map(\.instanceID) == ["quiet"], "a silent node's session moves, got \(stale.map(\.instanceID))")
}

private func orchestrationQueues(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "plain")
    _ = try await provider.createInstance(StartRequest(instanceID: "rendered", name: "Conformance", version: "1.0.0", input: .null, queue: "gpu"))
    let gpu = { (owner: String) -> ClaimRequest in
        var request = ClaimRequest(owner: owner, limit: 10)
        request.orchestrationQueues = ["gpu"]
        return request
    }
    let claimed = try await provider.claimOrchestrations(gpu("gpu-node")).items
    try require(claimed.map(\.lease.id) == ["rendered"], "a claim of queue gpu takes its instance only, got \(claimed.map(\.lease.id))")
    try require(claimed[0].instance.queue == "gpu", "the instance shows its queue: \(claimed[0].instance.queue)")
    let plain = try await provider.claimOrchestrations(ClaimRequest(owner: "cpu-node", limit: 10)).items
    try require(plain.map(\.lease.id) == ["plain"], "a claim of the default queue takes its instance only, got \(plain.map(\.lease.id))")

    // A child started on queue gpu by a turn of the default queue.
    let child = HistoryEvent.ExecutionStarted(
        name: "Conformance", version: "1.0.0", input: .null, executionID: "",
        parent: .init(instanceID: "plain", executionID: plain[0].instance.executionID, operationID: 1), queue: "gpu"
    )
    var events = plain[0].messages.enumerated().map { event(plain[0], $0.offset, $0.element.kind) }
    events.append(event(plain[0], events.count, .subOrchestrationScheduled(operationID: 1, name: "Conformance", version: "1.0.0", instanceID: "plain-child", input: .null, queue: "gpu")))
    _ = try await provider.commitTurn(
        plain[0].lease,
        TurnCommit(consumedMessageIDs: plain[0].messages.map(\.id), result: TurnResult(newEvents: events, actions: [.startSubOrchestration(instanceID: "plain-child", start: child)]))
    )
    let none = try await provider.claimOrchestrations(ClaimRequest(owner: "cpu-node", limit: 10)).items
    try require(none.isEmpty, "the child on queue gpu is not claimed from the default queue, got \(none.map(\.lease.id))")
    let children = try await provider.claimOrchestrations(gpu("gpu-node")).items
    try require(children.map(\.lease.id) == ["plain-child"], "the child is claimed from queue gpu, got \(children.map(\.lease.id))")
    var both = ClaimRequest(owner: "both", limit: 10)
    both.orchestrationQueues = ["gpu", TaskQueue.defaultName]
    let idle = try await provider.claimOrchestrations(both)
    try require(idle.items.isEmpty, "nothing else is ready, got \(idle.items.map(\.lease.id))")
}
