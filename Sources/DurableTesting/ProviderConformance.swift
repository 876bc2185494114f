public import Durable
import Foundation

/// The checks every ``DurableProvider`` must pass. Run them from a test target in a few lines:
///
/// ```swift
/// @Test(arguments: ProviderConformance.checks)
/// func conformance(_ check: ProviderConformance.Check) async throws {
///     try await check.run { try await MyProvider(leaseDuration: $0) }
/// }
/// ```
///
/// Each check gets a fresh, empty provider from the factory, made with the lease duration the check
/// asks for. A violated rule throws a ``ConformanceFailure`` naming it.
public enum ProviderConformance {
    /// Makes an empty provider whose leases last the given duration.
    public typealias Factory = @Sendable (_ leaseDuration: Duration) async throws -> any DurableProvider

    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (Factory) async throws -> Void

        public func run(_ factory: @escaping Factory) async throws {
            try await self.body(factory)
        }

        public var description: String { self.name }
    }

    public static let checks: [Check] = [
        Check(name: "exclusive claims under concurrency", body: exclusiveClaims),
        Check(name: "stale epochs are fenced off", body: fencing),
        Check(name: "activity leases are fenced", body: activityFencing),
        Check(name: "atomic commit", body: atomicCommit),
        Check(name: "delayed visibility", body: delayedVisibility),
        Check(name: "abandon with delay", body: abandonWithDelay),
        Check(name: "messages arriving during a turn are kept", body: messagesDuringTurn),
        Check(name: "activity completion reaches the instance", body: activityCompletion),
        Check(name: "cancel requests reach running activities", body: activityCancellation),
        Check(name: "purge rules", body: purgeRules),
        Check(name: "paging and filters", body: paging),
        Check(name: "bad input gets typed errors", body: badInput),
        Check(name: "idempotent start", body: idempotentStart),
        Check(name: "continue-as-new resets the history", body: continueAsNew),
    ] + nodeChecks + completionChecks + conservationChecks + observabilityChecks + controlChecks + readChecks + interactionChecks + queryChecks + topicChecks + updateChecks + heartbeatChecks + queueChecks + flowControlChecks + startChecks
}

/// A provider broke a rule of the contract.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

// MARK: Helpers

func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ConformanceFailure(message()) }
}

func requireError(_ code: DurableError.Code, _ what: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as DurableError where error.code == code {
        return
    } catch {
        throw ConformanceFailure("\(what): expected a \(code) error, got \(error)")
    }
    throw ConformanceFailure("\(what): expected a \(code) error, got success")
}

func start(_ provider: any DurableProvider, _ id: String, input: String = "in") async throws {
    _ = try await provider.createInstance(StartRequest(instanceID: id, name: "Conformance", version: "1.0.0", input: try Payload(encoding: input)))
}

