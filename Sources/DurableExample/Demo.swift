import ArgumentParser
import Durable
import DurableCommands
import DurablePostgres
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The main job: a small fleet processing a few hundred orders, one node killed midway.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run three worker nodes against PostgreSQL, submit orders, SIGKILL one node midway, and summarise."
    )

    @Option(help: "The database URL (or DURABLE_DATABASE_URL).")
    var databaseURL: String?

    @Flag(help: "Run everything in this process on the in-memory provider: no PostgreSQL, no kill.")
    var embedded = false

    @Option(help: "How many orders to submit.")
    var orders = 300

    @Option(help: "How many worker nodes to run.")
    var workers = 3

    @Option(help: "How long each activity pretends to work, in milliseconds.")
    var activityDelayMilliseconds = 100

    func run() async throws {
        let started = ContinuousClock.now
        let provider: any DurableProvider
        let fleet: any DemoFleet
        var postgres: PostgresProvider?
        var logger = ExampleLogging.makeLogger(label: "durable.example.demo")
        logger.logLevel = .warning
        if self.embedded {
            provider = InMemoryProvider()
            fleet = try EmbeddedFleet(provider: provider, count: self.workers, shop: Shop(workDelay: .milliseconds(self.activityDelayMilliseconds)))
            print("embedded mode: \(self.workers) runtimes in this process on the in-memory provider")
        } else {
            let url = try requireDatabaseURL(self.databaseURL, alternative: ", or use --embedded")
            let schema = "demo_\(UUID().uuidString.prefix(8).lowercased())"
            let postgresProvider = PostgresProvider(configuration: try .init(url: url, schema: schema), logger: logger)
            try await postgresProvider.migrate()
            print("migrated schema \(schema)")
            postgres = postgresProvider
            provider = postgresProvider
            fleet = try ProcessFleet(url: url, schema: schema, count: self.workers, activityDelay: self.activityDelayMilliseconds)
            print("started \(self.workers) worker processes; logs in \(fleet.logDirectory.path)")
        }
        let running = postgres
        let providerTask = Task { try await running?.run() }
        defer { providerTask.cancel() }

        let client = DurableClient(provider: provider)
        var ids: [String] = []
        for i in 0..<self.orders {
            let order = Order(
                id: "\(i)",
                customer: i % 50 == 7 ? "declined" : "customer-\(i % 17)",
                items: ["book", "lamp", "pen"].prefix(1 + i % 3).map { $0 },
                totalCents: i % 20 == 3 ? 250_000 : 1_000 + 37 * i,
                coolingOffMilliseconds: 500
            )
            let id = try await client.start(ProcessOrderV2.self, input: order, instanceID: "order-\(i)")
            if order.totalCents > order.approvalThresholdCents {
                // Raised before the orchestration waits for it: kept until the wait consumes it.
                try await client.raiseEvent(instanceID: id, name: "approval", i % 40 != 3)
            }
            ids.append(id)
        }
        print("submitted \(self.orders) orders")

        var killed = false
        var lastLine = ""
        while true {
            let counts = try await Self.counts(client)
            let done = counts[.completed, default: 0] + counts[.failed, default: 0] + counts[.cancelled, default: 0]
            let line = "progress: \(counts[.completed, default: 0]) completed, \(counts[.failed, default: 0]) failed, "
                + "\(counts[.running, default: 0]) running, \(counts[.pending, default: 0]) pending"
            if line != lastLine {
                print("[\(Self.format(ContinuousClock.now - started))] \(line)")
                lastLine = line
            }
            if !killed, done >= self.orders / 5, let victim = fleet.killable {
                try fleet.kill(victim)
                print("[\(Self.format(ContinuousClock.now - started))] killed \(victim) with SIGKILL")
                killed = true
            }
            if done >= self.orders { break }
            try await Task.sleep(for: .milliseconds(250))
        }

        let counts = try await Self.counts(client)
        let elapsed = ContinuousClock.now - started
        try await fleet.stop()
        print("")
        print("summary")
        print("  orders:     \(self.orders)")
        print("  completed:  \(counts[.completed, default: 0])")
        print("  failed:     \(counts[.failed, default: 0]) (declined cards and rejected approvals, compensated)")
        print("  takeovers:  \(try fleet.takeovers()) (work of a dead node claimed by another)")
        var perNode: [String: Int] = [:]
        var cursor: String?
        repeat {
            let page = try await client.list(InstanceQuery(statuses: [.completed], limit: 1_000, cursor: cursor))
            for instance in page.instances { perNode[instance.completedBy ?? "?", default: 0] += 1 }
            cursor = page.nextCursor
        } while cursor != nil
        for node in fleet.nodes {
            print("  \(node): \(perNode[node, default: 0]) orders completed\(node == fleet.killable ? " (killed)" : "")")
        }
        print("  elapsed:    \(Self.format(elapsed))")
        if let postgres {
            try await postgres.dropSchema()
            print("  dropped schema \(postgres.configuration.schema)")
        }
    }

    static func counts(_ client: DurableClient) async throws -> [InstanceStatus: Int] {
        var counts: [InstanceStatus: Int] = [:]
        var cursor: String?
        repeat {
            let page = try await client.list(InstanceQuery(limit: 1_000, cursor: cursor))
            for instance in page.instances { counts[instance.status, default: 0] += 1 }
            cursor = page.nextCursor
        } while cursor != nil
        return counts
    }

    static func format(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

/// The nodes of the demo, in processes or in this process.
protocol DemoFleet {
    var logDirectory: URL { get }
    /// The node to kill midway, if this fleet can kill one.
    var killable: String? { get }
    func kill(_ node: String) throws
    func stop() async throws
    func takeovers() throws -> Int
    var nodes: [String] { get }
}

final class ProcessFleet: DemoFleet {
    let logDirectory: URL
    private var processes: [(node: String, process: Process)] = []

    init(url: String, schema: String, count: Int, activityDelay: Int) throws {
        self.logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("durable-demo-\(schema)")
        try FileManager.default.createDirectory(at: self.logDirectory, withIntermediateDirectories: true)
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for n in 1...count {
            let node = "node-\(n)"
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "worker", "--database-url", url, "--schema", schema, "--node-id", node,
                "--heartbeat-milliseconds", "1000", "--activity-delay-milliseconds", "\(activityDelay)",
            ]
            let log = self.logDirectory.appendingPathComponent("\(node).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            self.processes.append((node, process))
        }
    }

    var killable: String? { self.processes.count > 1 ? self.processes[1].node : nil }

    func kill(_ node: String) throws {
        for entry in self.processes where entry.node == node {
            _ = Glibc.kill(entry.process.processIdentifier, SIGKILL)
        }
    }

    func stop() async throws {
        for entry in self.processes where entry.process.isRunning { entry.process.terminate() }
        for entry in self.processes { entry.process.waitUntilExit() }
    }

    private func log(_ node: String) throws -> String {
        try String(contentsOf: self.logDirectory.appendingPathComponent("\(node).log"), encoding: .utf8)
    }

    func takeovers() throws -> Int {
        try self.processes.reduce(0) { count, entry in
            count + (try self.log(entry.node)).split(separator: "\n").filter { $0.contains("taking over") }.count
        }
    }

    var nodes: [String] { self.processes.map(\.node) }
}

final class EmbeddedFleet: DemoFleet {
    let logDirectory = FileManager.default.temporaryDirectory
    private var runtimes: [(node: String, runtime: DurableRuntime, task: Task<Void, any Error>)] = []

    init(provider: any DurableProvider, count: Int, shop: Shop) throws {
        let registry = try Registry.shop(shop)
        for n in 1...count {
            let node = "node-\(n)"
            var logger = Logger(label: "durable.example") { _ in SwiftLogNoOpLogHandler() }
            logger.logLevel = .critical
            let runtime = DurableRuntime(provider: provider, registry: registry, configuration: .init(nodeID: node), logger: logger)
            self.runtimes.append((node, runtime, Task { try await runtime.run() }))
        }
    }

    var killable: String? { nil }

    func kill(_ node: String) throws {}

    func stop() async throws {
        for entry in self.runtimes { entry.runtime.beginShutdown() }
        for entry in self.runtimes { try await entry.task.value }
    }

    func takeovers() throws -> Int { 0 }

    var nodes: [String] { self.runtimes.map(\.node) }
}
