import Durable
import Foundation

// Topics: subscriptions made by committed turns, publications delivered to exactly the current
// subscribers of matching patterns.
extension ProviderConformance {
    static let topicChecks: [Check] = [
        Check(name: "a publication reaches exactly the current subscribers of matching patterns", body: publications),
    ]
}

/// Commits the claimed turn: its messages, then `decisions` with `actions`, and `outcome`.
private func commit(
    _ provider: any DurableProvider, _ item: OrchestrationWorkItem, _ decisions: [HistoryEvent.Kind], _ actions: [TurnAction], outcome: TurnOutcome? = nil
) async throws {
    let kinds = item.messages.map(\.kind) + decisions
    let events = kinds.enumerated().map { event(item, $0.offset, $0.element) }
    try await provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: events, actions: actions, outcome: outcome)))
}

/// Starts `id` and commits its first turn, subscribing to `patterns`.
private func subscribed(_ provider: any DurableProvider, _ id: String, _ patterns: [String], finish: Bool = false) async throws {
    try await start(provider, id)
    let items = try await claimUntil(provider, owner: "node-a#1") { $0.contains { $0.lease.id == id } }
    for other in items where other.lease.id != id {
        try await provider.abandonOrchestration(other.lease, delay: .zero, reason: .interrupted)
    }
    let item = items.first { $0.lease.id == id }!
    var decisions = patterns.map { HistoryEvent.Kind.topicSubscribed(pattern: $0) }
    if finish { decisions.append(.executionCompleted(output: .null)) }
    try await commit(provider, item, decisions, patterns.map { .subscribe(pattern: $0) }, outcome: finish ? .completed(output: .null) : nil)
}

/// The publications in the instance's next claim, as (event name, envelope).
private func delivered(_ provider: any DurableProvider, _ id: String) async throws -> (OrchestrationWorkItem?, [(String, Payload)]) {
    let items = try await provider.claimOrchestrations(ClaimRequest(owner: "node-a#1", limit: 10)).items
    let item = items.first { $0.lease.id == id }
    for other in items where other.lease.id != id {
        try await provider.abandonOrchestration(other.lease, delay: .zero, reason: .interrupted)
    }
    let events = item?.messages.compactMap { message -> (String, Payload)? in
        if case .eventRaised(let name, let input, _) = message.kind { (name, input) } else { nil }
    } ?? []
    return (item, events)
}

private func publications(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    try await subscribed(provider, "all-orders", ["orders/#"])
    try await subscribed(provider, "eu-orders", ["orders/+/eu", "region/+/flags"])
    try await subscribed(provider, "flags", ["region/+/flags"])
    try await subscribed(provider, "finished", ["orders/#"], finish: true)

    let count = try await provider.publish(topic: "orders/42/eu", data: try Payload(encoding: ["sku": "piano"]))
    try require(count == 2, "two current subscriptions match orders/42/eu: \(count)")
    try await subscribed(provider, "late", ["orders/#"])
    for (id, pattern) in [("all-orders", "orders/#"), ("eu-orders", "orders/+/eu")] {
        let (item, events) = try await delivered(provider, id)
        try require(events.map(\.0) == [TopicSubscription.eventName(pattern)], "\(id) gets one publication as the event of its pattern: \(events.map(\.0))")
        let publication = try events[0].1.decode(Publication<[String: String]>.self)
        try require(publication.topic == "orders/42/eu" && publication.data == ["sku": "piano"], "with the topic and data: \(publication)")
        if let item, id == "all-orders" {
            try await commit(provider, item, [.topicUnsubscribed(pattern: "orders/#")], [.unsubscribe(pattern: "orders/#")])
        } else if let item {
            try await commit(provider, item, [], [])
        }
    }
    let (_, late) = try await delivered(provider, "late")
    try require(late.isEmpty, "a later subscriber does not see an earlier publication: \(late.map(\.0))")

    let again = try await provider.publish(topic: "orders/7", data: .null)
    try require(again == 1, "after the unsubscribe only the late subscriber matches orders/7: \(again)")
    try require(try await provider.publish(topic: "region/eu/flags", data: try Payload(encoding: true)) == 2, "both flag subscribers")
    try require(try await provider.publish(topic: "nobody/listens", data: .null) == 0, "no subscriber, no delivery")
    try await requireError(.invalidInput, "a topic with a wildcard") { _ = try await provider.publish(topic: "orders/+", data: .null) }
    try await requireError(.invalidInput, "an empty level") { _ = try await provider.publish(topic: "orders//1", data: .null) }
    try await requireError(.invalidInput, "data that is not JSON") { _ = try await provider.publish(topic: "orders/1", data: Payload(json: "{nope")) }
}
