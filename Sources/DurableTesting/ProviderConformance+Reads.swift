import Durable
import Foundation

// Listing by the filters bulk actions select with; an instance's activity tasks.
extension ProviderConformance {
    static let readChecks: [Check] = [
        Check(name: "listing filters by version, time windows, custom status and parent", body: listingFilters),
        Check(name: "an instance's activity tasks show their attempts and last error", body: activityTasks),
    ]
}

private func listingFilters(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "f-1")
    _ = try await provider.createInstance(StartRequest(instanceID: "f-2", name: "Other", input: .null))
    let claimed = try await claimUntil(provider, owner: "a") { $0.count == 2 }
    let first = claimed.first { $0.lease.id == "f-1" }!, second = claimed.first { $0.lease.id == "f-2" }!
    // f-1 starts a child and reports a custom status; f-2 completes.
    let child = HistoryEvent.ExecutionStarted(name: "Conformance", version: "1.0.0", input: .null, executionID: "", parent: .init(instanceID: "f-1", executionID: first.instance.executionID, operationID: 1))
    try await provider.commitTurn(first.lease, TurnCommit(
        consumedMessageIDs: first.messages.map(\.id),
        result: TurnResult(
            newEvents: [event(first, 0, first.messages[0].kind), event(first, 1, .subOrchestrationScheduled(operationID: 1, name: "Conformance", version: "1.0.0", instanceID: "f-1-kid", input: .null))],
            actions: [.startSubOrchestration(instanceID: "f-1-kid", start: child)],
            customStatus: try Payload(encoding: "stage: \"shipping\""),
            awaitedEvents: ["approval", "cancel-order"]
        )
    ))
    try await provider.commitTurn(second.lease, TurnCommit(
        consumedMessageIDs: second.messages.map(\.id),
        result: TurnResult(newEvents: [event(second, 0, second.messages[0].kind), event(second, 1, .executionCompleted(output: .null))], actions: [], outcome: .completed(output: .null))
    ))
    try require(try await provider.instance(id: "f-1")?.awaitedEvents == ["approval", "cancel-order"], "a commit stores the events the code waits for")
    func ids(_ query: InstanceQuery) async throws -> [String] { try await provider.listInstances(query).instances.map(\.id) }
    let later = Date().addingTimeInterval(3600), earlier = Date().addingTimeInterval(-3600)

    try require(try await ids(InstanceQuery(version: "1.0.0")) == ["f-1", "f-1-kid"], "the version filter")
    try require(try await ids(InstanceQuery(customStatusPrefix: "stage: \"sh")) == ["f-1"], "the custom status prefix, with a quote in it")
    try require(try await ids(InstanceQuery(customStatusPrefix: "stage: x")).isEmpty, "a prefix nothing has")
    try require(try await ids(InstanceQuery(parentInstanceID: "f-1")) == ["f-1-kid"], "the parent filter")
    let window = try await ids(InstanceQuery(createdAfter: earlier, createdBefore: later))
    try require(try await ids(InstanceQuery(createdAfter: later)).isEmpty && window.count == 3, "the creation window: \(window)")
    try require(try await ids(InstanceQuery(completedBefore: later)) == ["f-2"], "the finished window matches finished instances only")
    try require(try await ids(InstanceQuery(completedAfter: later)).isEmpty, "nothing finished in the future")
    try require(try await ids(InstanceQuery(statuses: [.running], name: "Conformance", version: "1.0.0", parentInstanceID: "f-1")).isEmpty, "filters combine: the child is still pending")
}

private func activityTasks(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "tasks")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let leased = try await provider.claimActivities(ClaimRequest(owner: "node-a#1", limit: 10)).items.sorted { $0.request.operationID < $1.request.operationID }
    try require(leased.count == 2, "two tasks")
    try await provider.abandonActivity(leased[1].lease, delay: .seconds(60), reason: .failedAttempt(FailureDetails(type: "Timeout", message: "the bank did not answer")))
    let tasks = try await provider.activities(instanceID: "tasks")
    try require(tasks.map(\.operationID) == [1, 2], "both tasks, by operation: \(tasks)")
    try require(tasks[0].attempt == 1 && tasks[0].leaseOwner == "node-a#1" && tasks[0].lastError == nil, "the running one: \(tasks[0])")
    try require(
        tasks[1].attempt == 2 && tasks[1].leaseOwner == nil && tasks[1].lastError?.message == "the bank did not answer" && tasks[1].visibleAt > Date().addingTimeInterval(30),
        "the failed one waits for its retry with its error: \(tasks[1])"
    )
    try require(try await provider.activities(instanceID: "nobody").isEmpty, "an unknown instance has none")
}
