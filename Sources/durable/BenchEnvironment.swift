import ArgumentParser
import Durable
import DurablePostgres
import Foundation
import Logging
import PostgresNIO

/// A fresh schema with runtimes running on it, for one measured run.
final class BenchEnvironment {
    let schema = "bench_\(UUID().uuidString.prefix(8).lowercased())"
    let client: PostgresProvider
    private let measuring: PostgresConnection
    private var providerTasks: [Task<Void, any Error>] = []
    private var runtimeTasks: [Task<Void, any Error>] = []
    private(set) var runtimes: [DurableRuntime] = []
    /// Worker processes (`--processes`); their statistics are not visible from here.
    private var processes: [Process] = []
    private let url: String
    private let bench: Bench
    private let logger: Logger

    /// - Parameter nodes: runtimes started at once; `nil` for the bench's `--nodes`.
    init(url: String, bench: Bench, nodes: Int? = nil) async throws {
        self.url = url
        self.bench = bench
        self.logger = bench.nodeLogLevel.map { level in
            var logger = Logger(label: "durable.bench") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = level
            return logger
        } ?? Logger(label: "durable.bench") { _ in SwiftLogNoOpLogHandler() }
        let configuration = try PostgresProvider.Configuration(url: url, schema: self.schema, maxConnections: 8)
        self.client = PostgresProvider(configuration: configuration, logger: self.logger)
        try await self.client.migrate()
        self.measuring = try await PostgresConnection.connect(configuration: try configuration.connectionConfiguration(), id: 7, logger: self.logger)
        let client = self.client
        self.providerTasks.append(Task { try await client.run() })
        self.startNodes(nodes ?? bench.nodes)
    }

    /// The client the workloads start instances with: the first in-process node's (eager starts,
    /// ``Bench/eagerStarts``), or one of the bench's own, as a separate process would have.
    var startingClient: DurableClient {
        guard self.bench.eagerStarts, let runtime = self.runtimes.first else { return DurableClient(provider: self.client) }
        return runtime.client
    }

    /// Starts `count` more runtimes, each with a provider of its own: in this process, or as
    /// separate worker processes with `--processes`.
    func startNodes(_ count: Int) {
        guard count > 0 else { return }
        if self.bench.processes > 0 {
            self.startProcesses(self.bench.processes)
            return
        }
        let registry = try! Registry.bench()
        for _ in 0..<count {
            let node = self.runtimes.count
            let provider = PostgresProvider(configuration: try! .init(url: self.url, schema: self.schema, maxConnections: 16), logger: self.logger)
            let runtime = DurableRuntime(
                provider: provider,
                registry: registry,
                configuration: .init(
                    nodeID: "bench-\(node)",
                    orchestrationConcurrency: self.bench.orchestrationConcurrency,
                    activityConcurrency: self.bench.activityConcurrency,
                    stickyCacheCapacity: self.bench.stickyCache,
                    eagerStarts: self.bench.eagerStarts
                ),
                logger: self.logger
            )
            self.runtimes.append(runtime)
            self.providerTasks.append(Task { try await provider.run() })
            self.runtimeTasks.append(Task { try await runtime.run() })
        }
    }

    /// Inserts `count` completed fanout5 instances with 12-event histories, in batches.
    func seedFinished(_ count: Int) async throws {
        let batch = 50_000
        for first in stride(from: 0, to: count, by: batch) {
            let last = min(count, first + batch) - 1
            try await self.execute(
                """
                INSERT INTO \(self.schema).instances (id, name, version, execution_id, status, input, output, completed_at, inbox_at, history_length)
                SELECT 'f' || g, 'Fanout5', '1.0.0', md5(g::text), 'completed', g::text, (5 * g + 10)::text, now() - interval '1 hour', NULL, 12
                FROM generate_series(\(first), \(last)) g
                """
            )
            try await self.execute(
                """
                INSERT INTO \(self.schema).history (instance_id, execution_id, seq, event)
                SELECT 'f' || g, md5(g::text), s, '{"v":1,"seq":' || s || ',"kind":{"seeded":{}}}'
                FROM generate_series(\(first), \(last)) g, generate_series(0, 11) s
                """
            )
        }
        // As rows written long before would be: vacuumed, analyzed and checkpointed, so that the
        // measured run neither sets their hint bits nor shares the disk with the checkpoint that
        // the seed's WAL (gigabytes) sets off. CHECKPOINT needs a superuser or pg_checkpoint.
        try await self.execute("VACUUM (ANALYZE) \(self.schema).instances, \(self.schema).history")
        do {
            try await self.execute("CHECKPOINT")
        } catch {
            print("CHECKPOINT after seeding failed (the measured run may share the disk with one): \(String(reflecting: error))")
        }
    }