/// Claims until `predicate` holds for a claim or `timeout` passes (for rules that depend on the
/// provider's clock: lease expiry, visibility).
func claimUntil(
    _ provider: any DurableProvider,
    owner: String,
    limit: Int = 10,
    timeout: Duration = .seconds(10),
    _ predicate: ([OrchestrationWorkItem]) -> Bool = { !$0.isEmpty }
) async throws -> [OrchestrationWorkItem] {
    let deadline = ContinuousClock.now + timeout
    while true {
        let items = try await provider.claimOrchestrations(ClaimRequest(owner: owner, limit: limit)).items
        if predicate(items) { return items }
        for item in items { try await provider.abandonOrchestration(item.lease, delay: .zero, reason: .interrupted) }
        guard ContinuousClock.now < deadline else {
            throw ConformanceFailure("no claim satisfied the condition within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

func event(_ item: OrchestrationWorkItem, _ offset: Int, _ kind: HistoryEvent.Kind) -> HistoryEvent {
    HistoryEvent(sequenceNumber: item.history.count + offset, timestamp: item.claimedAt, kind: kind)
}

/// The first turn of claimed `item`: its messages recorded, then the activities `(operation, name,
/// queue)` scheduled.
func firstTurn(_ item: OrchestrationWorkItem, scheduling activities: [(Int, String, String?)], prefetch: ClaimRequest?) -> TurnCommit {
    var events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
    var actions: [TurnAction] = []
    for (id, name, queue) in activities {
        events.append(event(item, events.count, .activityScheduled(operationID: id, name: name, input: .null, retry: .none, timeout: nil, queue: queue)))
        actions.append(.scheduleActivity(ActivityRequest(operationID: id, name: name, input: .null, retry: .none, timeout: nil, queue: queue)))
    }
    return TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions), prefetch: prefetch)
}

/// Commits a first turn that records the start and schedules `activities` activities.
func commitFirstTurn(_ provider: any DurableProvider, _ item: OrchestrationWorkItem, activities: Int = 0) async throws {
    try await provider.commitTurn(item.lease, firstTurn(item, scheduling: (0..<activities).map { ($0 + 1, "Work", nil) }, prefetch: nil))
}

// MARK: Checks

private func exclusiveClaims(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let count = 60
    for i in 0..<count { try await start(provider, "exclusive-\(i)") }
    let claims = try await withThrowingTaskGroup(of: [String].self) { group in
        for claimer in 0..<8 {
            group.addTask {
                var mine: [String] = []
                while true {
                    let items = try await provider.claimOrchestrations(ClaimRequest(owner: "claimer-\(claimer)", limit: 3)).items
                    if items.isEmpty { return mine }
                    mine += items.map(\.lease.id)
                }
            }
        }
        var all: [String] = []
        for try await ids in group { all += ids }
        return all
    }
    try require(claims.count == count, "\(claims.count) claims for \(count) instances")
    try require(Set(claims).count == count, "an instance was handed out twice")
}

private func fencing(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.milliseconds(500))
    try await start(provider, "fenced")
    let first = try await claimUntil(provider, owner: "a")[0]
    // The lease runs out; another owner takes over with a newer epoch.
    let second = try await claimUntil(provider, owner: "b")[0]
    try require(second.lease.epoch > first.lease.epoch, "a takeover must bump the epoch (\(first.lease.epoch) -> \(second.lease.epoch))")
    try require(second.deliveryCount == 2, "the takeover is delivery 2, got \(second.deliveryCount)")

    try await requireError(.leaseLost, "commit with a stale epoch") { try await commitFirstTurn(provider, first, activities: 1) }
    try await requireError(.leaseLost, "renew with a stale epoch") { try await provider.renewOrchestration(first.lease) }
    try await requireError(.leaseLost, "abandon with a stale epoch") {
        try await provider.abandonOrchestration(first.lease, delay: .zero, reason: .interrupted)
    }
    let history = try await provider.history(instanceID: "fenced")
    try require(history.isEmpty, "a stale owner changed the history: \(history)")
    let depths = try await provider.queueDepths()
    try require(depths.readyActivities == 0, "a stale owner created activity tasks")

    try await provider.renewOrchestration(second.lease)
    try await commitFirstTurn(provider, second, activities: 1)
    try require(try await provider.history(instanceID: "fenced").count == 2, "the current owner's commit was not applied")
    // The same lease cannot commit twice.
    try await requireError(.leaseLost, "a second commit with a released lease") { try await commitFirstTurn(provider, second) }
}

private func activityFencing(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.milliseconds(500))
    try await start(provider, "activity-fenced")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 1)
    let first = try await provider.claimActivities(ClaimRequest(owner: "a", limit: 10)).items
    try require(first.count == 1, "expected one activity task, got \(first.count)")
    var second: [ActivityWorkItem] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while second.isEmpty, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
        second = try await provider.claimActivities(ClaimRequest(owner: "b", limit: 10)).items
    }
    try require(second.count == 1, "an expired activity lease was not claimable")
    try require(second[0].lease.epoch > first[0].lease.epoch, "an activity takeover must bump the epoch")
    try await requireError(.leaseLost, "stale activity completion") { try await provider.completeActivity(first[0].lease, .completed(.null)) }
    try await requireError(.leaseLost, "stale activity renewal") { _ = try await provider.renewActivity(first[0].lease) }
    try await provider.completeActivity(second[0].lease, .completed(try Payload(encoding: "done")))
    try await requireError(.leaseLost, "second completion") { try await provider.completeActivity(second[0].lease, .completed(.null)) }
    let items = try await claimUntil(provider, owner: "c")
    let completions = items[0].messages.filter { if case .activityCompleted = $0.kind { true } else { false } }
    try require(completions.count == 1, "expected exactly one completion message, got \(completions.count)")
}

