import Durable
import Foundation

// Talking to a running fleet: queries (answered from memory by the node of the last turn, by
// replay otherwise, read-only, with typed errors and a timeout that says why) and topics.
extension RuntimeScenarios {
    static let interactionScenarios: [Scenario] = [
        Scenario(name: "queries read a running and a finished instance on two nodes", body: queriesOnTwoNodes),
        Scenario(name: "publications reach the subscribers of matching patterns on two nodes", body: topicsOnTwoNodes),
        Scenario(name: "an update taken over mid-way runs once and answers its client", body: updateTakenOver),
    ]
}

/// Keeps its stage for queries: reserving, waiting for approval, approved.
struct Staged: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        var stage = "reserving"
        context.setQueryHandler("stage") { stage }
        context.setQueryHandler("echo") { (text: String) -> String in "\(stage): \(text)" }
        context.setQueryHandler("dice") { context.random(in: 1...6) }
        _ = try await context.activity(Add.self, .init(a: 1, b: 2))
        stage = "waiting for approval"
        let approver = try await context.event("approve", as: String.self)
        stage = "approved by \(approver)"
        return approver
    }
}

private func queriesOnTwoNodes(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Staged()); try $0.register(Add()) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let id = try await client.start(Staged.self, input: "order")
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.history(instanceID: id).contains(where: { if case .activityCompleted = $0.kind { true } else { false } }) == false {
            try require(ContinuousClock.now < deadline, "\(id) did not take its second turn")
            try await Task.sleep(for: .milliseconds(20))
        }
        let before = try await client.history(instanceID: id)

        let answer = try await client.query(instanceID: id, name: "stage", input: .null)
        try require(try answer.output(instanceID: id, query: "stage").decode(String.self) == "waiting for approval", "the stage at the last turn: \(answer)")
        try require(answer.fromMemory && ["node-1", "node-2"].contains(answer.answeredBy), "the node that ran the last turn answers from memory: \(answer)")
        let echoed = try await client.query(instanceID: id, "echo", input: "hello", as: String.self)
        try require(echoed == "waiting for approval: hello", "a typed query with input: \(echoed)")

        try await requireError(.queryNotReadOnly, "a query handler that draws a random number") {
            _ = try await client.query(instanceID: id, "dice", as: Int.self)
        }
        try await requireError(.queryNotDefined, "a query the code does not define") {
            _ = try await client.query(instanceID: id, "nope", as: String.self)
        }
        try await requireError(.instanceNotFound, "a query for an unknown instance") {
            _ = try await client.query(instanceID: "nobody", "stage", as: String.self)
        }
        // The refused query dropped the kept execution: the next is answered by replaying.
        let replayed = try await client.query(instanceID: id, name: "stage", input: .null)
        try require(try replayed.output(instanceID: id, query: "stage").decode(String.self) == "waiting for approval" && !replayed.fromMemory, "replayed: \(replayed)")
        try require(try await client.history(instanceID: id) == before, "queries wrote nothing to the history")

        try await client.raiseEvent(instanceID: id, name: "approve", "ann")
        _ = try await client.result(of: Staged.self, instanceID: id, timeout: .seconds(30))
        let final = try await client.query(instanceID: id, "stage", as: String.self)
        try require(final == "approved by ann", "a finished instance answers from its final state: \(final)")

        // No node has this version: the timeout says so.
        let stranded = try await client.start(name: "Staged", input: try Payload(encoding: "x"), version: "9.9.9")
        do {
            _ = try await client.query(instanceID: stranded, "stage", as: String.self, timeout: .seconds(2))
            throw ConformanceFailure("a query nobody can answer returned")
        } catch let error as DurableError where error.code == .timedOut {
            try require(error.message.contains("no live node has Staged 9.9.9"), "the timeout names why: \(error.message)")
        }
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Waits for a flag of its region, then for a control message.
struct FlagWatcher: Orchestration {
    func run(_ region: String, context: OrchestrationContext) async throws -> [String] {
        let flags = try context.subscribe(to: "region/\(region)/flags")
        let control = try context.subscribe(to: "control/#")
        let flag = try await flags.next(as: String.self)
        let stop = try await control.next(as: String.self)
        return ["\(flag.topic)=\(flag.data)", "\(stop.topic)=\(stop.data)"]
    }
}

/// Counts ticks, one per execution: subscribes again after each continue-as-new.
struct TickCounter: Orchestration {
    func run(_ count: Int, context: OrchestrationContext) async throws -> Int {
        _ = try await context.subscribe(to: "ticks").next(as: Int.self)
        guard count + 1 >= 2 else { try context.continueAsNew(with: count + 1) }
        return count + 1
    }
}

