import DurableCommands
import ArgumentParser
import Durable
import DurablePostgres
import Foundation
import Logging
import Metrics
import PostgresNIO
import Prometheus

/// Measures throughput, latency, wake-up time, idle cost and turn cost against PostgreSQL.
struct Bench: WorkerCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmark workloads against PostgreSQL and print a table and JSON.",
        discussion: "Workloads: fanout5, chain10, latency, latency-run (latency through DurableClient.run, start and wait in one call), wake, idle, history (a turn through PostgreSQL at 10 to 10,000 history events), history-engine (the engine alone), latency-memory (the in-memory provider), soak (one node's resident memory over --soak-instances fanout5 instances), footprint (what a kept execution, an activity in flight and a claimed turn cost in memory), scale (fanout5 at --scale backlogs), finished (fanout5 beside --finished-count finished instances), timers (--timer-count timers due in one second), resume (--resume-count instances of a dead node), query (query round trips, from a kept execution and by replay), publish (one publication to --publish-count subscribers), update (update round trips), heartbeat, schedules, keyed (fanout5 started over --concurrency-keys keys with a --concurrency-limit each, against fanout5 by id), processes (fanout5 with --processes worker processes, 3 when not given, against one in-process node, in pairs that alternate which runs first); those after history-engine are not in the default set. Each runs in a fresh schema after a warm-up; results are medians over --runs."
    )

    @Option(help: "The database URL (or DURABLE_DATABASE_URL). scripts/bench starts a throwaway cluster when neither is given.")
    var databaseURL: String?

    @Option(help: "Comma-separated workloads.")
    var workloads = "fanout5,chain10,latency,wake,idle,history,history-engine"

    @Option(help: "Orchestrations per fanout5/chain10 run.")
    var n = 500

    @Option(help: "Measured runs per workload (after one warm-up).")
    var runs = 3

    @Option(help: "In-process runtimes (nodes).")
    var nodes = 1

    @Option(help: "Run the nodes as this many separate worker processes (`durable bench-worker`) instead of in-process runtimes; 0 for in-process. The bench process is then only the client.")
    var processes = 0

    @Option(help: "What runs the bench process's tasks, and so its in-process nodes' and its client's: event-loops (NIO's) or swift (the default pool).")
    var executor = WorkerExecutor.eventLoops

    @Option(help: "What runs the worker processes' tasks (with --processes): event-loops (NIO's) or swift (the default pool).")
    var workerExecutor = WorkerExecutor.eventLoops

    @Option(help: "Turns at once per node.")
    var orchestrationConcurrency = 256

    @Option(help: "Activities at once per node.")
    var activityConcurrency = 128

    @Option(help: "Sequential orchestrations per latency/wake run.")
    var samples = 200

    @Option(help: "Seconds the idle workload watches an idle node.")
    var idleSeconds = 60

    @Option(help: "Write the JSON results to this file as well.")
    var jsonPath: String?

    @Option(help: "Suspended orchestrations each node keeps between turns (0: replay every turn).")
    var stickyCache = 1_000

    @Option(help: "Whether the workloads start instances through the first in-process node's client, whose starts are eager (the node claims the first turn as it creates the instance); false starts them through a client of its own, as a separate process would.")
    var eagerStarts = true

    @Option(name: .customLong("scale"), help: "Backlogs the scale workload runs fanout5 at, comma-separated.")
    var scaleBacklogs = "500,5000,50000"

    @Option(help: "Finished instances the finished workload seeds.")
    var finishedCount = 1_000_000

    @Option(help: "Instances of the timers workload, due within the same second.")
    var timerCount = 10_000

    @Option(help: "Schedules of the schedules workload, all due at the same minute.")
    var scheduleCount = 1_000

    @Option(help: "Subscribers of the publish workload.")
    var publishCount = 10_000

    @Option(help: "Seconds from the timers workload's start to the second its timers come due.")
    var timerLead = 20.0

    @Option(help: "In-progress instances of the resume workload.")
    var resumeCount = 20_000

    @Option(help: "Writes the nodes' log to standard error from this level on (trace, debug, info, notice, warning, error, critical): how a stall was found. None by default.")
    var logLevel: String?

    /// `--log-level` as a level (checked by `validate()`).
    var nodeLogLevel: Logger.Level? { self.logLevel.flatMap(Logger.Level.init(rawValue:)) }

    func validate() throws {
        if let name = self.logLevel, self.nodeLogLevel == nil {
            throw ValidationError("--log-level \(name): expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    @Option(help: "Instances the soak workload runs in all.")
    var soakInstances = 100_000

    @Option(help: "Instances per soak batch (resident memory is read after each).")
    var soakBatch = 1_000

    @Option(help: "Keys of the keyed workload (fanout5 started by key under a concurrency limit).")
    var concurrencyKeys = 100

    @Option(help: "The keyed workload's concurrency limit per key.")
    var concurrencyLimit = 5

    @Option(help: "Items of each kind the footprint workload holds at once.")
    var footprintCount = 2_000

    @Option(help: "Where the nodes' metrics go: prometheus (recorded in a registry, as a worker serving /metrics does) or none.")
    var metrics: BenchMetrics = .prometheus

    func run() async throws {
        let url = try requireDatabaseURL(self.databaseURL, alternative: " (scripts/bench starts one)")
        if self.metrics == .prometheus {
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        }
        var results: [String: [String: Stat]] = [:]
        let selected = self.workloads.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for workload in selected {
            print("running \(workload)…")
            switch workload {
            case "fanout5": results[workload] = try await self.throughput(url: url, orchestration: Fanout5.self, activities: 5)
            case "chain10": results[workload] = try await self.throughput(url: url, orchestration: Chain10.self, activities: 10)
            case "latency": results[workload] = try await self.latency(url: url)
            case "latency-run": results[workload] = try await self.latency(url: url, oneCall: true)
            case "latency-memory": results[workload] = try await self.latencyInMemory()
            case "wake": results[workload] = try await self.wake(url: url)
            case "idle": results[workload] = try await self.idle(url: url)
            case "history": results[workload] = try await self.history(url: url)
            case "history-engine": results[workload] = try self.historyEngine()
            case "soak": results[workload] = try await self.soak(url: url)
            case "footprint": results[workload] = try await self.footprint(url: url)
            case "scale": results[workload] = try await self.scale(url: url)
            case "finished": results[workload] = try await self.finished(url: url)
            case "processes": results[workload] = try await self.processesAgainstInProcess(url: url)
            case "timers": results[workload] = try await self.timers(url: url)
            case "resume": results[workload] = try await self.resume(url: url)
            case "query": results[workload] = try await self.queries(url: url)
            case "publish": results[workload] = try await self.publications(url: url)
            case "update": results[workload] = try await self.updates(url: url)
            case "heartbeat": results[workload] = try await self.heartbeats(url: url)
            case "schedules": results[workload] = try await self.schedules(url: url)
            case "keyed": results[workload] = try await self.keyed(url: url)
            default: throw ValidationError("unknown workload '\(workload)'")
            }
        }
        self.printTable(results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(BenchReport(machine: Self.machine(), settings: self.settings, results: results)), as: UTF8.self)
        print(json)
        if let jsonPath = self.jsonPath {
            try json.write(toFile: jsonPath, atomically: true, encoding: .utf8)
        }
    }

    var settings: [String: String] {
        [
            "n": "\(self.n)", "runs": "\(self.runs)", "nodes": "\(self.nodes)", "processes": "\(self.processes)", "metrics": self.metrics.rawValue, "samples": "\(self.samples)",
            "orchestrationConcurrency": "\(self.orchestrationConcurrency)", "activityConcurrency": "\(self.activityConcurrency)",
            "stickyCache": "\(self.stickyCache)", "eagerStarts": "\(self.eagerStarts)", "executor": self.executor.rawValue, "workerExecutor": self.workerExecutor.rawValue,
        ]
    }

    static func machine() -> [String: String] {
        ["cores": "\(ProcessInfo.processInfo.activeProcessorCount)", "memoryGiB": "\(ProcessInfo.processInfo.physicalMemory >> 30)"]
    }

    // MARK: Workloads

    func throughput<O: Orchestration>(url: String, orchestration: O.Type, activities: Int) async throws -> [String: Stat] where O.Input == Int {
        try await self.throughput(url: url, orchestration: orchestration, activities: activities, n: self.n, runs: self.runs, warmUp: true)
    }

    /// `runs` measured runs after an unmeasured one (`warmUp`: the process's and the database's
    /// first-use costs), each in a fresh environment whose pools are warmed first: a new pool opens
    /// its connections, and prepares each statement on each connection at its first use (planning a
    /// turn commit takes ~2.5 ms), as the load grows. Measured cold, that cost fanout5 about 8 % of
    /// its throughput at n = 500 (docs/performance.md, session 25), which a node under sustained load
    /// does not pay.
    func throughput<O: Orchestration>(
        url: String, orchestration: O.Type, activities: Int, n: Int, runs: Int, warmUp: Bool
    ) async throws -> [String: Stat] where O.Input == Int {
        var orchestrationsPerSecond: [Double] = []
        var commits: [Double] = []
        var turns: [Double] = []
        var joined: [Double] = []
        var eager: [Double] = []
        for run in (warmUp ? 0 : 1)...runs {
            let count = run == 0 ? max(10, n / 10) : n
            let environment = try await BenchEnvironment(url: url, bench: self)
            try await environment.waitUntilNodesRegistered()
            // Commits are counted over the pools' warm-up and the measured run together: a backend
            // reports its counts only now and then, so a count read in between would be off.
            let before = try await environment.commits()
            let poolWarmUp = run == 0 ? 0 : max(10, n / 10)
            var warmUpPolls = 0
            if poolWarmUp > 0 {
                try await self.startAll(environment, O.self, count: poolWarmUp, prefix: "w")
                warmUpPolls = try await environment.waitUntilStartedFinished(poolWarmUp)
            }
            let warmed = environment.statistics
            let (rate, polls) = try await self.measure(environment, O.self, count: count)
            // Backends report their transaction counts when they exit (or within seconds): stop the
            // nodes first, then read.
            await environment.stopNodes()
            try await Task.sleep(for: .milliseconds(500))
            let after = try await environment.commits()
            let statistics = environment.statistics
            await environment.stop()
            if run == 0 { continue }
            turns.append(Double(statistics.turns - warmed.turns) / Double(count))
            joined.append(Double(statistics.joinedTurns - warmed.joinedTurns) / Double(count))
            eager.append(Double(statistics.eagerStarts - warmed.eagerStarts) / Double(count))
            orchestrationsPerSecond.append(rate)
            commits.append(Double(after - before - Int64(warmUpPolls + polls)) / Double(poolWarmUp + count))
        }
        return [
            "orchestrations/s": Stat(orchestrationsPerSecond),
            "activities/s": Stat(orchestrationsPerSecond.map { $0 * Double(activities) }),
            "commits/orchestration": Stat(commits),
            "turns/orchestration": Stat(turns),
            "turns claimed with results/orchestration": Stat(joined),
            "eager starts/orchestration": Stat(eager),
        ]
    }

    /// Starts `count` instances (16 clients at once) and waits until all finished: orchestrations per
    /// second over the whole, and the polls made while waiting.
    func measure<O: Orchestration>(_ environment: BenchEnvironment, _ type: O.Type, count: Int) async throws -> (rate: Double, polls: Int) where O.Input == Int {
        let started = ContinuousClock.now
        try await self.startAll(environment, type, count: count)
        let polls = try await environment.waitUntilStartedFinished(count)
        return (Double(count) / (ContinuousClock.now - started).secondsValue, polls)
    }

    /// Starts `count` instances `<prefix>0`, `<prefix>1`, …, 16 clients at once.
    func startAll<O: Orchestration>(_ environment: BenchEnvironment, _ type: O.Type, count: Int, prefix: String = "b") async throws where O.Input == Int {
        let client = environment.startingClient
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: count, by: 16) {
                        try await client.start(O.self, input: i, instanceID: "\(prefix)\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func measureThroughput<O: Orchestration>(_ environment: BenchEnvironment, _ type: O.Type, count: Int) async throws -> Double where O.Input == Int {
        try await self.measure(environment, type, count: count).rate
    }

    /// Start-to-result latency, one instance at a time: `start` then `result(of:)`, or with
    /// `oneCall`, `run` (which waits with one read fewer).
    func latency(url: String, oneCall: Bool = false) async throws -> [String: Stat] {
        var p50: [Double] = []
        var p99: [Double] = []
        for run in 0...self.runs {
            let environment = try await BenchEnvironment(url: url, bench: self)
            try await environment.waitUntilNodesRegistered()
            let client = environment.startingClient
            var samples: [Double] = []
            // Each run's environment is new: its pool's connections prepare each statement at
            // its first use there (planning the turn commit takes ~2.5 ms), so the run's first
            // samples measure that, not a start-to-result. They are not counted.
            let warmUp = 20
            for i in 0..<(run == 0 ? warmUp : warmUp + self.samples) {
                let started = ContinuousClock.now
                if oneCall {
                    _ = try await client.run(Single.self, input: i, timeout: .seconds(30))
                } else {
                    let id = try await client.start(Single.self, input: i)
                    _ = try await client.result(of: Single.self, instanceID: id, timeout: .seconds(30))
                }
                if i >= warmUp { samples.append((ContinuousClock.now - started).secondsValue * 1000) }
            }
            await environment.stop()
            if run == 0 { continue }
            p50.append(percentile(samples, 0.5))
            p99.append(percentile(samples, 0.99))
        }
        return ["p50 ms": Stat(p50), "p99 ms": Stat(p99)]
    }

    /// The latency workload on the in-memory provider: what the runtime itself costs, without a
    /// database.
    func latencyInMemory() async throws -> [String: Stat] {
        let provider = InMemoryProvider()
        let logger = Logger(label: "durable.bench") { _ in SwiftLogNoOpLogHandler() }
        let runtime = DurableRuntime(provider: provider, registry: try Registry.bench(), configuration: .init(nodeID: "memory"), logger: logger)
        let task = Task { try await runtime.run() }
        let client = DurableClient(provider: provider)
        var samples: [Double] = []
        for i in 0..<(self.samples + 20) {
            let started = ContinuousClock.now
            let id = try await client.start(Single.self, input: i)
            _ = try await client.result(of: Single.self, instanceID: id, timeout: .seconds(30))
            if i >= 20 { samples.append((ContinuousClock.now - started).secondsValue * 1000) }
        }
        runtime.beginShutdown()
        try await task.value
        return ["p50 ms": Stat([percentile(samples, 0.5)]), "p99 ms": Stat([percentile(samples, 0.99)])]
    }

    func wake(url: String) async throws -> [String: Stat] {
        var p50: [Double] = []
        var p99: [Double] = []
        for run in 0...self.runs {
            let environment = try await BenchEnvironment(url: url, bench: self)
            let client = DurableClient(provider: environment.client)
            var samples: [Double] = []
            for i in 0..<(run == 0 ? 20 : self.samples) {
                // Let the node go idle first: the measure is the wake-up of a sleeping dispatcher.
                try await Task.sleep(for: .milliseconds(20))
                let id = try await client.start(WakeProbe.self, input: i)
                let claimedAt = try await client.result(of: WakeProbe.self, instanceID: id, timeout: .seconds(30))
                let createdAt = try await client.status(instanceID: id).createdAt
                samples.append(claimedAt.timeIntervalSince(createdAt) * 1000)
            }
            await environment.stop()
            if run == 0 { continue }
            p50.append(percentile(samples, 0.5))
            p99.append(percentile(samples, 0.99))
        }
        return ["p50 ms": Stat(p50), "p99 ms": Stat(p99)]
    }

    func idle(url: String) async throws -> [String: Stat] {
        var bench = self
        bench.nodes = 1
        let environment = try await BenchEnvironment(url: url, bench: bench)
        try await Task.sleep(for: .seconds(2))
        let before = try await environment.statementsAndCommits()
        try await Task.sleep(for: .seconds(self.idleSeconds))
        let after = try await environment.statementsAndCommits()
        await environment.stop()
        let minutes = Double(self.idleSeconds) / 60
        // The two measuring queries count themselves once each.
        return [
            "statements/min": Stat([Double(after.statements - before.statements - 2) / minutes]),
            "transactions/min": Stat([Double(after.commits - before.commits - 2) / minutes]),
        ]
    }

    /// The time of one turn through PostgreSQL when the history holds 10 to 10,000 events: instances
    /// that ran (size - 1) / 2 activities wait for an event; from raising it to the client seeing the
    /// result (notification, claim, turn, commit, notification, read). `runs` instances per size, all
    /// built first, then measured one size after the other in rounds, so that drift hits every size
    /// alike; the median per size.
    func history(url: String) async throws -> [String: Stat] {
        let environment = try await BenchEnvironment(url: url, bench: self)
        let client = DurableClient(provider: environment.client)
        let sizes = [10, 100, 1_000, 10_000]
        let rounds = max(1, self.runs)
        for size in sizes {
            for round in 0..<rounds {
                _ = try await client.start(LongHistory.self, input: (size - 1) / 2, instanceID: "h\(size)-\(round)")
            }
        }
        try await environment.waitUntilWaiting(count: sizes.count * rounds, timeout: .seconds(600))
        var samples: [Int: [Double]] = [:]
        for round in 0..<rounds {
            for size in sizes {
                let id = "h\(size)-\(round)"
                let started = ContinuousClock.now
                try await client.raiseEvent(instanceID: id, name: "go", 1)
                _ = try await client.result(of: LongHistory.self, instanceID: id, timeout: .seconds(60))
                samples[size, default: []].append((ContinuousClock.now - started).secondsValue * 1000)
            }
        }
        await environment.stop()
        return Dictionary(uniqueKeysWithValues: sizes.map { ("turn ms @\($0) events", Stat(samples[$0] ?? [])) })
    }

    /// The engine's time for one turn at each history size (no database: what a node spends on a
    /// claimed turn besides I/O), replaying the whole history and with the execution kept in the
    /// sticky cache from the previous turn.
    func historyEngine() throws -> [String: Stat] {
        let registry = try Registry.bench()
        var results: [String: Stat] = [:]
        for size in [10, 100, 1_000, 10_000] {
            let replaying = OrchestrationEngine(registry: registry)
            let cached = OrchestrationEngine(registry: registry, cacheCapacity: 10)
            var (history, next) = try Self.historyOf(events: size, engine: replaying)
            var replay: [Double] = []
            var sticky: [Double] = []
            // The first cached turn loads the execution; the following ones continue it.
            _ = try cached.runTurn(instanceID: "h", history: history, messages: [], now: Date())
            for _ in 0..<max(3, self.runs) {
                let message: [HistoryEvent.Kind] = [.activityCompleted(operationID: next.operationID, result: next.input)]
                var started = ContinuousClock.now
                _ = try replaying.runTurn(instanceID: "h", history: history, messages: message, now: Date())
                replay.append((ContinuousClock.now - started).secondsValue * 1000)
                started = ContinuousClock.now
                let result = try cached.runTurn(instanceID: "h", history: history, messages: message, now: Date())
                sticky.append((ContinuousClock.now - started).secondsValue * 1000)
                history += result.newEvents
                guard let request = result.actions.compactMap({ if case .scheduleActivity(let r) = $0 { r } else { nil } }).first else { break }
                next = request
            }
            results["turn ms @\(size) events (replay)"] = Stat(replay)
            results["turn ms @\(size) events (cached)"] = Stat(sticky)
        }
        return results
    }

    /// A LongHistory execution driven through the engine until its history holds about `events`
    /// events, left waiting for the activity it scheduled last.
    static func historyOf(events: Int, engine: OrchestrationEngine) throws -> ([HistoryEvent], ActivityRequest) {
        let activities = max(1, (events - 2) / 2)
        var history: [HistoryEvent] = []
        var now = Date(timeIntervalSince1970: 1_700_000_000)
        var messages: [HistoryEvent.Kind] = [
            .executionStarted(.init(name: LongHistory.name, version: "", input: try Payload(encoding: activities + 1_000), executionID: "e"))
        ]
        while true {
            let result = try engine.runTurn(instanceID: "h", history: history, messages: messages, now: now)
            history += result.newEvents
            now = now.addingTimeInterval(0.001)
            guard let request = result.actions.compactMap({ if case .scheduleActivity(let r) = $0 { r } else { nil } }).first else {
                throw ValidationError("the history workload's orchestration stopped early")
            }
            if history.count >= events { return (history, request) }
            messages = [.activityCompleted(operationID: request.operationID, result: request.input)]
        }
    }

    // MARK: Output

    static let targets: [String: String] = [
        "fanout5 orchestrations/s": ">= 300", "fanout5 activities/s": ">= 1500", "fanout5 commits/orchestration": "<= 4",
        "chain10 orchestrations/s": ">= 150", "latency p50 ms": "<= 5", "latency p99 ms": "<= 20", "latency-run p50 ms": "<= 5", "latency-run p99 ms": "<= 20", "wake p50 ms": "<= 2",
        "idle statements/min": "<= 12", "soak last/first": "<= 1.2", "finished finished/empty": ">= 0.9",
        "processes processes/in-process": ">= 1",
        "timers lag p99 ms": "<= 1000", "timers lag max ms": "<= 2000", "query memory p50 ms": "<= 3", "publish deliver ms": "<= 1000",
    ]

    func printTable(_ results: [String: [String: Stat]]) {
        print("")
        print("workload        metric                              median       min       max  target")
        for workload in results.keys.sorted() {
            for metric in results[workload]!.keys.sorted() {
                let stat = results[workload]![metric]!
                let target = Self.targets["\(workload) \(metric)"] ?? ""
                print(
                    workload.padding(toLength: 16, withPad: " ", startingAt: 0) + metric.padding(toLength: 34, withPad: " ", startingAt: 0)
                        + String(format: "%10.3f%10.3f%10.3f  ", stat.median, stat.min, stat.max) + target
                )
            }
        }
        // Every run of a throughput figure, and the ones slower than 0.7 × the median (a stall).
        for workload in results.keys.sorted() {
            guard let stat = results[workload]!["orchestrations/s"], stat.runs.count > 1 else { continue }
            let slow = stat.runs.enumerated().filter { $0.element < 0.7 * stat.median }.map { "run \($0.offset + 1)" }
            print("\(workload) runs: " + stat.runs.map { String(format: "%.0f", $0) }.joined(separator: ", ")
                + (slow.isEmpty ? "" : "  SLOWER THAN 0.7 × MEDIAN: " + slow.joined(separator: ", ")))
        }
        print("")
    }
}

struct BenchReport: Codable {
    var machine: [String: String]
    var settings: [String: String]
    var results: [String: [String: Stat]]
}

/// Whether the bench's nodes record their metrics.
enum BenchMetrics: String, ExpressibleByArgument, Sendable {
    case prometheus
    case none
}