    /// Inserts `count` running instances of `name` subscribed to `pattern` (start and subscription
    /// in their histories, as the engine records them), and as many subscribed to other topics.
    func seedSubscribers(_ count: Int, pattern: String, name: String) async throws {
        let ts = Int(Date().timeIntervalSince1970 * 1000)
        try await self.execute(
            """
            INSERT INTO \(self.schema).instances (id, name, version, execution_id, status, input, history_length)
            SELECT 's' || g, '\(name)', '1.0.0', md5(g::text), 'running', g::text, 2 FROM generate_series(1, \(count)) g
            """
        )
        try await self.execute(
            """
            INSERT INTO \(self.schema).history (instance_id, execution_id, seq, event)
            SELECT 's' || g, md5(g::text), 0, '{"kind":{"executionStarted":{"_0":{"executionID":"' || md5(g::text) || '","input":"' || g
                   || '","name":"\(name)","version":"1.0.0"}}},"seq":0,"ts":\(ts),"v":1}' FROM generate_series(1, \(count)) g
            UNION ALL
            SELECT 's' || g, md5(g::text), 1, '{"kind":{"topicSubscribed":{"pattern":"\(pattern)"}},"seq":1,"ts":\(ts),"v":1}'
            FROM generate_series(1, \(count)) g
            """
        )
        try await self.execute(
            """
            INSERT INTO \(self.schema).subscriptions (pattern, instance_id, execution_id)
            SELECT '\(pattern)', 's' || g, md5(g::text) FROM generate_series(1, \(count)) g
            UNION ALL
            SELECT 'other/' || g || '/#', 's' || g, md5(g::text) FROM generate_series(1, \(count)) g
            """
        )
        for table in ["instances", "history", "subscriptions"] { try await self.execute("ANALYZE \(self.schema).\(table)") }
    }

    /// Makes every pending instance look held by a node that died: its leases last another hour,
    /// its heartbeat is a minute old.
    func killNode(holding count: Int) async throws {
        try await self.execute(
            """
            INSERT INTO \(self.schema).nodes (id, incarnation, host, pid, build_version, capabilities, heartbeat_at)
            VALUES ('dead', '1', 'gone', 1, 'bench', '{"orchestrations":{},"activities":[]}', now() - interval '1 minute')
            """
        )
        try await self.execute(
            "UPDATE \(self.schema).instances SET lock_owner = 'dead#1', lock_epoch = 1, deliveries = 1, locked_until = now() + interval '1 hour'"
        )
    }

    /// Every instance's id and output.
    func outputs() async throws -> [(String, String)] {
        let rows = try await self.measuring.query(
            PostgresQuery(unsafeSQL: "SELECT id, coalesce(output, '') FROM \(self.schema).instances"), logger: self.logger
        ).collect()
        return try rows.map { try $0.decode((String, String).self) }
    }

