import Durable
import Foundation

// What a provider reports for metrics: the fleet snapshot a heartbeat returns.
extension ProviderConformance {
    static let observabilityChecks: [Check] = [
        Check(name: "a heartbeat reports nodes alive and ready work", body: fleetSnapshot),
    ]
}

private func fleetSnapshot(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let me = node("observer", "one")
    _ = try await provider.registerNode(me)
    let idle = try await provider.heartbeat(me, staleAfter: .seconds(30))
    // A provider may not say; when it does, it must be right.
    guard let empty = idle.fleet else { return }
    try require(empty.aliveNodes == 1, "one node alive, got \(empty.aliveNodes)")
    try require(empty.readyTurns == 0 && empty.oldestReadyTurn == nil, "no ready turn yet: \(empty)")

    try await start(provider, "ready-1")
    try await start(provider, "ready-2")
    let ready = try await provider.heartbeat(me, staleAfter: .seconds(30)).fleet
    try require(ready?.readyTurns == 2, "two ready turns, got \(String(describing: ready))")
    try require(ready?.oldestReadyTurn.map { $0 >= .zero } ?? false, "the oldest ready turn has an age")

    let claimed = try await claimUntil(provider, owner: me.leaseOwner)
    try require(!claimed.isEmpty, "the ready instances can be claimed")
    let after = try await provider.heartbeat(me, staleAfter: .seconds(30)).fleet
    try require(after?.readyTurns == 2 - claimed.count, "claimed turns are no longer ready: \(String(describing: after))")
}
