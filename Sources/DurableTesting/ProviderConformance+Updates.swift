import Durable
import Foundation

// Updates: recorded once, delivered as messages, answered by the commit that ends them.
extension ProviderConformance {
    static let updateChecks: [Check] = [
        Check(name: "an update is recorded once and its outcome written by the commit", body: updateLifecycle),
        Check(name: "update-with-start creates once under concurrent callers", body: updateWithStart),
    ]
}

private func updateLifecycle(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let update = UpdateRequest(id: "u1", instanceID: "updated", name: "add", input: try Payload(encoding: "apple"))
    try await requireError(.instanceNotFound, "an update to an unknown instance") { _ = try await provider.sendUpdate(update) }
    try await requireError(.invalidInput, "an update with an empty name") {
        _ = try await provider.sendUpdate(UpdateRequest(id: "u0", instanceID: "updated", name: "", input: .null))
    }
    try await start(provider, "updated")
    let opening = try await claimUntil(provider, owner: "node-a#1")[0]
    try await commitFirstTurn(provider, opening)

    let hints = provider.updateOutcomes(id: "u1")
    try require(try await provider.sendUpdate(update), "a new update is sent")
    try require(try await provider.sendUpdate(update) == false, "the same id again sends nothing")
    try require(try await provider.updateOutcome(id: "u1") == nil, "no outcome yet")
    let item = try await claimUntil(provider, owner: "node-a#1")[0]
    try require(item.messages.map(\.kind) == [update.message], "one update message: \(item.messages.map(\.kind.name))")
    let outcome = UpdateOutcome.completed(try Payload(encoding: 1))
    let events = [event(item, 0, update.message), event(item, 1, .updateFinished(id: "u1", outcome: outcome))]
    try await provider.commitTurn(item.lease, TurnCommit(
        consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: [.answerUpdate(id: "u1", outcome)])
    ))
    try require(await first(hints) != nil, "the waiting client is hinted")
    try require(try await provider.updateOutcome(id: "u1") == outcome, "the commit wrote the outcome")

    // A rejection is answered without a trace in the history; a second answer changes nothing.
    let rejected = UpdateRequest(id: "u2", instanceID: "updated", name: "add", input: try Payload(encoding: ""))
    try require(try await provider.sendUpdate(rejected), "u2 sent")
    let next = try await claimUntil(provider, owner: "node-a#1")[0]
    let refusal = UpdateOutcome.rejected(FailureDetails(type: "Empty", message: "no item"))
    try await provider.commitTurn(next.lease, TurnCommit(
        consumedMessageIDs: next.messages.map(\.id),
        result: TurnResult(newEvents: [], actions: [.answerUpdate(id: "u2", refusal), .answerUpdate(id: "u1", .completed(.null))])
    ))
    try require(try await provider.updateOutcome(id: "u2") == refusal, "the rejection is the outcome")
    try require(try await provider.updateOutcome(id: "u1") == outcome, "the first outcome stays")
    try require(try await provider.history(instanceID: "updated").count == opening.messages.count + 2, "the rejection is not in the history")

    let finishing = try await claimUntil(provider, owner: "node-a#1", timeout: .milliseconds(200)) { _ in true }
    try require(finishing.isEmpty, "nothing left to claim")
    try await provider.sendMessage(instanceID: "updated", .cancelRequested(reason: "end"))
    let end = try await claimUntil(provider, owner: "node-a#1")[0]
    try await provider.commitTurn(end.lease, TurnCommit(
        consumedMessageIDs: end.messages.map(\.id),
        result: TurnResult(newEvents: [event(end, 0, end.messages[0].kind), event(end, 1, .executionCancelled(reason: "end"))], actions: [], outcome: .cancelled(reason: "end"))
    ))
    try await requireError(.instanceFinished, "an update to a finished instance") {
        _ = try await provider.sendUpdate(UpdateRequest(id: "u3", instanceID: "updated", name: "add", input: .null))
    }
}

private func updateWithStart(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let start = StartRequest(instanceID: "cart", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    let results = try await withThrowingTaskGroup(of: StartResult.self) { group in
        for caller in 0..<8 {
            group.addTask {
                try await provider.updateWithStart(start, UpdateRequest(id: "c\(caller)", instanceID: "cart", name: "add", input: try Payload(encoding: caller)))
            }
        }
        return try await group.reduce(into: [StartResult]()) { $0.append($1) }
    }
    try require(results.filter { $0 == .created }.count == 1, "one caller created the instance: \(results)")
    _ = try await provider.updateWithStart(start, UpdateRequest(id: "c0", instanceID: "cart", name: "add", input: try Payload(encoding: 0)))
    let item = try await claimUntil(provider, owner: "a")[0]
    let kinds = item.messages.map(\.kind.name)
    try require(kinds == ["executionStarted"] + Array(repeating: "updateRequested", count: 8), "the start, then each update once: \(kinds)")
}