private func topicsOnTwoNodes(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(FlagWatcher()); try $0.register(TickCounter()) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    /// Until the instance's current execution has made `count` subscriptions.
    func waitForSubscriptions(_ id: String, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.history(instanceID: id).filter({ if case .topicSubscribed = $0.kind { true } else { false } }).count < count {
            try require(ContinuousClock.now < deadline, "\(id) did not subscribe")
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    do {
        var watchers: [(String, String)] = []
        for region in ["eu", "us", "eu"] {
            watchers.append((try await client.start(FlagWatcher.self, input: region), region))
        }
        let counter = try await client.start(TickCounter.self, input: 0)
        for (id, _) in watchers { try await waitForSubscriptions(id, 2) }
        try await waitForSubscriptions(counter, 1)

        try require(try await client.publish(topic: "region/eu/flags", "on") == 2, "two eu watchers")
        try require(try await client.publish(topic: "region/us/flags", "off") == 1, "one us watcher")
        try require(try await client.publish(topic: "control/stop", "now") == 3, "every watcher")
        for (id, region) in watchers {
            let seen = try await client.result(of: FlagWatcher.self, instanceID: id, timeout: .seconds(30))
            let flag = region == "eu" ? "on" : "off"
            try require(seen == ["region/\(region)/flags=\(flag)", "control/stop=now"], "\(id) saw \(seen)")
        }

        try require(try await client.publish(topic: "ticks", 1) == 1, "the counter's first execution")
        // The next execution subscribes again; the subscription of the first ended with it.
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.status(instanceID: counter).input != (try Payload(encoding: 1)) {
            try require(ContinuousClock.now < deadline, "the counter did not continue as new")
            try await Task.sleep(for: .milliseconds(20))
        }
        try await waitForSubscriptions(counter, 1)
        try require(try await client.publish(topic: "ticks", 2) == 1, "only the current execution's subscription")
        try require(try await client.result(of: TickCounter.self, instanceID: counter, timeout: .seconds(30)) == 2, "two ticks")
        try require(try await client.publish(topic: "control/late", "x") == 0, "finished instances are no longer subscribed")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// A reservation list: the update "reserve" validates, runs an activity, then waits for a
/// confirmation event before it answers.
struct Reservations: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> [String] {
        var reserved: [String] = []
        context.setUpdateHandler("reserve", validator: { (seat: String) in
            guard !reserved.contains(seat) else { throw ConformanceFailure("seat \(seat) is taken") }
        }) { (seat: String) -> Int in
            _ = try await context.activity(Add.self, .init(a: reserved.count, b: 1))
            _ = try await context.event("confirm-\(seat)", as: Bool.self)
            reserved.append(seat)
            return reserved.count
        }
        context.setQueryHandler("reserved") { reserved }
        _ = try await context.event("close", as: Bool.self)
        return reserved
    }
}

private func updateTakenOver(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Reservations()); try $0.register(Add()) }
    let first = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-1"))
    var second: RuntimeHarness?
    do {
        // Update-with-start: the instance does not exist yet.
        let pending = Task { try await client.updateWithStart(Reservations.self, instanceID: "show", startInput: "gala", "reserve", input: "A1", as: Int.self, updateID: "r-a1") }
        let deadline = ContinuousClock.now + .seconds(30)
        // Accepted and its activity done: the handler waits for its confirmation.
        // (The history is not there until the task has created the instance.)
        while ((try? await client.history(instanceID: "show")) ?? []).contains(where: { if case .activityCompleted = $0.kind { true } else { false } }) == false {
            try require(ContinuousClock.now < deadline, "the update was not accepted")
            try await Task.sleep(for: .milliseconds(20))
        }
        try await first.stop()
        second = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-2"))
        try await client.raiseEvent(instanceID: "show", name: "confirm-A1", true)
        try require(try await pending.value == 1, "the client gets the handler's output")
        // Sent again with the same id: the same outcome, nothing run again.
        try require(try await client.update(instanceID: "show", "reserve", input: "A1", as: Int.self, updateID: "r-a1") == 1, "a repeated id")
        try await requireError(.updateRejected, "a seat taken") { _ = try await client.update(instanceID: "show", "reserve", input: "A1", as: Int.self) }
        try await requireError(.updateRejected, "an update the code does not define") { _ = try await client.update(instanceID: "show", "cancel", input: "A1", as: Int.self) }
        let kinds = try await client.history(instanceID: "show").map(\.kind.name)
        try require(kinds.filter { $0 == "updateRequested" }.count == 1 && kinds.filter { $0 == "updateFinished" }.count == 1, "one update in the history: \(kinds)")
        try require(kinds.filter { $0 == "activityScheduled" }.count == 1, "its activity scheduled once: \(kinds)")
        try require(try await client.query(instanceID: "show", "reserved", as: [String].self) == ["A1"], "the state the update changed")
        try await client.raiseEvent(instanceID: "show", name: "close", true)
        try require(try await client.result(of: Reservations.self, instanceID: "show", timeout: .seconds(30)) == ["A1"], "the final state")
        try await requireError(.instanceFinished, "an update to a finished instance") { _ = try await client.update(instanceID: "show", "reserve", input: "B2", as: Int.self) }
        try await second?.stop()
    } catch {
        try? await first.stop()
        try? await second?.stop()
        throw error
    }
}