private func atomicCommit(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "atomic")
    let item = try await claimUntil(provider, owner: "a")[0]
    let tooLarge = Payload(json: "\"" + String(repeating: "x", count: 3 << 20) + "\"")
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [
        event(item, 1, .activityScheduled(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil)),
        event(item, 2, .executionCompleted(output: tooLarge)),
    ]
    let result = TurnResult(
        newEvents: events,
        actions: [.scheduleActivity(ActivityRequest(operationID: 1, name: "Work", input: .null, retry: .none, timeout: nil))],
        outcome: .completed(output: tooLarge)
    )
    do {
        try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result))
        throw ConformanceFailure("a commit with an oversized payload succeeded")
    } catch let error as DurableError {
        try require(error.code == .payloadTooLarge || error.code == .invalidInput, "expected payloadTooLarge, got \(error)")
    }
    try require(try await provider.history(instanceID: "atomic").isEmpty, "a failed commit appended history")
    try require(try await provider.queueDepths().readyActivities == 0, "a failed commit created activity tasks")
    try require(try await provider.instance(id: "atomic")?.status == .pending, "a failed commit changed the status")
    // The lease is still held and the messages are still there.
    try await provider.abandonOrchestration(item.lease, delay: .zero, reason: .interrupted)
    let again = try await claimUntil(provider, owner: "b")
    try require(again[0].messages.count == item.messages.count, "a failed commit consumed messages")
}

private func delayedVisibility(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "timer")
    let item = try await claimUntil(provider, owner: "a")[0]
    let fireAt = item.claimedAt.addingTimeInterval(1.0)
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [event(item, 1, .timerCreated(operationID: 1, fireAt: fireAt))]
    try await provider.commitTurn(
        item.lease,
        TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: [.scheduleTimer(operationID: 1, fireAt: fireAt)]))
    )
    let early = try await provider.claimOrchestrations(ClaimRequest(owner: "a", limit: 10))
    if let late = early.items.first {
        // A loaded machine took longer than the timer's second to get here: it is due, not early.
        try require(late.claimedAt >= fireAt, "a timer was visible before its time (claimed at \(late.claimedAt), due \(fireAt))")
        try require(late.messages.map(\.kind) == [.timerFired(operationID: 1)], "expected the timer message, got \(late.messages)")
        return
    }
    let next = try early.nextVisibleIn ?? { throw ConformanceFailure("nextVisibleIn must name the timer's due time") }()
    try require(next <= .seconds(1) && next > .zero, "nextVisibleIn is \(next), expected at most 1 s")
    let items = try await claimUntil(provider, owner: "a")
    try require(items[0].messages.map(\.kind) == [.timerFired(operationID: 1)], "expected the timer message, got \(items[0].messages)")
    try require(items[0].claimedAt >= fireAt, "the timer was delivered at \(items[0].claimedAt), before \(fireAt)")
}

private func abandonWithDelay(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "abandoned")
    let item = try await claimUntil(provider, owner: "a")[0]
    try await provider.abandonOrchestration(item.lease, delay: .seconds(1), reason: .missingHandler("Conformance 9.9.9"))
    try require(try await provider.instance(id: "abandoned")?.waitingFor == "Conformance 9.9.9", "the instance shows what it waits for")
    let early = try await provider.claimOrchestrations(ClaimRequest(owner: "b", limit: 10))
    // On a loaded machine the delay may be over already: then the claim must be at least that late.
    let again: OrchestrationWorkItem
    if let claimed = early.items.first {
        again = claimed
    } else {
        try require(early.nextVisibleIn != nil, "nextVisibleIn must name the end of the delay")
        again = try await claimUntil(provider, owner: "b")[0]
    }
    try require(again.claimedAt.timeIntervalSince(item.claimedAt) >= 0.99, "the delay was not respected")
    try require(again.deliveryCount == 1, "a missing-handler abandon does not count as a delivery; got \(again.deliveryCount)")
    try require(again.handlerMisses == 1, "a missing-handler abandon counts a handler miss; got \(again.handlerMisses)")
    try await commitFirstTurn(provider, again)
    try require(try await provider.instance(id: "abandoned")?.waitingFor == nil, "a committed turn clears what the instance waited for")
}

