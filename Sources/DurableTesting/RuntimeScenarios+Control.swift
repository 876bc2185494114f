import Durable
import Foundation

// Operator control on a running fleet: pause and resume, cancel and terminate, reset.
extension RuntimeScenarios {
    static let controlScenarios: [Scenario] = [
        Scenario(name: "a pause during an activity holds the instance on two nodes until the resume", body: pauseDuringActivity),
        Scenario(name: "a cancelled instance runs its compensation, a terminated one does not", body: cooperativeCancel),
        Scenario(name: "a failed instance reset to before its failure completes on the fixed version", body: resetFailedInstance),
    ]
}

/// Runs until the probe's `gate-open` is hit: the test decides when its result arrives.
struct Gated: Activity {
    var probe = Probe()
    func run(_ input: String, context: ActivityContext) async throws -> Bool {
        self.probe.hit("gate-started")
        guard await self.probe.wait(for: "gate-open") else { throw ConformanceFailure("the gate was not opened") }
        return true
    }
}

/// An activity, an event, another activity.
struct Confirmed: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        _ = try await context.activity(Gated.self, input)
        let confirmation = try await context.event("confirm", as: String.self)
        let total = try await context.activity(Add.self, .init(a: 40, b: 2))
        return "\(confirmation) \(total)"
    }
}

private func pauseDuringActivity(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry {
        try $0.register(Confirmed())
        try $0.register(Gated(probe: probe))
        try $0.register(Add())
    }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let id = try await client.start(Confirmed.self, input: "order")
        try require(await probe.wait(for: "gate-started"), "the activity did not start")
        guard case .paused = try await client.pause(instanceID: id, by: "ana", reason: "checking the order") else {
            throw ConformanceFailure("the pause was not applied")
        }
        // The activity finishes only now, while the instance is paused.
        probe.hit("gate-open")
        let before = try await client.history(instanceID: id)
        // The pause message and the activity's result wait in the inbox, then the event too.
        let deadline = ContinuousClock.now + .seconds(30)
        func waitForMessages(_ count: Int) async throws {
            while try await provider.queueDepths().readyMessages < count {
                try require(ContinuousClock.now < deadline, "\(count) messages did not arrive")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await waitForMessages(2)
        try await client.raiseEvent(instanceID: id, name: "confirm", "yes")
        try await waitForMessages(3)
        try require(try await client.history(instanceID: id) == before, "a paused instance took a turn")
        try require(try await client.status(instanceID: id).pause?.by == "ana", "the status shows the pause")

        guard case .resumed = try await client.resume(instanceID: id, by: "ben") else { throw ConformanceFailure("the resume was not applied") }
        let output = try await client.result(of: Confirmed.self, instanceID: id, timeout: .seconds(30))
        try require(output == "yes 42", "got \(output)")
        try require(probe.count("gate-started") == 1, "the activity ran \(probe.count("gate-started")) times")
        let kinds = try await client.history(instanceID: id).map(\.kind.name)
        let paused = kinds.firstIndex(of: "instancePaused"), resumed = kinds.firstIndex(of: "instanceResumed")
        let result = kinds.firstIndex(of: "activityCompleted"), event = kinds.firstIndex(of: "eventRaised")
        try require(
            paused != nil && resumed != nil && result != nil && event != nil && paused! < result! && result! < event! && event! < resumed!,
            "the history records the pause, what came meanwhile and the resume in arrival order: \(kinds)"
        )
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Reserves, waits for a confirmation; when cancelled, releases the reservation, then ends
/// cancelled.
struct Compensating: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        _ = try await context.activity(Signal.self, "reserve")
        do {
            return try await context.event("confirm", as: String.self)
        } catch let error as DurableError where error.code == .cancelled && context.isCancellationRequested {
            _ = try await context.activity(Signal.self, "release")
            throw error
        }
    }
}

private func cooperativeCancel(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(Compensating()); try $0.register(Signal(probe: probe)) }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let cancelled = try await client.start(Compensating.self, input: "a", instanceID: "cancelled")
        let terminated = try await client.start(Compensating.self, input: "b", instanceID: "terminated")
        try require(await probe.wait(for: "reserve", count: 2), "the reservations were not made")
        for id in [cancelled, terminated] {
            // The reservation's result is in the history: the instance waits for its event.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await client.history(instanceID: id).contains(where: { if case .activityCompleted = $0.kind { true } else { false } }) == false {
                try require(ContinuousClock.now < deadline, "\(id) did not take its second turn")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await client.cancel(instanceID: cancelled, reason: "customer left", by: "ann")
        try await client.terminate(instanceID: terminated, reason: "operator", by: "bob")
        let first = try await client.waitForCompletion(instanceID: cancelled, timeout: .seconds(30))
        let second = try await client.waitForCompletion(instanceID: terminated, timeout: .seconds(30))
        try require(first.status == .cancelled && second.status == .cancelled, "both end cancelled: \(first.status), \(second.status)")
        try require(probe.count("release") == 1, "only the cancelled one ran its compensation, once: \(probe.count("release"))")
        let history = try await client.history(instanceID: cancelled)
        try require(history.contains { $0.kind == .cooperativeCancelRequested(reason: "customer left", by: "ann") }, "the history records who cancelled and why")
        try require(
            try await client.history(instanceID: terminated).contains { $0.kind == .cancelRequested(reason: "operator", by: "bob") },
            "the history records who terminated and why"
        )
        let kinds = history.map(\.kind.name)
        try require(
            kinds.suffix(4) == ["cooperativeCancelRequested", "activityScheduled", "activityCompleted", "executionCancelled"],
            "the cancelled history: \(kinds)"
        )
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}

/// Fails until the probe says the bug is fixed.
struct Charge: Activity {
    var probe = Probe()
    func run(_ input: String, context: ActivityContext) async throws -> String {
        self.probe.hit("charge")
        guard self.probe.count("fixed") > 0 else { throw ConformanceFailure("card processor rejected \(input)") }
        return "charged \(input)"
    }
}

/// Version 1.0.0 charges and reports; 2.0.0, the fix, makes the same first call and says so.
struct Checkout: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        try await context.activity(Charge.self, input, retry: .none)
    }
}

