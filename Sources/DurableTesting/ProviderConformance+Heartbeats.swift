import Durable
import Foundation

// Activity heartbeats: details kept across attempts, a lease that lasts only as long as asked.
extension ProviderConformance {
    static let heartbeatChecks: [Check] = [
        Check(name: "heartbeats are kept for the next attempt and a short lease lapses", body: heartbeats),
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
    let deadline = ContinuousClock.now + .seconds(10)
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
