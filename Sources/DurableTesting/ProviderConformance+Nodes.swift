import Durable
import Foundation

// The node registry: heartbeats, stale nodes whose leases are taken over, restarts, deregistration.
extension ProviderConformance {
    static let nodeChecks: [Check] = [
        Check(name: "leases of a silent node are claimable at once", body: staleNodeTakeover),
        Check(name: "a claim takes a silent node's leases over before ready work", body: orphansFirst),
        Check(name: "a restarted node gets its own leases back", body: restartedNode),
        Check(name: "node registry: leases, deregistration, duplicate ids", body: nodeRegistry),
    ]
}

func node(_ id: String, _ incarnation: String, orchestrations: [String: [String]] = ["Conformance": ["1.0.0"]]) -> NodeRegistration {
    NodeRegistration(
        id: id, incarnation: incarnation, host: "test-host", pid: 1, buildVersion: "test",
        capabilities: Capabilities(orchestrations: orchestrations, activities: ["Work"])
    )
}

/// Two registered nodes, "silent" (which will stop heartbeating) and "live".
private func silentAndLive(_ provider: any DurableProvider) async throws -> (silent: NodeRegistration, live: NodeRegistration) {
    let silent = node("silent", "one")
    let live = node("live", "one")
    _ = try await provider.registerNode(silent)
    _ = try await provider.registerNode(live)
    return (silent, live)
}

private func staleNodeTakeover(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let (silent, live) = try await silentAndLive(provider)
    try await start(provider, "orphan")
    try await commitFirstTurn(provider, try await claimUntil(provider, owner: silent.leaseOwner)[0], activities: 1)
    try await provider.sendMessage(instanceID: "orphan", .eventRaised(name: "e", input: .null))
    let held = try await claimUntil(provider, owner: silent.leaseOwner)[0]
    let task = try await provider.claimActivities(ClaimRequest(owner: silent.leaseOwner, limit: 10)).items
    try require(task.count == 1, "the silent node holds one activity")
    // And the first turn of an instance it started eagerly.
    let eagerRequest = StartRequest(instanceID: "orphan-eager", name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    guard case (.created, let eager?) = try await provider.createInstance(eagerRequest, claimingFirstTurnFor: silent.leaseOwner) else {
        throw ConformanceFailure("an eager start of a new id returns its first turn")
    }

    let stale = Duration.milliseconds(1500)
    // Its last heartbeat now, however long the setup took on a loaded machine.
    _ = try await provider.heartbeat(silent, staleAfter: stale)
    let early = try await provider.claimOrchestrations(ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale))
    try require(early.items.isEmpty, "the lease of a node that heartbeats is respected")
    let beat = try await provider.heartbeat(live, staleAfter: stale)
    try require(!beat.orphansNow, "no orphan yet")
    let wait = try beat.nextOrphanIn ?? { throw ConformanceFailure("a heartbeat names when a lease-holding node becomes stale") }()
    try require(wait <= stale && wait > .zero, "nextOrphanIn is \(wait)")

    // The silent node does not heartbeat again; the lease still has most of its 60 s.
    let deadline = ContinuousClock.now + .seconds(30)
    var taken: [OrchestrationWorkItem] = []
    while taken.isEmpty, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
        var unsearched = ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale)
        unsearched.searchesOrphans = false
        let respected = try await provider.claimOrchestrations(unsearched).items
        try require(respected.isEmpty, "a claim that does not search for orphans leaves every unexpired lease")
        taken = try await provider.claimOrchestrations(ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale)).items
    }
    if taken.count == 1 {
        // The two leases may come due in two claims on a loaded machine.
        taken += try await provider.claimOrchestrations(ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale)).items
    }
    let takenOrphan = taken.first { $0.lease.id == "orphan" }
    let takenEager = taken.first { $0.lease.id == "orphan-eager" }
    try require(taken.count == 2 && (takenOrphan?.lease.epoch ?? 0) > held.lease.epoch, "the live node took the orphans over: \(taken.map(\.lease))")
    try require((takenEager?.lease.epoch ?? 0) > eager.lease.epoch, "the eagerly started turn was taken over with a newer epoch: \(taken.map(\.lease))")
    let orphaned = try await provider.heartbeat(live, staleAfter: stale)
    try require(orphaned.orphansNow, "a heartbeat reports the silent node's leases")
    try require(orphaned.staleNodes == ["silent"], "a heartbeat names the silent node, got \(orphaned.staleNodes)")
    var unsearched = ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale)
    unsearched.searchesOrphans = false
    let respected = try await provider.claimActivities(unsearched).items
    try require(respected.isEmpty, "an activity claim that does not search for orphans leaves the silent node's task")
    let tasks = try await provider.claimActivities(ClaimRequest(owner: live.leaseOwner, limit: 10, staleNodeAfter: stale)).items
    try require(tasks.count == 1, "the orphaned activity was taken over")
    try await requireError(.leaseLost, "the silent node's late commit") { try await commitFirstTurn(provider, held) }
    try await requireError(.leaseLost, "the silent node's late commit of its eager start's turn") { try await commitFirstTurn(provider, eager) }
    try await requireError(.leaseLost, "the silent node's late activity result") { try await provider.completeActivity(task[0].lease, .completed(.null)) }
}