private func messagesDuringTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "busy")
    let item = try await claimUntil(provider, owner: "a")[0]
    try await provider.sendMessage(instanceID: "busy", .eventRaised(name: "late", input: .null))
    let blocked = try await provider.claimOrchestrations(ClaimRequest(owner: "b", limit: 10)).items
    try require(blocked.isEmpty, "a leased instance was claimed again")
    try await commitFirstTurn(provider, item)
    let next = try await claimUntil(provider, owner: "b")[0]
    try require(next.messages.map(\.kind) == [.eventRaised(name: "late", input: .null)], "the message sent during the turn was lost: \(next.messages)")
    try require(next.history.count == 1, "expected the first turn's history")
}

private func activityCompletion(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "work")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let tasks = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 10)).items
    try require(tasks.count == 2, "expected 2 activity tasks, got \(tasks.count)")
    try require(tasks.allSatisfy { $0.instanceID == "work" && $0.attempt == 1 }, "activity tasks carry their instance and attempt 1")
    // A retry puts the task back with its attempt counted.
    try await provider.abandonActivity(tasks[1].lease, delay: .zero, reason: .retry)
    let retried = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 10)).items
    try require(retried.count == 1 && retried[0].attempt == 2, "a retried task comes back as attempt 2")
    try await provider.completeActivity(tasks[0].lease, .completed(try Payload(encoding: 1)))
    try await provider.completeActivity(retried[0].lease, .failed(FailureDetails(type: "E", message: "m")))
    let item = try await claimUntil(provider, owner: "a")[0]
    let kinds = Set(item.messages.map(\.kind))
    try require(
        kinds == [.activityCompleted(operationID: 1, result: try Payload(encoding: 1)), .activityFailed(operationID: 2, failure: FailureDetails(type: "E", message: "m"))],
        "unexpected messages \(item.messages)"
    )
}

private func activityCancellation(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "cancel-activity")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: "a")[0], activities: 2)
    let running = try await provider.claimActivities(ClaimRequest(owner: "w", limit: 1)).items
    try require(running.count == 1, "expected one running task")
    try require(try await provider.renewActivity(running[0].lease) == false, "no cancellation requested yet")
    try await provider.sendMessage(instanceID: "cancel-activity", .eventRaised(name: "x", input: .null))
    let item = try await claimUntil(provider, owner: "a")[0]
    let ids = [running[0].request.operationID, running[0].request.operationID == 1 ? 2 : 1]
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + ids.enumerated().map {
        event(item, item.messages.count + $0.offset, .operationCancelled(operationID: $0.element))
    }
    try await provider.commitTurn(
        item.lease,
        TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: ids.map { .cancelActivity(operationID: $0) }))
    )
    try require(try await provider.renewActivity(running[0].lease), "renewal must report the cancellation request")
    try require(try await provider.claimActivities(ClaimRequest(owner: "w", limit: 10)).items.isEmpty, "a cancelled task was still claimable")
}

private func purgeRules(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "running")
    try await start(provider, "done")
    let items = try await claimUntil(provider, owner: "a", limit: 10) { $0.count == 2 }
    for item in items {
        var events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) }
        var outcome: TurnOutcome?
        if item.lease.id == "done" {
            events.append(event(item, events.count, .executionCompleted(output: .null)))
            outcome = .completed(output: .null)
        }
        try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, outcome: outcome)))
    }
    try require(try await provider.instance(id: "done")?.status == .completed, "status completed")
    try require(try await provider.instance(id: "done")?.completedAt != nil, "completedAt set")
    let none = try await provider.purgeInstances(PurgeQuery(instanceIDs: ["running"]))
    try require(none == 0, "a running instance was purged")
    let purged = try await provider.purgeInstances(PurgeQuery())
    try require(purged == 1, "expected 1 purged, got \(purged)")
    try require(try await provider.instance(id: "done") == nil, "the purged instance is still there")
    try require(try await provider.instance(id: "running") != nil, "the running instance is gone")
    try await requireError(.instanceNotFound, "history of a purged instance") { _ = try await provider.history(instanceID: "done") }
}

