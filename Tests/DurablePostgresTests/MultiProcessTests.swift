import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Worker processes of the example executable, sharing one schema.
final class WorkerFleet: Sendable {
    let schema: String
    let url: String
    let logDirectory: URL
    private let processes = SynchronizedProcesses()

    init(schema: String) throws {
        self.schema = schema
        self.url = PostgresTestDatabase.url!
        self.logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("durable-fleet-\(schema)")
        try FileManager.default.createDirectory(at: self.logDirectory, withIntermediateDirectories: true)
    }

    /// A fleet on a fresh schema, with a provider of its own on that schema; stop it with
    /// ``tearDown(removing:)``.
    static func onFreshSchema() async throws -> (WorkerFleet, PostgresTestDatabase.Instance) {
        let schema = PostgresTestDatabase.newSchema()
        let instance = try await PostgresTestDatabase.Instance(schema: schema, leaseDuration: .seconds(30))
        return (try WorkerFleet(schema: schema), instance)
    }

    /// Stops every worker and drops the schema.
    func tearDown(removing instance: PostgresTestDatabase.Instance) {
        self.stopAll()
        Task { await PostgresTestDatabase.cleanUp([instance]) }
    }

    static var executable: URL {
        // Tests run from .build/<configuration>/; the example sits beside them.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/DurableExample").standardized
    }

    /// Starts a worker; returns its pid. Its output goes to `<log ?? nodeID>.log`.
    @discardableResult
    func start(nodeID: String, log logName: String? = nil, arguments: [String] = [], environment: [String: String] = [:]) throws -> Int32 {
        let process = Process()
        process.executableURL = Self.executable
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.arguments = ["worker", "--database-url", self.url, "--schema", self.schema, "--node-id", nodeID] + arguments
        let log = self.logDirectory.appendingPathComponent("\(logName ?? nodeID).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.processes.append(process)
        return process.processIdentifier
    }

    func kill(_ pid: Int32) {
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Stops one worker with SIGTERM and waits for it.
    func stop(_ pid: Int32) {
        for process in self.processes.all where process.processIdentifier == pid {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// How many lines of all the workers' logs contain `text`.
    func countLogLines(containing text: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: self.logDirectory.path).reduce(0) { count, file in
            let log = try String(contentsOf: self.logDirectory.appendingPathComponent(file), encoding: .utf8)
            return count + log.split(separator: "\n").filter { $0.contains(text) }.count
        }
    }

    /// Stops every worker still running with SIGTERM and waits for them.
    func stopAll() {
        for process in self.processes.all where process.isRunning {
            process.terminate()
        }
        for process in self.processes.all { process.waitUntilExit() }
    }
}

/// Foundation's Process is not Sendable; the fleet only touches it under this lock.
final class SynchronizedProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Process] = []

    func append(_ process: Process) {
        self.lock.withLock { self.processes.append(process) }
    }

    var all: [Process] { self.lock.withLock { self.processes } }
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"), .serialized)
struct MultiProcessTests {
    @Test func threeWorkersSurviveTheKillOfOne() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        let schema = fleet.schema
        let heartbeat = 1_000
        let arguments = ["--heartbeat-milliseconds", "\(heartbeat)", "--activity-delay-milliseconds", "300", "--activity-concurrency", "16"]
        try fleet.start(nodeID: "node-1", arguments: arguments)
        let victim = try fleet.start(nodeID: "node-2", arguments: arguments)
        try fleet.start(nodeID: "node-3", arguments: arguments)

        let client = DurableClient(provider: instance.provider)
        let count = 300
        for i in 0..<count {
            let order = #"{"id":"o\#(i)","customer":"c\#(i)","items":["book"],"totalCents":\#(1000 + i),"coolingOffMilliseconds":500}"#
            try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: "order-\(i)")
        }

        // Kill node-2 with SIGKILL once it holds leases and a third of the orders are done.
        let held = "SELECT count(*)::int8 FROM \(schema).activity_tasks WHERE lock_owner LIKE 'node-2#%' AND locked_until > now()"
        let done = "SELECT count(*)::int8 FROM \(schema).instances WHERE status = 'completed'"
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let completed = try await PostgresTestDatabase.query(done)[0].decode(Int64.self)
            let holding = try await PostgresTestDatabase.query(held)[0].decode(Int64.self)
            if completed >= count / 3 && holding > 0 { break }
            try #require(ContinuousClock.now < deadline, "the fleet made no progress")
            try await Task.sleep(for: .milliseconds(20))
        }
        let leases = try await PostgresTestDatabase.query(
            "SELECT id, lock_epoch FROM \(schema).activity_tasks WHERE lock_owner LIKE 'node-2#%' AND locked_until > now()"
        ).map { try $0.decode((String, Int64).self) }
        fleet.kill(victim)
        let killedAt = ContinuousClock.now

