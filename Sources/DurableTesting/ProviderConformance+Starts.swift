import Durable
import Foundation
import Synchronization

extension ProviderConformance {
    /// Checks of eager starts (``DurableInstances/createInstance(_:claimingFirstTurnFor:)`` and
    /// ``DurableInstances/createInstance(_:claimingFirstTurnFor:committing:)``).
    static let startChecks: [Check] = [
        Check(name: "an eager start leases the first turn to its starter", body: eagerStart),
        Check(name: "a start that commits its first turn records both", body: startWithFirstTurn),
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

private func startWithFirstTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let asked = Atomic(0)
    // Two activities, one of them leased to the starter by the commit.
    let turn: @Sendable (OrchestrationWorkItem) async -> TurnCommit? = { item in
        asked.add(1, ordering: .relaxed)
        return firstTurn(item, scheduling: [(1, "Work", nil), (2, "Work", nil)], prefetch: ClaimRequest(owner: "starter", limit: 1))
    }
    // Twice: a provider may keep state from its first such start (PostgreSQL reads the database's
    // clock before it).
    for id in ["first-turn", "first-turn-2"] {
        asked.store(0, ordering: .relaxed)
        let request = StartRequest(instanceID: id, name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
        let (result, first) = try await provider.createInstance(request, claimingFirstTurnFor: "starter", committing: turn)
        try require(result == .created, "a start of a new id creates it, got \(result)")
        switch first {
        case .none:
            throw ConformanceFailure("a start of a new id returns its first turn, committed or claimed")
        case .claimed(let item):
            // A provider may leave the turn claimed: then it is the starter's, as an eager start's.
            try require(item.lease.owner == "starter" && item.history.isEmpty, "the claimed turn is the starter's: \(item.lease)")
            try await provider.commitTurn(item.lease, firstTurn(item, scheduling: [(1, "Work", nil), (2, "Work", nil)], prefetch: nil))
        case .committed(let item, let commit, let prefetched):
            try require(asked.load(ordering: .relaxed) == 1, "the turn was asked for once, not \(asked.load(ordering: .relaxed)) times")
            try require(item.lease.id == id && item.lease.owner == "starter" && commit.result.newEvents.count == 3, "the committed turn is the one computed: \(commit.result.newEvents)")
            try require(prefetched.map(\.request.operationID) == [1] && prefetched.allSatisfy { $0.lease.owner == "starter" && $0.instanceID == id },
                        "the commit leased the first activity to the starter: \(prefetched.map(\.lease))")
            let others = try await provider.claimActivities(ClaimRequest(owner: "other", limit: 10)).items
            try require(others.map(\.request.operationID) == [2] && others.allSatisfy { $0.instanceID == id },
                        "the activity the commit did not lease is claimable: \(others.map(\.lease))")
        }
        let history = try await provider.history(instanceID: id)
        guard history.count == 3, case .executionStarted = history[0].kind else {
            throw ConformanceFailure("the history holds the start and the turn's events, got \(history.map(\.kind))")
        }
        let instance = try await provider.instance(id: id)
        try require(instance?.status == .running && instance?.name == "Conformance" && instance?.version == "1.0.0",
                    "the instance runs after its first turn, got \(String(describing: instance))")
        let claimed = try await provider.claimOrchestrations(ClaimRequest(owner: "other", limit: 10)).items
        try require(claimed.isEmpty, "nothing is left to claim after the first turn: \(claimed.map(\.lease))")
    }

    // An existing id: the provider may have asked for a turn, but nothing of it is written.
    let existing = StartRequest(instanceID: "first-turn", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    let (again, none) = try await provider.createInstance(existing, claimingFirstTurnFor: "starter", committing: turn)
    guard again == .alreadyExists, case .none = none else {
        throw ConformanceFailure("a start of an existing id is idempotent and returns no turn, got \(again), \(none)")
    }
    let kept = try await provider.history(instanceID: "first-turn").count
    let leftover = try await provider.claimActivities(ClaimRequest(owner: "other", limit: 10)).items
    try require(kept == 3 && leftover.isEmpty, "a start of an existing id wrote nothing: \(kept) events, activities \(leftover.map(\.lease))")

    // A starter that offers no turn keeps it claimed.
    let plain = StartRequest(instanceID: "first-turn-declined", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    guard case (.created, .claimed(let item)) = try await provider.createInstance(plain, claimingFirstTurnFor: "starter", committing: { _ in nil }) else {
        throw ConformanceFailure("a start whose starter offers no turn leaves it claimed")
    }
    try require(item.lease.owner == "starter", "the declined turn is leased to the starter: \(item.lease)")
    try await commitFirstTurn(provider, item)
}