private func paging(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    for i in 0..<25 { try await start(provider, String(format: "page-%02d", i)) }
    _ = try await provider.createInstance(StartRequest(instanceID: "other", name: "Other", input: .null))
    var seen: [String] = []
    var cursor: String?
    var pages = 0
    repeat {
        let page = try await provider.listInstances(InstanceQuery(statuses: [.pending], name: "Conformance", limit: 10, cursor: cursor))
        seen += page.instances.map(\.id)
        cursor = page.nextCursor
        pages += 1
        try require(pages <= 4, "paging does not end")
    } while cursor != nil
    try require(pages == 3, "25 instances in pages of 10 make 3 pages, got \(pages)")
    try require(seen == (0..<25).map { String(format: "page-%02d", $0) }, "pages are ordered by id without gaps or repeats")
    let running = try await provider.listInstances(InstanceQuery(statuses: [.running]))
    try require(running.instances.isEmpty, "status filter")
    try await requireError(.invalidInput, "a page of 0") { _ = try await provider.listInstances(InstanceQuery(limit: 0)) }
}

private func badInput(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await requireError(.instanceNotFound, "event to an unknown instance") {
        try await provider.sendMessage(instanceID: "nobody", .eventRaised(name: "e", input: .null))
    }
    try await requireError(.instanceNotFound, "history of an unknown instance") { _ = try await provider.history(instanceID: "nobody") }
    try require(try await provider.instance(id: "nobody") == nil, "an unknown instance reads as nil")
    try await requireError(.invalidInput, "empty id") { try await start(provider, "") }
    try await requireError(.invalidInput, "control characters in the id") { try await start(provider, "a\u{0}b") }
    try await requireError(.invalidInput, "malformed JSON input") {
        _ = try await provider.createInstance(StartRequest(instanceID: "bad-json", name: "Conformance", input: Payload(json: "{not json")))
    }
    try await requireError(.payloadTooLarge, "oversized input") {
        _ = try await provider.createInstance(
            StartRequest(instanceID: "big", name: "Conformance", input: Payload(json: "\"" + String(repeating: "x", count: 3 << 20) + "\""))
        )
    }
    try await start(provider, "ok")
    try await requireError(.payloadTooLarge, "oversized event") {
        try await provider.sendMessage(instanceID: "ok", .eventRaised(name: "e", input: Payload(json: "\"" + String(repeating: "x", count: 3 << 20) + "\"")))
    }
    try await requireError(.invalidInput, "malformed event data") {
        try await provider.sendMessage(instanceID: "ok", .eventRaised(name: "e", input: Payload(json: "[1,")))
    }
}

private func idempotentStart(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let request = StartRequest(instanceID: "once", name: "Conformance", input: try Payload(encoding: ["a": 1]))
    try require(try await provider.createInstance(request) == .created, "first start creates")
    try require(try await provider.createInstance(request) == .alreadyExists, "the same start again is idempotent")
    var other = request
    other.input = try Payload(encoding: ["a": 2])
    try await requireError(.instanceAlreadyExists, "the same id with another input") { _ = try await provider.createInstance(other) }
    let items = try await claimUntil(provider, owner: "a")
    try require(items.count == 1 && items[0].messages.count == 1, "one instance with one start message")
}

private func continueAsNew(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await start(provider, "loop")
    let item = try await claimUntil(provider, owner: "a")[0]
    try await provider.sendMessage(instanceID: "loop", .eventRaised(name: "during", input: .null))
    let next = HistoryEvent.ExecutionStarted(name: "Conformance", version: "1.0.0", input: try Payload(encoding: 2), executionID: "second-execution")
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [
        event(item, item.messages.count, .continuedAsNew(input: next.input, version: "1.0.0"))
    ]
    try await provider.commitTurn(
        item.lease,
        TurnCommit(
            consumedMessageIDs: item.messages.map(\.id),
            result: TurnResult(newEvents: events, outcome: .continuedAsNew(next: next, carryOver: [.eventRaised(name: "carried", input: .null)]))
        )
    )
    let info = try await provider.instance(id: "loop")
    try require(info?.executionID == "second-execution" && info?.status == .running, "the instance moved to the new execution: \(String(describing: info))")
    try require(try await provider.history(instanceID: "loop").isEmpty, "the new execution starts with an empty history")
    let again = try await claimUntil(provider, owner: "a")[0]
    let kinds = again.messages.map(\.kind)
    try require(kinds.contains(.executionStarted(next)), "the new execution's start is delivered")
    try require(kinds.contains(.eventRaised(name: "carried", input: .null)), "carried-over events are delivered")
    try require(kinds.contains(.eventRaised(name: "during", input: .null)), "events sent during the turn are kept")
}