/// A claim that searches takes orphaned leases first, as the oldest work: a node that filled its
/// claims with ready turns instead saw no takeover, stopped searching while orphans remained, and
/// left them until its next search (a 20,000-instance resume took 31 s instead of 8).
private func orphansFirst(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let (silent, live) = try await silentAndLive(provider)
    let orphans = (0..<6).map { "orphan-\($0)" }
    for id in orphans { try await start(provider, id) }
    _ = try await claimUntil(provider, owner: silent.leaseOwner, limit: 6) { $0.count == 6 }
    let stale = Duration.milliseconds(300)
    _ = try await provider.heartbeat(silent, staleAfter: stale)
    let deadline = ContinuousClock.now + .seconds(30)
    while try await !provider.heartbeat(live, staleAfter: stale).orphansNow {
        try require(ContinuousClock.now < deadline, "the silent node's leases never became orphans")
        try await Task.sleep(for: .milliseconds(50))
    }
    for i in 0..<6 { try await start(provider, "ready-\(i)") }
    let taken = try await provider.claimOrchestrations(ClaimRequest(owner: live.leaseOwner, limit: 6, staleNodeAfter: stale)).items
    try require(Set(taken.map(\.lease.id)) == Set(orphans), "the orphans come first; got \(taken.map(\.lease.id).sorted())")
}

private func restartedNode(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let before = node("worker", "before")
    _ = try await provider.registerNode(before)
    try await start(provider, "mine")
    let held = try await claimUntil(provider, owner: before.leaseOwner)[0]
    let after = node("worker", "after")
    let released = try await provider.registerNode(after)
    try require(released == 1, "registering a new incarnation released \(released) leases, expected 1")
    let items = try await provider.claimOrchestrations(ClaimRequest(owner: after.leaseOwner, limit: 10))
    try require(items.items.count == 1, "the restarted node claims its old work at once")
    try await requireError(.leaseLost, "the old incarnation's commit") { try await commitFirstTurn(provider, held) }
    try await requireError(.invalidInput, "a heartbeat of the replaced incarnation") { _ = try await provider.heartbeat(before, staleAfter: .seconds(10)) }
}

private func nodeRegistry(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let a = node("a", "1", orchestrations: ["Conformance": ["1.0.0", "2.0.0"]])
    let b = node("b", "1")
    _ = try await provider.registerNode(a)
    _ = try await provider.registerNode(b)
    try await start(provider, "held")
    _ = try await claimUntil(provider, owner: a.leaseOwner)
    var nodes = try await provider.listNodes(staleAfter: .seconds(30))
    try require(nodes.map(\.registration.id) == ["a", "b"], "nodes listed by id: \(nodes.map(\.registration.id))")
    try require(nodes[0].instanceLeases == ["held"] && nodes[1].instanceLeases.isEmpty, "leases per node")
    try require(nodes[0].registration.capabilities.orchestrations["Conformance"] == ["1.0.0", "2.0.0"], "capabilities round-trip")
    try require(nodes.allSatisfy(\.isAlive), "both alive")
    try await provider.deregisterNode(a)
    nodes = try await provider.listNodes(staleAfter: .seconds(30))
    try require(nodes[0].stoppedAt != nil && !nodes[0].isAlive && nodes[0].instanceLeases.isEmpty, "a stopped node holds nothing")
    let items = try await provider.claimOrchestrations(ClaimRequest(owner: b.leaseOwner, limit: 10))
    try require(items.items.count == 1, "a stopped node's leases are released")
}
