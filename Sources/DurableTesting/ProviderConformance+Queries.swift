import Durable
import Foundation

// Queries: recorded with their target, hinted to the nodes, claimed once, answered once.
extension ProviderConformance {
    static let queryChecks: [Check] = [
        Check(name: "a query is recorded, claimed once and answered", body: queryLifecycle),
        Check(name: "unanswered queries are claimed oldest first by nodes that can run them", body: querySweep),
    ]
}

/// The first element of `stream`, or `nil` after `timeout` (which finishes the stream).
func first<Element: Sendable>(_ stream: AsyncStream<Element>, timeout: Duration = .seconds(10)) async -> Element? {
    await withTaskGroup(of: Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let element = await group.next() ?? nil
        group.cancelAll()
        return element
    }
}

/// An instance that ran its first turn on node "node-a".
private func started(_ provider: any DurableProvider, _ id: String) async throws -> OrchestrationWorkItem {
    try await start(provider, id)
    let item = try await claimUntil(provider, owner: "node-a#1") { $0.contains { $0.lease.id == id } }.first { $0.lease.id == id }!
    try await commitFirstTurn(provider, item)
    return item
}

private func queryLifecycle(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await requireError(.instanceNotFound, "a query for an unknown instance") {
        _ = try await provider.submitQuery(id: "q0", instanceID: "nobody", name: "stage", input: .null, expiresAfter: .seconds(60))
    }
    try await requireError(.invalidInput, "a query with an empty name") {
        _ = try await provider.submitQuery(id: "q0", instanceID: "nobody", name: "", input: .null, expiresAfter: .seconds(60))
    }
    let item = try await started(provider, "queried")
    // A hint sent before the provider listens may be missed (the sweep finds those): wait until
    // one arrives. (A stream whose reader gave up is finished: a new one for each try.)
    var warm = 0
    var arrived = false
    while !arrived && warm < 20 {
        warm += 1
        let hints = provider.queryRequests()
        _ = try await provider.submitQuery(id: "warm-\(warm)", instanceID: "queried", name: "stage", input: .null, expiresAfter: .seconds(60))
        arrived = await first(hints, timeout: .milliseconds(500)) != nil
    }
    try require(arrived, "no query hint arrived")
    let hints = provider.queryRequests()
    let request = try await provider.submitQuery(id: "q1", instanceID: "queried", name: "stage", input: try Payload(encoding: 7), expiresAfter: .seconds(60))
    let expected = QueryRequest.Target(
        name: "Conformance", version: "1.0.0", executionID: item.instance.executionID, historyLength: item.messages.count, status: .running, turnNode: "node-a"
    )
    try require(request.target == expected, "the target is the committed execution and the node of its last turn: \(request.target)")
    let hint = await first(hints)
    try require(hint == request, "the nodes are hinted with the request: \(String(describing: hint))")

    try require(try await provider.claimQuery(id: "q1", owner: "node-b", for: .seconds(60)), "the first claim holds")
    try require(try await provider.claimQuery(id: "q1", owner: "node-c", for: .seconds(60)) == false, "a second claim fails while the first holds")
    try require(try await provider.queryAnswer(id: "q1") == nil, "no answer yet")

    let answers = provider.queryAnswers(id: "q1")
    let answer = QueryAnswer(output: try Payload(encoding: "waiting"), answeredBy: "node-b", fromMemory: true)
    try await provider.answerQuery(id: "q1", answer)
    let hinted = await first(answers)
    try require(hinted == answer || hinted == .some(nil), "the client is hinted: \(String(describing: hinted))")
    try await provider.answerQuery(id: "q1", QueryAnswer(output: .null, answeredBy: "node-c", fromMemory: false))
    try require(try await provider.queryAnswer(id: "q1") == answer, "the first answer stays")
    try require(try await provider.claimQuery(id: "q1", owner: "node-c", for: .seconds(60)) == false, "an answered query is not claimed")
    let history = try await provider.history(instanceID: "queried")
    try require(history.count == item.messages.count, "a query writes nothing to the history")

    // Expired at once: neither claimed nor answered.
    _ = try await provider.submitQuery(id: "q2", instanceID: "queried", name: "stage", input: .null, expiresAfter: .zero)
    try require(try await provider.claimQuery(id: "q2", owner: "node-b", for: .seconds(60)) == false, "an expired query is not claimed")
    try await provider.answerQuery(id: "q2", answer)
    try require(try await provider.queryAnswer(id: "q2") == nil, "an expired query has no answer")
}

private func querySweep(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    _ = try await started(provider, "swept")
    for id in ["s1", "s2", "s3"] {
        _ = try await provider.submitQuery(id: id, instanceID: "swept", name: "stage", input: .null, expiresAfter: .seconds(60))
    }
    try require(try await provider.claimQuery(id: "s2", owner: "node-b", for: .seconds(60)), "s2 claimed")
    let young = try await provider.claimQueries(owner: "node-c", capabilities: nil, olderThan: .seconds(60), limit: 10, for: .seconds(60))
    try require(young.isEmpty, "queries younger than the delay are left to their node: \(young.map(\.id))")
    let other = Capabilities(orchestrations: ["Other": ["1.0.0"], "Conformance": ["2.0.0"]], activities: [])
    let unable = try await provider.claimQueries(owner: "node-c", capabilities: other, olderThan: .zero, limit: 10, for: .seconds(60))
    try require(unable.isEmpty, "a node without the instance's version claims none: \(unable.map(\.id))")
    let able = Capabilities(orchestrations: ["Conformance": ["1.0.0"]], activities: [])
    let claimed = try await provider.claimQueries(owner: "node-c", capabilities: able, olderThan: .zero, limit: 1, for: .seconds(60))
    try require(claimed.map(\.id) == ["s1"], "the oldest unclaimed first, up to the limit: \(claimed.map(\.id))")
    try require(claimed.first?.target.turnNode == "node-a" && claimed.first?.input == .null, "with its input and target: \(String(describing: claimed.first))")
    let rest = try await provider.claimQueries(owner: "node-d", capabilities: nil, olderThan: .zero, limit: 10, for: .seconds(60))
    try require(rest.map(\.id) == ["s3"], "claimed ones are skipped: \(rest.map(\.id))")
}
