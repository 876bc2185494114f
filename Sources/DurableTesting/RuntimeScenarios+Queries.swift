import Durable
import Foundation

// Queries on a running fleet: answered from memory by the node of the last turn, by replay
// otherwise, read-only, with typed errors and a timeout that says why.
extension RuntimeScenarios {
    static let queryScenarios: [Scenario] = [
        Scenario(name: "queries read a running and a finished instance on two nodes", body: queriesOnTwoNodes),
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
