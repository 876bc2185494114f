import DurableCommands
import ArgumentParser
import Durable
import DurablePostgres
import Foundation
import Logging
import ServiceLifecycle

/// A worker process with the bench's workloads registered, for `durable bench --processes K`: the
/// deployment shape (separate worker processes, a separate client) rather than in-process runtimes.
/// Runs until SIGTERM, then shuts down gracefully.
struct BenchWorker: WorkerCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-worker",
        abstract: "Run one worker process of the benchmark's workloads (started by `durable bench --processes`).",
        shouldDisplay: false
    )

    @Option(help: "The database URL (or DURABLE_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The schema the bench created.")
    var schema: String

    @Option(help: "This node's id.")
    var nodeID: String

    @Option var orchestrationConcurrency = 256
    @Option var activityConcurrency = 128
    @Option var stickyCache = 1000

    @Option(help: "What runs the process's tasks: event-loops (NIO's) or swift (the default pool).")
    var executor = WorkerExecutor.eventLoops

    func run() async throws {
        let url = try requireDatabaseURL(self.databaseURL)
        let logger = Logger(label: "durable.bench.worker") { _ in SwiftLogNoOpLogHandler() }
        let provider = PostgresProvider(configuration: try .init(url: url, schema: self.schema, maxConnections: 16), logger: logger)
        let runtime = DurableRuntime(
            provider: provider,
            registry: try Registry.bench(),
            configuration: .init(
                nodeID: self.nodeID,
                orchestrationConcurrency: self.orchestrationConcurrency,
                activityConcurrency: self.activityConcurrency,
                stickyCacheCapacity: self.stickyCache
            ),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: provider), .init(service: runtime)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
