import Durable
import Foundation
import Testing

/// Updates in the engine: validated, recorded when accepted, run with the code, answered once.
@Suite struct UpdateTests {
    struct Empty: Error {}

    struct Cart: Orchestration {
        func run(_ input: String, context: OrchestrationContext) async throws -> [String] {
            var items: [String] = []
            context.setUpdateHandler("add", validator: { (item: String) in if item.isEmpty { throw Empty() } }) { (item: String) -> Int in
                _ = try await context.activity(Greet.self, item)
                items.append(item)
                return items.count
            }
            context.setQueryHandler("items") { items }
            _ = try await context.event("checkout", as: Bool.self)
            return items
        }
    }

    func cart() throws -> EngineHarness {
        var harness = try EngineHarness { try $0.register(Cart()); try $0.register(Greet()) }
        try harness.start("Cart", "ada")
        return harness
    }

    func answers(_ result: TurnResult) -> [String: UpdateOutcome] {
        Dictionary(uniqueKeysWithValues: result.actions.compactMap { if case .answerUpdate(let id, let outcome) = $0 { (id, outcome) } else { nil } })
    }

    @Test func anAcceptedUpdateRunsWithTheCodeAndIsAnsweredOnce() throws {
        var harness = try self.cart()
        let accepted = try harness.turn(.updateRequested(id: "u1", name: "add", input: json("apple")))
        #expect(accepted.newEvents.first?.kind == .updateRequested(id: "u1", name: "add", input: json("apple")))
        #expect(accepted.scheduledActivities.map(\.name) == ["Greet"])
        #expect(self.answers(accepted).isEmpty)
        let done = try harness.turn(.activityCompleted(operationID: 1, result: json("Hello, apple!")))
        #expect(self.answers(done) == ["u1": .completed(json(1))])
        #expect(harness.decisions.contains(.updateFinished(id: "u1", outcome: .completed(json(1)))))
        #expect(try harness.replay().newEvents.isEmpty)
        // The same id again is not run again.
        let again = try harness.turn(.updateRequested(id: "u1", name: "add", input: json("apple")))
        #expect(again.scheduledActivities.isEmpty && self.answers(again).isEmpty)
        let items = harness.engine.query(instanceID: harness.instanceID, history: harness.history, name: "items", input: .null)
        #expect(try items.get().decode([String].self) == ["apple"])
    }

    @Test func aRejectedUpdateLeavesNoTrace() throws {
        var harness = try self.cart()
        let before = harness.history
        let refused = try harness.turn(.updateRequested(id: "u2", name: "add", input: json("")))
        let unknown = try harness.turn(.updateRequested(id: "u3", name: "remove", input: json("x")))
        #expect(harness.history.map(\.kind).filter { if case .updateRequested = $0 { true } else { false } }.isEmpty)
        #expect(harness.history.count - before.count == refused.newEvents.count + unknown.newEvents.count)
        guard case .rejected(let validation)? = self.answers(refused)["u2"], case .rejected(let missing)? = self.answers(unknown)["u3"] else {
            Issue.record("both are rejected: \(refused.actions) \(unknown.actions)")
            return
        }
        #expect(validation.is(Empty.self))
        #expect(missing.message.contains("not 'remove'"))
    }

    @Test func anExecutionThatEndsFailsTheUpdatesStillRunning() throws {
        var harness = try self.cart()
        try harness.turn(.updateRequested(id: "u4", name: "add", input: json("pear")))
        let ended = try harness.turn(.eventRaised(name: "checkout", input: json(true)))
        guard case .failed(let failure)? = self.answers(ended)["u4"] else {
            Issue.record("the running update fails: \(ended.actions)")
            return
        }
        #expect(failure.code == DurableError.Code.instanceFinished.description)
        #expect(try ended.output?.decode([String].self) == [])
        #expect(try harness.replay().newEvents.isEmpty)
    }
}