        // The first takeover: one of its tasks claimed again by another node (a newer epoch).
        let ids = leases.map(\.0)
        var tookOver: Duration?
        while tookOver == nil {
            let rows = try await PostgresTestDatabase.query(
                "SELECT id, lock_epoch, coalesce(lock_owner, '') FROM \(schema).activity_tasks WHERE id = ANY(ARRAY['\(ids.joined(separator: "','"))'])"
            ).map { try $0.decode((String, Int64, String).self) }
            let current = Dictionary(uniqueKeysWithValues: rows.map { ($0.0, ($0.1, $0.2)) })
            // A task that is gone may have been completed by node-2 just before the kill: only a
            // newer epoch held by another node proves a takeover.
            if leases.contains(where: { id, epoch in current[id].map { $0.0 > epoch && !$0.1.hasPrefix("node-2#") } ?? false }) {
                tookOver = ContinuousClock.now - killedAt
            } else {
                try #require(ContinuousClock.now - killedAt < .seconds(60), "nobody took node-2's work over")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        print("kill -> first takeover: \(tookOver!) (heartbeat interval \(heartbeat) ms, lease 30 s)")
        // Target: two heartbeat intervals; a second of slack for a loaded CI machine.
        #expect(tookOver! <= .milliseconds(2 * heartbeat + 1_000), "takeover took \(tookOver!)")

        for i in 0..<count {
            let info = try await client.waitForCompletion(instanceID: "order-\(i)", timeout: .seconds(120))
            #expect(info.status == .completed, "order-\(i) is \(info.status): \(String(describing: info.failure))")
        }
        for i in 0..<count {
            let history = try await client.history(instanceID: "order-\(i)")
            let scheduled = history.compactMap { if case .activityScheduled(let op, _, _, _, _, _, _, _, _) = $0.kind { op } else { nil } }
            let completions = history.compactMap { if case .activityCompleted(let op, _) = $0.kind { op } else { nil } }
            #expect(Set(completions).count == completions.count, "order-\(i) recorded an activity completion twice: \(completions)")
            #expect(completions.sorted() == scheduled.sorted(), "order-\(i): scheduled \(scheduled), completed \(completions)")
        }
    }

    /// The seed acceptance: orders started, the worker shut down, a new worker started: every
    /// order resumes to completion, and the new worker logs discover -> attach -> replay -> complete.
    /// Workers on Swift's pool, and on NIO's event loops as the global executor (`--executor`).
    @Test(arguments: ["swift", "event-loops"])
    func aRestartedWorkerResumesEveryInstance(executor: String) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let schema = PostgresTestDatabase.newSchema()
        let instance = try await PostgresTestDatabase.Instance(schema: schema, leaseDuration: .seconds(30))
        let first = try WorkerFleet(schema: schema)
        defer { Task { await PostgresTestDatabase.cleanUp([instance]) } }
        try first.start(nodeID: "worker", arguments: ["--executor", executor])
        let client = DurableClient(provider: instance.provider)
        let count = 50
        for i in 0..<count {
            // A long cooling-off period keeps every order in progress across the restart.
            let order = #"{"id":"r\#(i)","customer":"c","items":["pen"],"totalCents":500,"coolingOffMilliseconds":3000}"#
            try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: "resume-\(i)")
        }
        for i in 0..<count {
            _ = try await client.waitForCustomStatus("resume-\(i)", "\"cooling off\"")
        }
        first.stopAll()
        #expect(try await client.list(InstanceQuery(statuses: [.running])).instances.count == count)