struct CheckoutFixed: Orchestration {
    static let name = "Checkout"
    static let version = "2.0.0"
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        let charged = try await context.activity(Charge.self, input, retry: .none)
        let note = try await context.event("note", as: String.self)
        return "\(charged), \(note)"
    }
}

private func resetFailedInstance(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry {
        try $0.register(Checkout())
        try $0.register(CheckoutFixed())
        try $0.register(Charge(probe: probe))
    }
    let nodes = ["node-1", "node-2"].map { RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: $0)) }
    do {
        let id = try await client.start(name: "Checkout", input: try Payload(encoding: "order-1"), instanceID: "checkout", version: "1.0.0")
        let failed = try await client.waitForCompletion(instanceID: id, timeout: .seconds(30))
        try require(failed.status == .failed && failed.version == "1.0.0", "the first execution fails: \(failed.status) \(failed.version)")

        probe.hit("fixed")
        try await requireError(.orchestrationNotRegistered, "a version no node has") {
            _ = try await client.reset(instanceID: id, to: .lastFailure, version: "9.9.9", by: "ops")
        }
        let outcome = try await client.reset(
            instanceID: id, to: .lastFailure, version: "2.0.0", event: .init(name: "note", input: try Payload(encoding: "fixed in 2.0.0")),
            by: "ops", reason: "card processor bug fixed"
        )
        let output = try await client.result(of: CheckoutFixed.self, instanceID: id, timeout: .seconds(30))
        try require(output == "charged order-1, fixed in 2.0.0", "got \(output)")
        try require(probe.count("charge") == 2, "the failed charge ran once more: \(probe.count("charge"))")
        let old = try await client.history(instanceID: id, executionID: outcome.previousExecutionID).map(\.kind.name)
        try require(old.last == "executionReset" && old.contains("executionFailed"), "the failed execution stays readable: \(old)")
        try require(try await client.status(instanceID: id).version == "2.0.0", "the instance runs the fixed version")
        for node in nodes { try await node.stop() }
    } catch {
        for node in nodes { try? await node.stop() }
        throw error
    }
}
