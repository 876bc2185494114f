import Durable
import DurableTesting
import Foundation
import Testing

/// Random sequences of client operations and orchestration behaviours, run against the in-memory
/// provider and PostgreSQL with the same seed: both must end with the same histories and outcomes.
///
/// A deterministic driver takes the runtime's place: it applies a batch of client operations, then
/// runs to quiescence in phases (claim every ready turn, run and commit them; claim every activity,
/// complete them), so both providers see the same messages in the same claims. Operations batched
/// before a phase arrive together, as they do when a runtime is busy or down.
///
/// DURABLE_DIFFERENTIAL_CASES (default 200) and DURABLE_DIFFERENTIAL_SEED choose the run.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct DifferentialTests {
    @Test func providersAgree() async throws {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["DURABLE_DIFFERENTIAL_CASES"].flatMap(Int.init) ?? 200
        let seed = environment["DURABLE_DIFFERENTIAL_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
        print("differential: \(cases) cases, seed \(seed) (DURABLE_DIFFERENTIAL_SEED=\(seed) repeats them)")
        var registry = Registry()
        try registry.register(Program.Interpreter())
        try registry.register(Echo())
        let engine = OrchestrationEngine(registry: registry)
        try await PostgresTestDatabase.withFactory { factory in
            let postgres = try await factory(.seconds(60))
            var random = SplitMix64(seed: seed)
            for index in 0..<cases {
                let scenario = DifferentialScenario.random(index: index, using: &random)
                let memory = try await DifferentialDriver(provider: InMemoryProvider(), engine: engine).run(scenario)
                let stored = try await DifferentialDriver(provider: postgres, engine: engine).run(scenario)
                #expect(memory == stored, "case \(index) of seed \(seed) differs: \(scenario)\n in memory: \(memory)\n PostgreSQL: \(stored)")
                if memory != stored { return }
            }
        }
    }
}

// MARK: The orchestration

struct Echo: Activity {
    /// Doubles its input; multiples of 5 fail.
    func run(_ input: Int, context: ActivityContext) async throws -> Int {
        if input % 5 == 0 { throw DurableError(.invalidInput, "multiple of 5") }
        return input * 2
    }
}

/// What one orchestration does, step by step.
struct Program: Codable, Sendable, Hashable {
    indirect enum Step: Codable, Sendable, Hashable {
        case activity(Int)
        case fanOut([Int])
        case timer
        case event(String)
        /// whenAny(event, a one-hour timer).
        case raceEvent(String)
        /// whenAny(activity, event).
        case raceActivity(Int, String)
        case child([Step])
        case continueAsNew
    }

    var steps: [Step]
    var continued = false

    struct Interpreter: Orchestration {
        static let name = "Program"

        func run(_ program: Program, context: OrchestrationContext) async throws -> [String] {
            var log: [String] = []
            for (index, step) in program.steps.enumerated() {
                switch step {
                case .activity(let value):
                    do { log.append("a\(try await context.activity(Echo.self, value))") } catch { log.append("a!") }
                case .fanOut(let values):
                    let tasks = values.map { context.scheduleActivity(Echo.self, $0) }
                    for task in tasks {
                        do { log.append("f\(try await task.value)") } catch { log.append("f!") }
                    }
                case .timer:
                    try await context.sleep(for: .zero)
                    log.append("t")
                case .event(let name):
                    log.append("e" + (try await context.event(name, as: String.self)))
                case .raceEvent(let name):
                    let event = context.waitForEvent(name, as: String.self)
                    let timer = context.createTimer(for: .seconds(3600))
                    log.append("r\(await context.whenAny([event, timer]))")
                case .raceActivity(let value, let name):
                    let activity = context.scheduleActivity(Echo.self, value)
                    let event = context.waitForEvent(name, as: String.self)
                    log.append("q\(await context.whenAny([activity, event]))")
                case .child(let steps):
                    do {
                        log += try await context.subOrchestration(Self.self, Program(steps: steps, continued: true), instanceID: "\(context.instanceID)-c\(index)")
                    } catch {
                        log.append("c!")
                    }
                case .continueAsNew:
                    if !program.continued {
                        try context.continueAsNew(with: Program(steps: Array(program.steps[(index + 1)...]), continued: true))
                    }
                }
            }
            return log
        }
    }
}

// MARK: Scenarios

struct DifferentialScenario: CustomStringConvertible {
    enum Operation: CustomStringConvertible {
        case start(String, Program)
        case raise(String, String)
        case cancel(String)

        var description: String {
            switch self {
            case .start(let id, let program): "start \(id) \(program.steps)"
            case .raise(let id, let name): "raise \(name) to \(id)"
            case .cancel(let id): "cancel \(id)"
            }
        }
    }

    /// Batches of operations; the driver runs to quiescence after each.
    var batches: [[Operation]]
    var instanceIDs: [String]

    var description: String {
        self.batches.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" }.joined(separator: " ")
    }

