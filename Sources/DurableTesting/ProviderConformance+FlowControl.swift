import Durable
import Foundation

// Flow control: rate limits admit attempts at their rate, hand the early ones back until their slot,
// and are fenced like every write of a lease.
extension ProviderConformance {
    static let flowControlChecks: [Check] = [
        Check(name: "a rate limit spaces admissions at its rate", body: rateLimitAdmissions),
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
    try require(early.isEmpty, "a task handed back until its slot is not claimable before it, got \(early.map(\.request.operationID))")
    let due = try await claimActivitiesUntil(provider, owner: "you", timeout: .seconds(10))
    try require(due.map(\.lease.id) == [tasks[2].lease.id], "the third is claimed at its slot, got \(due.map(\.request.operationID))")
    try require(due[0].rateAdmitted && due[0].deliveryCount == 1, "admitted already, the hand-back not counted as a delivery: \(due[0].rateAdmitted), \(due[0].deliveryCount)")
    try await provider.abandonActivity(due[0].lease, delay: .zero, reason: .retry)
    let retried = try await claimActivitiesUntil(provider, owner: "you", timeout: .seconds(10))
    try require(retried.map(\.lease.id) == [tasks[2].lease.id] && !retried[0].rateAdmitted, "a retry is admitted anew")

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

/// Claims activities until one comes or `timeout` passes.
private func claimActivitiesUntil(_ provider: any DurableProvider, owner: String, timeout: Duration) async throws -> [ActivityWorkItem] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let items = try await provider.claimActivities(ClaimRequest(owner: owner, limit: 10)).items
        if !items.isEmpty { return items }
        try await Task.sleep(for: .milliseconds(50))
    }
    return []
}
