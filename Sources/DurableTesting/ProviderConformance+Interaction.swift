import Durable
import Foundation

// Talking to instances: signal-with-start.
extension ProviderConformance {
    static let interactionChecks: [Check] = [
        Check(name: "signal-with-start creates once under concurrent callers", body: signalWithStart),
    ]
}

private func signalWithStart(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let request = StartRequest(instanceID: "signalled", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    let results = try await withThrowingTaskGroup(of: StartResult.self) { group in
        for caller in 0..<10 {
            group.addTask { try await provider.signalWithStart(request, event: .eventRaised(name: "hello", input: try Payload(encoding: caller))) }
        }
        return try await group.reduce(into: [StartResult]()) { $0.append($1) }
    }
    try require(results.filter { $0 == .created }.count == 1, "exactly one caller created the instance: \(results)")
    let item = try await claimUntil(provider, owner: "a")[0]
    let kinds = item.messages.map(\.kind.name)
    try require(kinds == ["executionStarted"] + Array(repeating: "eventRaised", count: 10), "the start first, then every event: \(kinds)")
    let callers = Set(item.messages.compactMap { if case .eventRaised(_, let input, _) = $0.kind { try? input.decode(Int.self) } else { nil } })
    try require(callers == Set(0..<10), "every caller's event arrived: \(callers.sorted())")

    try await requireError(.invalidInput, "signal-with-start sends an event") {
        _ = try await provider.signalWithStart(request, event: .cancelRequested(reason: "no"))
    }
    let events = item.messages.enumerated().map { event(item, $0.offset, $0.element.kind) } + [event(item, item.messages.count, .executionCompleted(output: .null))]
    try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: [], outcome: .completed(output: .null))))
    try await requireError(.invalidInput, "signal-with-start to a finished instance") {
        _ = try await provider.signalWithStart(request, event: .eventRaised(name: "late", input: .null))
    }
}
