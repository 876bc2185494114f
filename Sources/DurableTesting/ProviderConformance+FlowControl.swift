import Durable
import Foundation

// Flow control: rate limits admit attempts at their rate, hand the early ones back until their slot,
// and are fenced like every write of a lease.
extension ProviderConformance {
    static let flowControlChecks: [Check] = [
        Check(name: "a rate limit spaces admissions at its rate", body: rateLimitAdmissions),
        Check(name: "claims take higher priorities first, oldest first within one, and lower ones when nothing else is ready", body: priorities),
        Check(name: "a concurrency key runs at most its limit, in call order, each ending freeing a slot", body: concurrencySlots),
    ]
}

private func rateLimitAdmissions(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await provider.defineRateLimit(try RateLimit(name: "payments", limit: 1, per: .seconds(2), burst: 2))
    try await provider.defineRateLimit(try RateLimit(name: "other", limit: 5, per: .seconds(1)))
    try await provider.defineRateLimit(try RateLimit(name: "other", limit: 6, per: .seconds(1)))
    let listed = try await provider.rateLimits()
    try require(listed.map(\.name) == ["other", "payments"] && listed[0].limit == 6, "the limits, redefined in place: \(listed)")

    try await start(provider, "limited")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "me")[0], activities: 4)
    let tasks = try await provider.claimActivities(ClaimRequest(owner: "me", limit: 10)).items
    try require(tasks.count == 4, "four tasks, got \(tasks.count)")
    let before = Date()
    var slots: [Date?] = []
    for task in tasks { slots.append(try await provider.admitActivity(task.lease, rateLimit: "payments")) }
    try require(slots[0] == nil && slots[1] == nil, "a burst of two starts at once: \(slots)")
    guard let third = slots[2], let fourth = slots[3] else { throw ConformanceFailure("the third and fourth wait for their slots: \(slots)") }
    try require(abs(fourth.timeIntervalSince(third) - 2) < 0.01, "one slot every 2 s: \(third) then \(fourth)")
    try require(third.timeIntervalSince(before) > 1 && third.timeIntervalSince(before) < 3, "the third's slot is 2 s on: \(third.timeIntervalSince(before))")

    let early = try await provider.claimActivities(ClaimRequest(owner: "you", limit: 10)).items
    if !early.isEmpty {
        // Only a machine that stalled past the slot may see it; what follows needs the slots ahead.
        try require(Date() >= third, "a task handed back until its slot is not claimable before it, got \(early.map(\.request.operationID))")
        return
    }
    // One at a time: a poll that comes late on a loaded machine may find the fourth's slot come too.
    // The timeout only bounds a failure: a clean-clone CI run once starved the test process for
    // over 8 s, past the 10 s this had.
    let due = try await claimActivitiesUntil(provider, owner: "you", limit: 1, timeout: .seconds(30))
    try require(due.map(\.lease.id) == [tasks[2].lease.id], "the third is claimed at its slot, got \(due.map(\.request.operationID))")
    try require(due[0].rateAdmitted && due[0].deliveryCount == 1, "admitted already, the hand-back not counted as a delivery: \(due[0].rateAdmitted), \(due[0].deliveryCount)")
    let waiting = try await provider.claimActivities(ClaimRequest(owner: "you", limit: 10)).items
    if Date() < fourth {
        try require(waiting.isEmpty, "the fourth waits for its own slot, got \(waiting.map(\.request.operationID))")
    }
    try await provider.abandonActivity(due[0].lease, delay: .zero, reason: .retry)
    // The fourth, should its slot have come meanwhile, may come along.
    let retried = try await claimActivitiesUntil(provider, owner: "you", limit: 10, timeout: .seconds(30))
    let retriedThird = retried.first { $0.lease.id == tasks[2].lease.id }
    try require(retriedThird.map { !$0.rateAdmitted } == true, "a retry is admitted anew, got \(retried.map(\.request.operationID))")

    let unlimited = try await provider.admitActivity(tasks[0].lease, rateLimit: "undefined")
    try require(unlimited == nil, "an undefined limit does not limit")
    do {
        _ = try await provider.admitActivity(tasks[2].lease, rateLimit: "other")
        throw ConformanceFailure("an admission under a lease that is no longer current was accepted")
    } catch let error as DurableError where error.code == .leaseLost {}
    let deleted = try await provider.deleteRateLimit(name: "other")
    let again = try await provider.deleteRateLimit(name: "other")
    try require(deleted && !again, "deleted once")
}

