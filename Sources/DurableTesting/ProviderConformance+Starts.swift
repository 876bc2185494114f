public import Durable
import Foundation

extension ProviderConformance {
    /// Checks of eager starts (``DurableInstances/createInstance(_:claimingFirstTurnFor:)``).
    static let startChecks: [Check] = [
        Check(name: "an eager start leases the first turn to its starter", body: eagerStart)
    ]
}

private func eagerStart(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let request = StartRequest(instanceID: "eager", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    let (result, claimed) = try await provider.createInstance(request, claimingFirstTurnFor: "starter")
    guard result == .created, let turn = claimed else {
        throw ConformanceFailure("an eager start of a new id creates it and returns its first turn, got \(result) and \(String(describing: claimed))")
    }
    try require(turn.lease.id == "eager" && turn.lease.owner == "starter", "the turn is leased to the starter: \(turn.lease)")
    try require(turn.deliveryCount == 1 && turn.history.isEmpty && turn.historyLength == 0, "a first delivery with an empty history: \(turn)")
    guard turn.messages.count == 1, case .executionStarted(let started) = turn.messages[0].kind else {
        throw ConformanceFailure("the turn brings the start message alone, got \(turn.messages)")
    }
    try require(started.name == "Conformance" && started.input == request.input, "the start message is the request's: \(started)")
    try require(turn.instance.status == .pending && turn.instance.name == "Conformance", "the instance as created: \(turn.instance)")

    // Leased: nobody else claims it, and starting the id again claims nothing.
    let others = try await provider.claimOrchestrations(ClaimRequest(owner: "other", limit: 10)).items
    try require(others.isEmpty, "another owner claimed an eagerly started instance: \(others.map(\.lease))")
    let (again, none) = try await provider.createInstance(request, claimingFirstTurnFor: "starter")
    try require(again == .alreadyExists && none == nil, "an eager start of an existing id is idempotent and claims nothing, got \(again), \(String(describing: none))")

    try await commitFirstTurn(provider, turn, activities: 1)
    try require(try await provider.history(instanceID: "eager").count == 2, "the eager turn's commit was not applied")

    // A starter that never commits: another owner takes the turn when the lease expires, and the
    // starter's lease is fenced off.
    let expiring = try await factory(.milliseconds(500))
    let lostRequest = StartRequest(instanceID: "eager-lost", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    guard case (.created, let lost?) = try await expiring.createInstance(lostRequest, claimingFirstTurnFor: "dead") else {
        throw ConformanceFailure("an eager start of a new id returns its first turn")
    }
    let taken = try await claimUntil(expiring, owner: "survivor")
    try require(taken.map(\.lease.id) == ["eager-lost"], "the expired eager lease is claimable: \(taken.map(\.lease))")
    try require(taken[0].lease.epoch > lost.lease.epoch && taken[0].deliveryCount == 2, "the takeover is a newer epoch and delivery 2: \(taken[0])")
    try await requireError(.leaseLost, "a commit with the expired eager lease") { try await commitFirstTurn(expiring, lost) }
    try await commitFirstTurn(expiring, taken[0])
}
