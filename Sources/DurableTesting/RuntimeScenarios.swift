import Durable
import Foundation

/// End-to-end scenarios of real orchestrations on a ``DurableRuntime``, for any provider. Run them
/// like ``ProviderConformance``:
///
/// ```swift
/// @Test(arguments: RuntimeScenarios.scenarios)
/// func endToEnd(_ scenario: RuntimeScenarios.Scenario) async throws {
///     try await scenario.run { try await MyProvider(leaseDuration: $0) }
/// }
/// ```
public enum RuntimeScenarios {
    public typealias Scenario = ProviderConformance.Check

    public static let scenarios: [Scenario] = [
        Scenario(name: "a sequence of activities", body: sequence),
        Scenario(name: "fan-out of 100 activities", body: fanOut),
        Scenario(name: "durable timers", body: timers),
        Scenario(name: "external events, one raised before the wait", body: externalEvents),
        Scenario(name: "sub-orchestrations", body: subOrchestrations),
        Scenario(name: "continue-as-new 50 times", body: continueAsNew),
        Scenario(name: "cancellation reaches children and activities", body: cancellation),
        Scenario(name: "an activity that fails twice then succeeds", body: retries),
        Scenario(name: "lease renewal during a long activity", body: leaseRenewal),
        Scenario(name: "graceful shutdown hands work to a new runtime", body: shutdownAndResume),
        Scenario(name: "a restarted node resumes every in-progress instance", body: restartResume),
        Scenario(name: "a long history goes on in memory and after a restart", body: longHistory),
        Scenario(name: "a runtime's client starts eagerly what its node can run", body: eagerStarts),
    ] + correctnessScenarios + controlScenarios + interactionScenarios + heartbeatScenarios + queueScenarios + scheduleScenarios + flowControlScenarios
}

// MARK: Orchestrations

struct Add: Activity {
    struct Input: Codable, Sendable { var a: Int; var b: Int }
    func run(_ input: Input, context: ActivityContext) async throws -> Int { input.a + input.b }
}

struct Chain: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        var total = input
        for step in 1...3 { total = try await context.activity(Add.self, .init(a: total, b: step)) }
        return total
    }
}

struct FanOut: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        let tasks = (0..<input).map { context.scheduleActivity(Add.self, .init(a: $0, b: 0)) }
        return try await context.whenAll(tasks).reduce(0, +)
    }
}

struct Sleepy: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Double {
        let start = context.now
        try await context.sleep(for: .milliseconds(Int64(input)))
        try await context.sleep(for: .milliseconds(Int64(input / 2)))
        return context.now.timeIntervalSince(start)
    }
}

struct Approvals: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> [String] {
        try await context.sleep(for: .milliseconds(300))
        let early = try await context.event("early", as: String.self)
        _ = try await context.activity(Signal.self, "ready")
        let late = try await context.event("late", as: String.self, timeout: .seconds(60))
        return [early, late]
    }
}

/// Counts a hit on the scenario's probe.
struct Signal: Activity {
    var probe = Probe()
    func run(_ input: String, context: ActivityContext) async throws -> Bool {
        self.probe.hit(input)
        return true
    }
}

struct Parent: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> [Int] {
        let children = (0..<input).map { context.scheduleSubOrchestration(Chain.self, $0 * 10) }
        return try await context.whenAll(children)
    }
}

struct Countdown: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        let count = try await context.activity(Add.self, .init(a: input, b: 1))
        if count < 50 { try context.continueAsNew(with: count) }
        return count
    }
}

struct Waiter: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        try await context.event("never", as: String.self)
    }
}

struct CancelTree: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        async let child = context.subOrchestration(Waiter.self, input, instanceID: "\(context.instanceID)-child")
        async let blocked = context.activity(Block.self, input)
        return try await child + String(blocked)
    }
}

/// Runs until cancelled (or for `seconds`), reporting to the probe.
struct Block: Activity {
    var probe = Probe()
    var seconds: Double = 600
    func run(_ input: String, context: ActivityContext) async throws -> Bool {
        self.probe.hit("block-started")
        do {
            try await Task.sleep(for: .milliseconds(Int64(self.seconds * 1000)))
        } catch {
            self.probe.hit("block-cancelled")
            throw error
        }
        self.probe.hit("block-finished")
        return true
    }
}

struct Flaky: Activity {
    var probe = Probe()
    func run(_ input: String, context: ActivityContext) async throws -> String {
        self.probe.hit("attempt")
        if context.attempt < 3 { throw FlakyError(attempt: context.attempt) }
        return "ok after \(context.attempt)"
    }
}

struct FlakyError: Error, CustomStringConvertible {
    var attempt: Int
    var description: String { "attempt \(self.attempt) failed" }
}