private func concurrencySlots(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    func call(_ number: Int, key: String = "tenant", limit: Int = 2) async throws -> ConcurrencyStart {
        let request = StartRequest(instanceID: "\(key)#0", name: "Conformance", version: "1.0.0", input: try Payload(encoding: number))
        return try await provider.startUnderConcurrencyLimit(request, key: key, limit: limit)
    }
    /// Claims the ready instances (each once), ends them as completed or failed, and returns their inputs.
    func endReady(_ count: Int, failing: Bool = false) async throws -> [Int] {
        let items = try await claimUntil(provider, owner: "me") { $0.count == count }
        for item in items {
            let first = event(item, 0, item.messages[0].kind)
            let failure = FailureDetails(type: "Conformance", message: "failed")
            let result = failing
                ? TurnResult(newEvents: [first, event(item, 1, .executionFailed(failure: failure))], outcome: .failed(failure))
                : TurnResult(newEvents: [first, event(item, 1, .executionCompleted(output: .null))], outcome: .completed(output: .null))
            try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result))
        }
        return try items.map { try $0.instance.input.decode(Int.self) }.sorted()
    }

    // An id in use is skipped: tenant#0 exists, started by id.
    _ = try await provider.createInstance(StartRequest(instanceID: "tenant#0", name: "Conformance", version: "1.0.0", input: try Payload(encoding: -1)))
    _ = try await endReady(1)
    var calls: [ConcurrencyStart] = []
    for number in 0..<5 { calls.append(try await call(number)) }
    try require(calls.map(\.instanceID) == (1...5).map { "tenant#\($0)" }, "ids count the calls, past the one in use: \(calls.map(\.instanceID))")
    try require(calls.map(\.waits) == [false, false, true, true, true], "two run, three wait: \(calls.map(\.waits))")
    try require(try await provider.instance(id: "tenant#3") == nil, "a waiting call has no instance yet")
    let info = try await provider.concurrencyKey("tenant")
    try require(info == ConcurrencyKeyInfo(key: "tenant", limit: 2, running: 2, waiting: ["tenant#3", "tenant#4", "tenant#5"]), "the key's slots: \(String(describing: info))")
    try require(try await provider.concurrencyKey("never") == nil, "a key never used has no slots")
    try await requireError(.invalidInput, "a concurrency limit of 0") { _ = try await call(0, key: "zero", limit: 0) }
    try require(try await provider.concurrencyKey("zero") == nil, "a refused call leaves no key behind")

    // Another key has slots of its own, whatever waits for this one.
    let other = try await call(9, key: "other", limit: 1)
    try require(!other.waits && other.instanceID == "other#0", "another key's call runs at once: \(other)")

    let first = try await endReady(3)
    try require(first == [0, 1, 9], "the running ones are claimable: \(first)")
    // Each ending (completed above) started the oldest waiting call.
    let (third, fourth) = (try await provider.instance(id: "tenant#3"), try await provider.instance(id: "tenant#4"))
    try require(third != nil && fourth != nil, "two ends started two waiting calls")
    try require(try await provider.instance(id: "tenant#5") == nil, "the third waits still: two run")
    let second = try await endReady(2, failing: true)
    try require(second == [2, 3], "in call order: \(second)")
    let last = try await endReady(1)
    try require(last == [4], "a failed instance frees its slot too: \(last)")
    let nothing = try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 10)).items
    try require(nothing.isEmpty, "no call started twice: \(nothing.map(\.lease.id))")
    let again = try await call(5)
    try require(!again.waits && again.instanceID == "tenant#6", "free slots again: \(again)")
}

/// Claims activities until one comes or `timeout` passes.
private func claimActivitiesUntil(_ provider: any DurableProvider, owner: String, limit: Int, timeout: Duration) async throws -> [ActivityWorkItem] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let items = try await provider.claimActivities(ClaimRequest(owner: owner, limit: limit)).items
        if !items.isEmpty { return items }
        try await Task.sleep(for: .milliseconds(50))
    }
    return []
}

private func priorities(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    for (id, priority) in [("low", 5), ("mid-1", 3), ("high", 1), ("mid-2", nil)] as [(String, Int?)] {
        _ = try await provider.createInstance(StartRequest(instanceID: id, name: "Conformance", version: "1.0.0", input: .null, priority: priority))
    }
    var claimed: [OrchestrationWorkItem] = []
    for _ in 0..<4 {
        claimed += try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 1)).items
    }
    try require(claimed.map(\.lease.id) == ["high", "mid-1", "mid-2", "low"], "turns by priority, then oldest first: \(claimed.map(\.lease.id))")
    try require(claimed.map(\.instance.priority) == [1, 3, 3, 5], "each instance shows its priority: \(claimed.map(\.instance.priority))")

    // Activities: the task's priority is its request's.
    let item = claimed[1]
    var events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
    var actions: [TurnAction] = []
    for (operation, priority) in [(1, 5), (2, 1), (3, 3)] {
        events.append(event(item, events.count, .activityScheduled(operationID: operation, name: "Work", input: .null, retry: .none, timeout: nil, priority: priority)))
        actions.append(.scheduleActivity(ActivityRequest(operationID: operation, name: "Work", input: .null, retry: .none, timeout: nil, priority: priority)))
    }
    _ = try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions)))
    var operations: [Int] = []
    for _ in 0..<3 {
        operations += try await provider.claimActivities(ClaimRequest(owner: "me", limit: 1)).items.map(\.request.operationID)
    }
    try require(operations == [2, 3, 1], "activity tasks by priority: \(operations)")

    // A lower level than the default is claimed at once when nothing else is ready (before its
    // aging would rank it with the default level's work), and a higher one goes first.
    _ = try await provider.createInstance(StartRequest(instanceID: "late-low", name: "Conformance", version: "1.0.0", input: .null, priority: 4))
    _ = try await provider.createInstance(StartRequest(instanceID: "late-lowest", name: "Conformance", version: "1.0.0", input: .null, priority: 5))
    _ = try await provider.createInstance(StartRequest(instanceID: "late-high", name: "Conformance", version: "1.0.0", input: .null, priority: 2))
    let late = try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 2)).items.map(\.lease.id)
    try require(Set(late) == ["late-high", "late-low"], "a batch of two takes levels 2 and 4 of 2, 4 and 5: \(late)")
    let last = try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 2)).items.map(\.lease.id)
    try require(last == ["late-lowest"], "then level 5: \(last)")
    do {
        _ = try await provider.createInstance(StartRequest(instanceID: "bad", name: "Conformance", input: .null, priority: 9))
        throw ConformanceFailure("a start with priority 9 was accepted")
    } catch let error as DurableError where error.code == .invalidInput {}
}