        let second = try WorkerFleet(schema: schema)
        defer { second.stopAll() }
        try second.start(nodeID: "worker", arguments: ["--executor", executor])
        for i in 0..<count {
            let info = try await client.waitForCompletion(instanceID: "resume-\(i)", timeout: .seconds(60))
            #expect(info.status == .completed)
        }
        second.stopAll()
        let log = try String(contentsOf: second.logDirectory.appendingPathComponent("worker.log"), encoding: .utf8)
        for step in ["resume: discovered", "resume: attached", "resume: replayed", "resume: completed"] {
            let lines = log.split(separator: "\n").filter { $0.contains(step) }.count
            #expect(lines == count, "\(lines) '\(step)' lines for \(count) resumed orders")
        }
        #expect(log.contains("durable.discovered=\(count)"))
        #expect(log.contains("durable.executor=\(executor)"), "the worker's tasks run on \(executor)")
    }

    /// A worker asked to run on event loops while exporting over OTLP stops at once with a usage
    /// error (swift-otel's exporter would trap at shutdown on a loop), before touching the database.
    @Test func aWorkerRefusesEventLoopsWithOTLPExport() throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let process = Process()
        process.executableURL = WorkerFleet.executable
        process.environment = ProcessInfo.processInfo.environment.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"]) { $1 }
        process.arguments = ["worker", "--database-url", "postgres://nobody@127.0.0.1:1/none", "--executor", "event-loops"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(log.contains("--executor event-loops cannot run with OTLP export"), "\(log)")
    }

    /// A v1 fleet is replaced node by node by v2 nodes while orders keep arriving. Orders started on
    /// 1.0.0 finish on 1.0.0 code; orders started after the rollout run 2.0.0.
    @Test(arguments: [true, false])
    func aRollingDeploymentFromV1ToV2(capabilityClaims: Bool) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        let common = [
            "--heartbeat-milliseconds", "1000", "--activity-delay-milliseconds", "30",
            // With the filter off, old nodes keep claiming new work: a short cap keeps the test short.
            "--missing-handler-backoff-milliseconds", "200", "--missing-handler-backoff-cap-milliseconds", "1000",
            capabilityClaims ? "--capability-claims" : "--no-capability-claims",
        ]
        let client = DurableClient(provider: instance.provider)
        var next = 0
        func submit(_ count: Int) async throws -> [String] {
            var ids: [String] = []
            for _ in 0..<count {
                let order = #"{"id":"o\#(next)","customer":"c","items":["lamp"],"totalCents":900,"coolingOffMilliseconds":1500}"#
                ids.append(try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: "order-\(next)"))
                next += 1
            }
            return ids
        }
        /// Waits until each order's first turn ran, which fixed its version.
        func waitStarted(_ ids: [String]) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            for id in ids {
                while try await client.status(instanceID: id).version.isEmpty {
                    try #require(ContinuousClock.now < deadline, "\(id) never started")
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        let a1 = try fleet.start(nodeID: "a", log: "a-v1", arguments: common + ["--release", "v1"])
        let b1 = try fleet.start(nodeID: "b", log: "b-v1", arguments: common + ["--release", "v1"])
        let beforeRollout = try await submit(40)
        try await waitStarted(beforeRollout)

        fleet.stop(a1)
        try fleet.start(nodeID: "a", log: "a-v2", arguments: common + ["--release", "v2"])
        let duringRollout = try await submit(30)
        try await waitStarted(duringRollout)
        fleet.stop(b1)
        try fleet.start(nodeID: "b", log: "b-v2", arguments: common + ["--release", "v2"])
        let afterRollout = try await submit(30)

        for id in beforeRollout + duringRollout + afterRollout {
            let info = try await client.waitForCompletion(instanceID: id, timeout: .seconds(90))
            try #require(info.status == .completed, "\(id) is \(info.status): \(String(describing: info.failure))")
            let confirmed = info.output?.json.contains("\"confirmation\"") ?? false
            #expect(confirmed == (info.version == "2.0.0"), "\(id) ran \(info.version) but its output is \(info.output?.json ?? "")")
        }
        let versions = { (ids: [String]) async throws -> Set<String> in
            var versions: Set<String> = []
            for id in ids { versions.insert(try await client.status(instanceID: id).version) }
            return versions
        }
        #expect(try await versions(beforeRollout) == ["1.0.0"])
        #expect(try await versions(afterRollout) == ["2.0.0"])
        let wasted = try fleet.countLogLines(containing: "no handler for this")
        print("rolling deployment, capability-aware claims \(capabilityClaims ? "on" : "off"): \(wasted) wasted claims (claimed, then handed back); during the rollout \(try await versions(duringRollout).sorted())")
        if capabilityClaims {
            #expect(wasted == 0)
        }
    }
}

extension DurableClient {
    /// Waits until an instance's custom status is `json` (test helper; reads repeatedly).
    func waitForCustomStatus(_ id: String, _ json: String, timeout: Duration = .seconds(30)) async throws -> InstanceInfo {
        let deadline = ContinuousClock.now + timeout
        while true {
            let info = try await self.status(instanceID: id)
            if info.customStatus?.json == json { return info }
            guard ContinuousClock.now < deadline else {
                throw DurableError(.timedOut, "instance \(id) has custom status \(info.customStatus?.json ?? "none"), not \(json)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