struct Retrying: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        try await context.activity(Flaky.self, input, retry: .exponential(maxAttempts: 5, initial: .milliseconds(100), maximum: .seconds(1)))
    }
}

struct LongCall: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> Bool {
        try await context.activity(Block.self, input)
    }
}

struct Resumable: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        _ = try await context.activity(Block.self, "\(input)")
        try await context.sleep(for: .milliseconds(100))
        return input
    }
}

struct TwoSteps: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        _ = try await context.activity(Signal.self, "first-step")
        // Raised once the first runtime has stopped: nothing can finish before, however slow the machine.
        _ = try await context.event("go", as: Bool.self)
        try await context.sleep(for: .milliseconds(50))
        return try await context.activity(Add.self, .init(a: input, b: 1))
    }
}

/// 60 activities in sequence (a history longer than claims bring whole), then an event.
struct LongThenEvent: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        var total = 0
        for step in 1...60 { total = try await context.activity(Add.self, .init(a: total, b: step)) }
        _ = try await context.activity(Signal.self, "long-waiting")
        return try await context.event("go", as: Int.self) + total + input
    }
}

// MARK: Scenarios

func registry(_ build: (inout Registry) throws -> Void) rethrows -> Registry {
    var registry = Registry()
    try build(&registry)
    return registry
}

private func sequence(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Chain()); try $0.register(Add()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Chain.self, input: 100)
        let output = try await client.result(of: Chain.self, instanceID: id, timeout: .seconds(30))
        try require(output == 106, "expected 106, got \(output)")
        let history = try await client.history(instanceID: id)
        try require(history.filter { if case .activityCompleted = $0.kind { true } else { false } }.count == 3, "three completions recorded")
    }
}

/// Returns its input at once: a first turn that ends the instance.
struct Immediate: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int { input }
}

private func eagerStarts(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let registry = try registry {
        try $0.register(Chain()); try $0.register(Add()); try $0.register(Waiter()); try $0.register(Sleepy()); try $0.register(Immediate())
    }
    try await withRuntime(provider: provider, registry: registry) { harness in
        let runtime = harness.runtime
        try await harness.waitUntilRegistered()
        let client = runtime.client
        let id = try await client.start(Chain.self, input: 100)
        let output = try await client.result(of: Chain.self, instanceID: id, timeout: .seconds(30))
        try require(output == 106, "expected 106, got \(output)")
        try require(runtime.statistics.eagerStarts == 1, "the start was not eager: \(runtime.statistics)")
        try require(try await client.start(Chain.self, input: 100, instanceID: id) == id, "a second start of the id is idempotent")
        try require(runtime.statistics.eagerStarts == 1, "an existing id was started eagerly again")
        // A name this node does not run: a plain start, left for a node that has it.
        let elsewhere = try await client.start(name: "Elsewhere", input: .null)
        try require(runtime.statistics.eagerStarts == 1, "a start this node cannot run was eager")
        try require(try await client.status(instanceID: elsewhere).status == .pending, "the plain start waits for its node")
        // A message that arrives while the eager first turn runs is delivered by the next one.
        let waiting = try await client.start(Waiter.self, input: "x")
        try await client.terminate(instanceID: waiting, reason: "at once")
        let ended = try await client.waitForCompletion(instanceID: waiting, timeout: .seconds(30))
        try require(ended.status == .cancelled, "terminated right after an eager start, got \(ended.status)")
        try require(runtime.statistics.eagerStarts == 2, "the second start was not eager: \(runtime.statistics)")
        // First turns that set timers and that end the instance, committed with their starts (the
        // provider may compute them before the start is written); and an existing id again.
        let sleepy = try await client.start(Sleepy.self, input: 60)
        let slept = try await client.result(of: Sleepy.self, instanceID: sleepy, timeout: .seconds(30))
        try require(slept >= 0.09, "the eager first turn's timers fired too early: \(slept) s")
        let immediate = try await client.start(Immediate.self, input: 7)
        try require(try await client.result(of: Immediate.self, instanceID: immediate, timeout: .seconds(30)) == 7, "an eager start that ends at once")
        let ending = try await client.status(instanceID: immediate)
        try require(ending.status == .completed && ending.completedAt != nil, "the ended instance's row: \(ending)")
        try require(try await client.start(Immediate.self, input: 7, instanceID: immediate) == immediate, "a start of an ended id is idempotent")
        try require(try await client.history(instanceID: immediate).count == 2, "the second start of an ended id wrote nothing")
        try require(runtime.statistics.eagerStarts == 4, "the timer and ending starts were eager: \(runtime.statistics)")
        let third = try await client.start(Chain.self, input: 1)
        try require(try await client.result(of: Chain.self, instanceID: third, timeout: .seconds(30)) == 7, "a chain after the restarted ids")
    }
}