    func query(_ sql: String) async throws -> [PostgresRow] {
        try await self.measuring.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).collect()
    }

    func execute(_ sql: String) async throws {
        _ = try await self.measuring.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).collect()
    }

    /// The runtimes' statistics, summed.
    var statistics: DurableRuntime.Statistics {
        self.runtimes.map(\.statistics).reduce(into: DurableRuntime.Statistics()) { sum, next in
            sum.turns += next.turns
            sum.joinedTurns += next.joinedTurns
            sum.activities += next.activities
            sum.eagerStarts += next.eagerStarts
        }
    }

    /// Starts `count` worker processes (`durable bench-worker`) on this schema.
    private func startProcesses(_ count: Int) {
        for index in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = [
                "bench-worker", "--database-url", self.url, "--schema", self.schema, "--node-id", "bench-process-\(index)",
                "--orchestration-concurrency", "\(self.bench.orchestrationConcurrency)",
                "--activity-concurrency", "\(self.bench.activityConcurrency)", "--sticky-cache", "\(self.bench.stickyCache)",
                "--executor", self.bench.workerExecutor.rawValue,
            ]
            process.standardOutput = FileHandle.nullDevice
            do {
                try process.run()
                self.processes.append(process)
            } catch {
                print("could not start a bench worker process: \(error)")
            }
        }
    }

    /// Stops the runtimes and closes every pooled connection.
    func stopNodes() async {
        for process in self.processes where process.isRunning { process.terminate() }
        for process in self.processes { process.waitUntilExit() }
        self.processes = []
        for runtime in self.runtimes { runtime.beginShutdown() }
        for task in self.runtimeTasks { _ = try? await task.value }
        for task in self.providerTasks.dropFirst() { task.cancel() }
    }

    func stop() async {
        await self.stopNodes()
        _ = try? await self.client.dropSchema()
        for task in self.providerTasks { task.cancel() }
        try? await self.measuring.close()
    }

    /// Waits until `count` instances of the schema finished (completed or failed); returns how
    /// many polls (transactions) it made.
    func waitUntilCompleted(_ count: Int) async throws -> Int {
        try await self.waitUntil(count) {
            try await self.scalar("SELECT count(*)::int8 FROM \(self.schema).instances WHERE status IN ('completed', 'failed')")
        }
    }

    /// Waits until every node has registered: worker processes take a moment to start, and a node
    /// registers before it takes eager starts. Throughput and latency runs time the work, as a
    /// deployed fleet meets it, not the nodes' start (session 21; until then they timed both).
    func waitUntilNodesRegistered(timeout: Duration = .seconds(60)) async throws {
        let expected = self.bench.processes > 0 ? self.bench.processes : self.runtimes.count
        let deadline = ContinuousClock.now + timeout
        while try await self.client.listNodes(staleAfter: .seconds(10)).filter(\.isAlive).count < expected
            || !self.runtimes.allSatisfy(\.isRegistered)
        {
            guard ContinuousClock.now < deadline else { throw ValidationError("the nodes did not register within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the `count` instances just started have finished, counting those not finished
    /// (pending or running): instances that finished before them (the finished workload's seeded
    /// ones) neither count nor are read by a poll.
    func waitUntilStartedFinished(_ count: Int) async throws -> Int {
        try await self.waitUntil(count) {
            let left = try await self.scalar("SELECT count(*)::int8 FROM \(self.schema).instances WHERE status IN ('pending', 'running')")
            return Int64(count) - left
        }
    }

    private func waitUntil(_ count: Int, finished: () async throws -> Int64) async throws -> Int {
        var polls = 0
        let start = ContinuousClock.now
        while true {
            polls += 1
            let done = try await finished()
            if done >= count { return polls }
            // A count reads an index entry for every instance it counts, so at large backlogs
            // polling it often would cost the database a share of the work it measures: the next
            // poll comes when about half of what is left should be done at the rate so far, but no
            // later than a fiftieth of the time so far (so the end is found within 2 %), at least
            // 20 ms and at most 2 s apart.
            let elapsed = (ContinuousClock.now - start).secondsValue
            let left = Double(count) - Double(done)
            let rate = Double(done) / elapsed
            let halfLeft: Double = done > 0 ? min(left / rate / 2, elapsed / 50) : 0
            try await Task.sleep(for: .seconds(min(2, max(0.02, halfLeft))))
        }
    }

    /// Waits until `count` instances run with nothing left to do: no message, no activity task (they
    /// wait for an event).
    func waitUntilWaiting(count: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await self.scalar(
            """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM \(self.schema).messages) OR EXISTS (SELECT 1 FROM \(self.schema).activity_tasks) THEN 0
                        ELSE (SELECT count(*) FROM \(self.schema).instances WHERE status = 'running') END::int8
            """
        ) < count {
            guard ContinuousClock.now < deadline else { throw ValidationError("the history workload did not build its histories within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits until `count` activity tasks are leased (running).
    func waitUntilActivitiesRunning(_ count: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await self.scalar("SELECT count(*)::int8 FROM \(self.schema).activity_tasks WHERE locked_until > now()") < count {
            guard ContinuousClock.now < deadline else { throw ValidationError("\(count) activities did not start within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func commits() async throws -> Int64 {
        try await self.scalar("SELECT (xact_commit + xact_rollback)::int8 FROM pg_stat_database WHERE datname = current_database()")
    }

    func statementsAndCommits() async throws -> (statements: Int64, commits: Int64) {
        let statements = try await self.scalar(
            "SELECT coalesce(sum(calls), 0)::int8 FROM public.pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return (statements, try await self.commits())
    }

    private func scalar(_ sql: String) async throws -> Int64 {
        let rows = try await self.measuring.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "durable.bench") { _ in SwiftLogNoOpLogHandler() }).collect()
        return try rows[0].decode(Int64.self)
    }
}