    static func random(index: Int, using random: inout SplitMix64) -> DifferentialScenario {
        let names = ["x", "y"]
        func step(depth: Int) -> Program.Step {
            switch random.next(9) {
            case 0, 1: .activity(random.next(12))
            case 2: .fanOut((0..<(1 + random.next(3))).map { _ in random.next(12) })
            case 3: .timer
            case 4: .event(names[random.next(2)])
            case 5: .raceEvent(names[random.next(2)])
            case 6: .raceActivity(random.next(12), names[random.next(2)])
            case 7 where depth == 0: .child((0..<(1 + random.next(2))).map { _ in step(depth: 1) })
            default: .continueAsNew
            }
        }
        let ids = (0..<(1 + random.next(2))).map { "d\(index)-\($0)-\(UUID().uuidString.prefix(6))" }
        var operations: [DifferentialScenario.Operation] = ids.map { id in .start(id, Program(steps: (0..<(1 + random.next(4))).map { _ in step(depth: 0) })) }
        for _ in 0..<random.next(5) {
            let id = ids[random.next(ids.count)]
            operations.insert(random.next(6) == 0 ? .cancel(id) : .raise(id, names[random.next(2)]), at: ids.count + random.next(operations.count - ids.count + 1))
        }
        // Cut into batches: operations in one batch arrive before the same claim.
        var batches: [[Operation]] = [[]]
        for operation in operations {
            batches[batches.count - 1].append(operation)
            if random.next(2) == 0 { batches.append([]) }
        }
        return DifferentialScenario(batches: batches.filter { !$0.isEmpty }, instanceIDs: ids)
    }
}

/// A small seeded generator (SplitMix64), so a seed repeats a run exactly.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next(_ bound: Int) -> Int {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max(1, bound)))
    }
}

// MARK: The driver

/// Runs a scenario on a provider turn by turn, like a runtime with unbounded concurrency would in
/// phases, and reads back what every instance (and child) ended with.
struct DifferentialDriver {
    let provider: any DurableProvider
    let engine: OrchestrationEngine

    /// An instance's status, output, failure code and history, free of ids and times.
    struct Outcome: Hashable, CustomStringConvertible {
        var id: String
        var status: InstanceStatus
        var output: String?
        var failureCode: String?
        var history: [String]

        var description: String { "\(self.id): \(self.status) \(self.output ?? self.failureCode ?? "") \(self.history)" }
    }

    func run(_ scenario: DifferentialScenario) async throws -> [Outcome] {
        for batch in scenario.batches {
            for operation in batch {
                switch operation {
                case .start(let id, let program):
                    _ = try await self.provider.createInstance(StartRequest(instanceID: id, name: Program.Interpreter.name, input: try Payload(encoding: program)))
                case .raise(let id, let name):
                    try? await self.provider.sendMessage(instanceID: id, .eventRaised(name: name, input: try Payload(encoding: name)))
                case .cancel(let id):
                    try? await self.provider.sendMessage(instanceID: id, .cancelRequested(reason: "differential"))
                }
            }
            try await self.runToQuiescence()
        }
        var outcomes: [Outcome] = []
        var pending = scenario.instanceIDs
        while let id = pending.popLast() {
            guard let info = try await self.provider.instance(id: id) else { continue }
            let history = try await self.provider.history(instanceID: id).map { Self.normalized($0.kind) }
            outcomes.append(Outcome(id: id, status: info.status, output: info.output?.json, failureCode: info.failure?.code, history: history))
            pending += (0..<8).map { "\(id)-c\($0)" }
        }
        return outcomes.sorted { $0.id < $1.id }
    }

    private func runToQuiescence() async throws {
        let request = ClaimRequest(owner: "driver", limit: 10_000)
        for _ in 0..<200 {
            let turns = try await self.provider.claimOrchestrations(request)
            for item in turns.items {
                let result = try self.engine.runTurn(instanceID: item.lease.id, history: item.history, messages: item.messages.map(\.kind), now: item.claimedAt)
                try await self.provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result))
            }
            let tasks = try await self.provider.claimActivities(request).items
            let registry = self.engine.registry
            var completions: [ActivityCompletion] = []
            for task in tasks.sorted(by: { $0.lease.id < $1.lease.id }) {
                guard let handler = registry.activity(name: task.request.name) else { continue }
                let context = ActivityContext(instanceID: task.instanceID, name: task.request.name, operationID: task.request.operationID, attempt: task.attempt, logger: PostgresTestDatabase.logger)
                do {
                    completions.append(ActivityCompletion(lease: task.lease, outcome: .completed(try await handler(task.request.input, context))))
                } catch {
                    completions.append(ActivityCompletion(lease: task.lease, outcome: .failed(FailureDetails(error))))
                }
            }
            if !completions.isEmpty { _ = try await self.provider.completeActivities(completions, claim: nil) }
            if turns.items.isEmpty && tasks.isEmpty {
                // A zero-length timer comes due within the millisecond its turn was claimed in.
                guard let next = turns.nextVisibleIn, next <= .milliseconds(20) else { return }
                try await Task.sleep(for: next + .milliseconds(2))
            }
        }
        throw DurableError(.timedOut, "the driver did not reach quiescence in 200 phases")
    }

    static func normalized(_ kind: HistoryEvent.Kind) -> String {
        let operation = kind.operationID.map { "#\($0)" } ?? ""
        switch kind {
        case .executionStarted(let start): return "executionStarted \(start.input.json)"
        case .eventRaised(let name, let input, _): return "eventRaised \(name) \(input.json)"
        case .activityCompleted(_, let result), .subOrchestrationCompleted(_, let result): return "\(kind.name)\(operation) \(result.json)"
        case .activityFailed(_, let failure), .subOrchestrationFailed(_, let failure): return "\(kind.name)\(operation) \(failure.code ?? failure.type)"
        case .executionCompleted(let output): return "executionCompleted \(output.json)"
        case .continuedAsNew(let input, _): return "continuedAsNew \(input.json)"
        default: return kind.name + operation
        }
    }
}