private func fanOut(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(FanOut()); try $0.register(Add()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(FanOut.self, input: 100)
        let output = try await client.result(of: FanOut.self, instanceID: id, timeout: .seconds(60))
        try require(output == 4950, "expected 4950, got \(output)")
        let history = try await client.history(instanceID: id)
        let scheduled = history.filter { if case .activityScheduled = $0.kind { true } else { false } }.count
        let completed = history.filter { if case .activityCompleted = $0.kind { true } else { false } }.count
        try require(scheduled == 100 && completed == 100, "100 scheduled and 100 completed, got \(scheduled) and \(completed)")
    }
}

private func timers(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Sleepy()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let started = ContinuousClock.now
        let id = try await client.start(Sleepy.self, input: 600)
        let elapsed = try await client.result(of: Sleepy.self, instanceID: id, timeout: .seconds(30))
        try require(elapsed >= 0.899, "the orchestration saw \(elapsed) s pass, expected at least 0.9")
        try require(ContinuousClock.now - started >= .milliseconds(900), "timers fired early")
    }
}

private func externalEvents(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(Approvals()); try $0.register(Signal(probe: probe)) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Approvals.self, input: "x")
        // Raised while the orchestration still sleeps, before it waits for the event.
        try await client.raiseEvent(instanceID: id, name: "early", "first")
        try require(await probe.wait(for: "ready"), "the orchestration did not get past the early event")
        try await client.raiseEvent(instanceID: id, name: "late", "second")
        let output = try await client.result(of: Approvals.self, instanceID: id, timeout: .seconds(30))
        try require(output == ["first", "second"], "got \(output)")
    }
}

private func subOrchestrations(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Parent()); try $0.register(Chain()); try $0.register(Add()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Parent.self, input: 4)
        let output = try await client.result(of: Parent.self, instanceID: id, timeout: .seconds(30))
        try require(output == [6, 16, 26, 36], "got \(output)")
        let children = try await client.list(InstanceQuery(statuses: [.completed], name: "Chain"))
        try require(children.instances.count == 4, "4 completed children, got \(children.instances.count)")
        try require(children.instances.allSatisfy { $0.parent?.instanceID == id }, "children know their parent")
    }
}

private func continueAsNew(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let registry = try registry { try $0.register(Countdown()); try $0.register(Add()) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Countdown.self, input: 0)
        let output = try await client.result(of: Countdown.self, instanceID: id, timeout: .seconds(60))
        try require(output == 50, "got \(output)")
        let history = try await client.history(instanceID: id)
        try require(history.count <= 6, "the last execution's history holds its own events only, got \(history.count)")
    }
}

private func cancellation(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(CancelTree()); try $0.register(Waiter()); try $0.register(Block(probe: probe)) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(CancelTree.self, input: "tree")
        try require(await probe.wait(for: "block-started"), "the activity did not start")
        let child = try await client.status(instanceID: "\(id)-child")
        try require(!child.status.isTerminal, "the child is running")
        try await client.cancel(instanceID: id, reason: "test")
        let parent = try await client.waitForCompletion(instanceID: id, timeout: .seconds(30))
        try require(parent.status == .cancelled, "the parent is \(parent.status)")
        let childDone = try await client.waitForCompletion(instanceID: "\(id)-child", timeout: .seconds(30))
        try require(childDone.status == .cancelled, "the child is \(childDone.status)")
        try require(await probe.wait(for: "block-cancelled"), "the activity was not cancelled")
        try require(probe.count("block-finished") == 0, "the activity ran to its end")
    }
}

private func retries(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(Retrying()); try $0.register(Flaky(probe: probe)) }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(Retrying.self, input: "x")
        let output = try await client.result(of: Retrying.self, instanceID: id, timeout: .seconds(30))
        try require(output == "ok after 3", "got \(output)")
        try require(probe.count("attempt") == 3, "3 attempts, got \(probe.count("attempt"))")
        let history = try await client.history(instanceID: id)
        try require(history.filter { if case .activityCompleted = $0.kind { true } else { false } }.count == 1, "one completion")
        try require(!history.contains { if case .activityFailed = $0.kind { true } else { false } }, "failed attempts cost no turn")
    }
}

