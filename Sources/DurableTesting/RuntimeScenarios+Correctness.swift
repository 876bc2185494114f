import Durable
import Foundation

// Scenarios for defects found by trying the runtime as a user would: each starts instances and
// sends them messages before a runtime runs, so that the first claim brings them all together.
extension RuntimeScenarios {
    static let correctnessScenarios: [Scenario] = [
        Scenario(name: "an event raised before a first turn that continues as new reaches the next execution", body: eventAcrossContinueAsNew),
        Scenario(name: "a cancel raised before a first turn that continues as new cancels the next execution", body: cancelAcrossContinueAsNew),
        Scenario(name: "a whenAny loser scheduled in the winner's turn never runs", body: loserInWinnersTurn),
        Scenario(name: "a start cancelled before its first turn runs none of its activities", body: cancelledBeforeFirstTurn),
        Scenario(name: "an orchestration output over the payload limit fails the execution once", body: oversizedOutput),
        Scenario(name: "an activity output over the payload limit fails the attempt, which the orchestration catches", body: oversizedActivityOutput),
    ]
}

/// Continues as new at once in its first execution; the second waits for an event.
struct ContinueFirst: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        if input == 0 { try context.continueAsNew(with: 1) }
        return try await context.event("go", as: String.self)
    }
}

/// Races a long activity, an event and an hour's timer; then waits for "done".
struct RaceThenWait: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> String {
        let work = context.scheduleActivity(Block.self, input)
        let win = context.waitForEvent("win", as: String.self)
        let timer = context.createTimer(for: .seconds(3600))
        let winner = await context.whenAny([work, win, timer])
        let done = try await context.event("done", as: String.self)
        return winner == 1 ? try await win.value + done : "lost"
    }
}

/// Returns `input` bytes of output.
struct BigOutput: Orchestration {
    var probe = Probe()
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        if !context.isReplaying { self.probe.hit("big-output-turn") }
        return String(repeating: "x", count: input)
    }
}

struct BigResult: Activity {
    var probe = Probe()
    func run(_ input: Int, context: ActivityContext) async throws -> String {
        self.probe.hit("big-result")
        return String(repeating: "y", count: input)
    }
}

/// Calls ``BigResult`` and returns the error code it failed with.
struct CatchBigResult: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> String {
        do {
            _ = try await context.activity(BigResult.self, input)
            return "no error"
        } catch let error as DurableError {
            return error.failure?.code ?? error.code.description
        }
    }
}

/// Over the providers' default limit of 2 MiB.
private let oversized = 3 << 20

private func eventAcrossContinueAsNew(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let id = try await client.start(ContinueFirst.self, input: 0)
    try await client.raiseEvent(instanceID: id, name: "go", "carried")
    try await withRuntime(provider: provider, registry: try registry { try $0.register(ContinueFirst()) }) { _ in
        let output = try await client.result(of: ContinueFirst.self, instanceID: id, timeout: .seconds(30))
        try require(output == "carried", "got \(output)")
    }
}

private func cancelAcrossContinueAsNew(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let id = try await client.start(ContinueFirst.self, input: 0)
    try await client.cancel(instanceID: id, reason: "stop")
    try await withRuntime(provider: provider, registry: try registry { try $0.register(ContinueFirst()) }) { _ in
        let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(30))
        try require(info.status == .cancelled, "the instance is \(info.status)")
    }
}

private func loserInWinnersTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let id = try await client.start(RaceThenWait.self, input: "race")
    try await client.raiseEvent(instanceID: id, name: "win", "won")
    let registry = try registry { try $0.register(RaceThenWait()); try $0.register(Block(probe: probe)) }
    let harness = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "node-1"))
    // The first turn consumed the start and the event; then the instance waits for "done".
    let deadline = ContinuousClock.now + .seconds(30)
    while try await client.history(instanceID: id).contains(where: { $0.kind == .eventRaised(name: "win", input: try Payload(encoding: "won")) }) == false {
        try require(ContinuousClock.now < deadline, "the first turn did not commit")
        try await Task.sleep(for: .milliseconds(20))
    }
    let depths = try await provider.queueDepths()
    try await harness.stop()
    try require(depths.readyActivities + depths.runningActivities + depths.delayedActivities == 0, "the cancelled loser has a task: \(depths)")
    try require(depths.delayedMessages == 0, "the cancelled timer is queued: \(depths)")
    try require(probe.count("block-started") == 0, "the cancelled loser ran")
    try await withRuntime(provider: provider, registry: registry) { _ in
        try await client.raiseEvent(instanceID: id, name: "done", "!")
        let output = try await client.result(of: RaceThenWait.self, instanceID: id, timeout: .seconds(30))
        try require(output == "won!", "got \(output)")
    }
}

private func cancelledBeforeFirstTurn(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    let id = try await client.start(LongCall.self, input: "never")
    try await client.cancel(instanceID: id, reason: "changed my mind")
    try await withRuntime(provider: provider, registry: try registry { try $0.register(LongCall()); try $0.register(Block(probe: probe)) }) { _ in
        let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(30))
        try require(info.status == .cancelled, "the instance is \(info.status)")
        let depths = try await provider.queueDepths()
        try require(depths.readyActivities + depths.runningActivities + depths.delayedActivities == 0, "the cancelled start has an activity task: \(depths)")
    }
    try require(probe.count("block-started") == 0, "an activity of the cancelled start ran")
}

private func oversizedOutput(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    try await withRuntime(provider: provider, registry: try registry { try $0.register(BigOutput(probe: probe)) }) { _ in
        let id = try await client.start(BigOutput.self, input: oversized)
        let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(30))
        try require(info.status == .failed, "the instance is \(info.status)")
        try require(info.failure?.code == DurableError.Code.payloadTooLarge.description, "failed with \(String(describing: info.failure))")
        try require(info.failure?.message.contains("output") == true, "the failure names what was too large: \(String(describing: info.failure))")
        try require(probe.count("big-output-turn") == 1, "the turn ran \(probe.count("big-output-turn")) times")
    }
}

private func oversizedActivityOutput(_ factory: ProviderConformance.Factory) async throws {
    let provider = try await factory(.seconds(30))
    let client = DurableClient(provider: provider)
    let probe = Probe()
    try await withRuntime(provider: provider, registry: try registry { try $0.register(CatchBigResult()); try $0.register(BigResult(probe: probe)) }) { _ in
        let id = try await client.start(CatchBigResult.self, input: oversized)
        let output = try await client.result(of: CatchBigResult.self, instanceID: id, timeout: .seconds(30))
        try require(output == DurableError.Code.payloadTooLarge.description, "the orchestration caught \(output)")
        try require(probe.count("big-result") == 1, "the activity ran \(probe.count("big-result")) times")
    }
}