private func leaseRenewal(_ factory: ProviderConformance.Factory) async throws {
    // Leases of 2 s, an activity of 5 s and a second node ready to take over: without renewal the
    // activity would run twice. (A 1 s lease lapsed once under the loaded parallel suite: a renewal
    // is a statement like any other and can wait that long for a busy CPU.)
    let provider = try await factory(.seconds(2))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(LongCall()); try $0.register(Block(probe: probe, seconds: 5)) }
    let other = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-2"))
    defer { Task { try? await other.stop() } }
    try await withRuntime(provider: provider, registry: registry) { _ in
        let id = try await client.start(LongCall.self, input: "long")
        let output = try await client.result(of: LongCall.self, instanceID: id, timeout: .seconds(30))
        try require(output, "the activity's output")
        try require(probe.count("block-started") == 1, "the activity ran \(probe.count("block-started")) times")
    }
    try await other.stop()
}

private func shutdownAndResume(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let count = 10
    let slow = try registry { try $0.register(Resumable()); try $0.register(Block(probe: probe)) }
    let first = RuntimeHarness(provider: provider, registry: slow, configuration: RuntimeHarness.configuration(node: "old"))
    var ids: [String] = []
    for i in 0..<count { ids.append(try await client.start(Resumable.self, input: i)) }
    try require(await probe.wait(for: "block-started", count: count), "the first runtime did not start every activity")
    try await first.stop()
    try require(probe.count("block-cancelled") == count, "shutdown interrupted \(probe.count("block-cancelled")) of \(count) activities")

    // The leases were handed back: the new runtime continues at once, not after the 60 s lease.
    let fast = try registry { try $0.register(Resumable()); try $0.register(Block(probe: Probe(), seconds: 0)) }
    let started = ContinuousClock.now
    try await withRuntime(provider: provider, registry: fast, node: "new") { _ in
        for (i, id) in ids.enumerated() {
            let output = try await client.result(of: Resumable.self, instanceID: id, timeout: .seconds(30))
            try require(output == i, "instance \(id) returned \(output)")
        }
    }
    try require(ContinuousClock.now - started < .seconds(20), "resuming took \(ContinuousClock.now - started)")
}

private func restartResume(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let count = 20
    let registry = try registry { try $0.register(TwoSteps()); try $0.register(Add()); try $0.register(Signal(probe: probe)) }
    let before = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "worker-1"))
    var ids: [String] = []
    for i in 0..<count { ids.append(try await client.start(TwoSteps.self, input: i)) }
    try require(await probe.wait(for: "first-step", count: count), "the first runtime did not run every first step")
    try await before.stop()
    let waiting = try await client.list(InstanceQuery())
    try require(
        waiting.instances.filter { $0.status == .running }.count == count,
        "instances after the shutdown: \(waiting.instances.map { "\($0.status) \($0.failure.map { "\($0)" } ?? "")" })"
    )

    let after = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "worker-1"))
    for id in ids { try await client.raiseEvent(instanceID: id, name: "go", true) }
    for (i, id) in ids.enumerated() {
        let output = try await client.result(of: TwoSteps.self, instanceID: id, timeout: .seconds(30))
        try require(output == i + 1, "instance \(id) returned \(output)")
    }
    let nodes = try await client.nodes()
    try require(nodes.count == 1 && nodes[0].isAlive && nodes[0].registration.incarnation == after.runtime.registration.incarnation, "one live node, the new incarnation")
    try require(try await client.registeredHandlers().orchestrations["TwoSteps"] == ["1.0.0"], "the live node's handlers")
    // A client can see the last completion before the node counted it: stop the node first.
    try await after.stop()
    let progress = after.runtime.resumeProgress
    try require(progress.discovered == count && progress.attached == count && progress.completed == count, "resume progress \(progress)")
}

private func longHistory(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(60))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let registry = try registry { try $0.register(LongThenEvent()); try $0.register(Add()); try $0.register(Signal(probe: probe)) }
    let first = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "keeper"))
    let kept = try await client.start(LongThenEvent.self, input: 1)
    let moved = try await client.start(LongThenEvent.self, input: 2)
    try require(await probe.wait(for: "long-waiting", count: 2), "the instances did not reach their event wait")
    // The node that ran every turn keeps the execution: the event's turn continues it.
    try await client.raiseEvent(instanceID: kept, name: "go", 100)
    let keptOutput = try await client.result(of: LongThenEvent.self, instanceID: kept, timeout: .seconds(30))
    try require(keptOutput == 1_830 + 100 + 1, "kept execution returned \(keptOutput)")
    try await first.stop()

    // A new node has nothing in memory: it reads the whole history and replays it.
    try await withRuntime(provider: provider, registry: registry, node: "fresh") { _ in
        try await client.raiseEvent(instanceID: moved, name: "go", 200)
        let output = try await client.result(of: LongThenEvent.self, instanceID: moved, timeout: .seconds(30))
        try require(output == 1_830 + 200 + 2, "replayed execution returned \(output)")
    }
    let events = try await client.history(instanceID: moved).count
    try require(events == 125, "the history is complete: \(events) events")
}
