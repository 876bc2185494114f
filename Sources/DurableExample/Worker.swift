import ArgumentParser
import Durable
import DurableCommands
import DurablePostgres
import Foundation
import Logging
import ServiceLifecycle

/// A worker node: runs the shop's orchestrations and activities against PostgreSQL until SIGTERM or
/// SIGINT, then shuts down gracefully.
struct Worker: WorkerCommand {
    static let configuration = CommandConfiguration(abstract: "Run a worker node against PostgreSQL.")

    @Option(help: "The database URL (or DURABLE_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The schema holding Durable's tables (or DURABLE_SCHEMA).")
    var schema = ProcessInfo.processInfo.environment["DURABLE_SCHEMA"] ?? "durable"

    @Option(help: "This node's id (or DURABLE_NODE_ID; default <host>-<pid>); keep it stable across restarts so the node reclaims its own work at once.")
    var nodeID = ProcessInfo.processInfo.environment["DURABLE_NODE_ID"]
        ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    @Option(help: "Turns processed at once (or DURABLE_ORCHESTRATION_CONCURRENCY).")
    var orchestrationConcurrency = ProcessInfo.processInfo.environment["DURABLE_ORCHESTRATION_CONCURRENCY"].flatMap(Int.init) ?? 256

    @Option(help: "Activities run at once (or DURABLE_ACTIVITY_CONCURRENCY).")
    var activityConcurrency = ProcessInfo.processInfo.environment["DURABLE_ACTIVITY_CONCURRENCY"].flatMap(Int.init) ?? 32

    @Option(help: "A task queue this node takes activities from, as NAME=CONCURRENCY; repeat for more (default: the default queue with --activity-concurrency).")
    var activityQueue: [String] = []

    @Option(help: "A task queue this node takes turns from; repeat for more (default: the default queue).")
    var orchestrationQueue: [String] = []

    // Swift's pool by default: swift-otel's OTLP/HTTP exporter shuts its HTTP client down
    // synchronously when released, which stops the process on an event loop.
    @Option(help: "What runs the process's tasks: swift (the default pool) or event-loops (NIO's: fewer threads and hops, for several workers on few cores; not with OTLP export).")
    var executor = WorkerExecutor.swift

    @Option(help: "Heartbeat interval in milliseconds.")
    var heartbeatMilliseconds = 10_000

    @Option(help: "Lease duration in milliseconds.")
    var leaseMilliseconds = 30_000

    @Option(help: "How long each activity pretends to work, in milliseconds.")
    var activityDelayMilliseconds = 50

    @Flag(help: "Apply pending migrations before starting.")
    var migrate = false

    @Option(help: "The shop release this node runs: v1 (ProcessOrder 1.0.0) or v2 (1.0.0 and 2.0.0).")
    var release: Release = .v2

    @Flag(inversion: .prefixedNo, help: "Claim only work this node has handlers for.")
    var capabilityClaims = true

    @Option(help: "Base of the backoff for work this node has no handler for, in milliseconds.")
    var missingHandlerBackoffMilliseconds = 1_000

    @Option(help: "Cap of that backoff, in milliseconds.")
    var missingHandlerBackoffCapMilliseconds = 60_000

    @Option(help: "Serve /metrics, /health/live and /health/ready on this port (or DURABLE_HTTP_PORT); none when unset.")
    var httpPort: Int?

    @Option(help: "The address those endpoints listen on.")
    var httpHost = "0.0.0.0"

    func validate() throws {
        if self.executor == .eventLoops, ProcessInfo.processInfo.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil {
            throw ValidationError("--executor event-loops cannot run with OTLP export (OTEL_EXPORTER_OTLP_ENDPOINT is set): swift-otel's exporter stops the process when it is released on an event loop")
        }
    }

    func run() async throws {
        let logger = ExampleLogging.makeLogger(label: "durable.example.worker")
        let url = try requireDatabaseURL(self.databaseURL)
        // The executable owns the bootstrap; the libraries are handed the factory and tracer.
        let telemetry = try Telemetry.bootstrap(serviceName: ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"] ?? "durable-worker")
        let provider = PostgresProvider(
            configuration: try .init(url: url, schema: self.schema, leaseDuration: .milliseconds(self.leaseMilliseconds)),
            logger: logger,
            metricsFactory: telemetry.metricsFactory
        )
        let registry = try Registry.shop(Shop(workDelay: .milliseconds(self.activityDelayMilliseconds)), release: self.release)
        var queues: [String: Int] = [:]
        for entry in self.activityQueue {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let concurrency = Int(parts[1]), concurrency > 0 else {
                throw ValidationError("--activity-queue takes NAME=CONCURRENCY (a positive number), not '\(entry)'")
            }
            queues[String(parts[0])] = concurrency
        }
        let runtime = DurableRuntime(
            provider: provider,
            registry: registry,
            configuration: .init(
                nodeID: self.nodeID,
                orchestrationConcurrency: self.orchestrationConcurrency,
                activityConcurrency: self.activityConcurrency,
                leaseRenewalInterval: .milliseconds(self.leaseMilliseconds / 3),
                missingHandlerBackoffBase: .milliseconds(self.missingHandlerBackoffMilliseconds),
                missingHandlerBackoffCap: .milliseconds(self.missingHandlerBackoffCapMilliseconds),
                capabilityAwareClaims: self.capabilityClaims,
                heartbeatInterval: .milliseconds(self.heartbeatMilliseconds),
                buildVersion: "example-\(self.release.rawValue)",
                activityQueues: queues.isEmpty ? nil : queues,
                orchestrationQueues: self.orchestrationQueue.isEmpty ? [TaskQueue.defaultName] : self.orchestrationQueue
            ),
            logger: logger,
            tracer: telemetry.tracer,
            metricsFactory: telemetry.metricsFactory
        )
        // Migrations use a connection of their own: done before anything else starts, so a node
        // never runs against a schema it cannot use.
        if self.migrate {
            try await provider.migrate()
        } else {
            try await provider.checkSchema()
        }
        logger.info("worker starting", metadata: ["durable.executor": .string(WorkerExecutor.current.rawValue)])
        // Started in order and stopped in reverse: the exporters outlive the runtime and flush.
        var services = telemetry.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        services += [.init(service: provider), .init(service: runtime)]
        if let port = self.httpPort ?? ProcessInfo.processInfo.environment["DURABLE_HTTP_PORT"].flatMap(Int.init) {
            let server = ObservabilityServer.make(
                host: self.httpHost, port: port, registry: telemetry.prometheus, provider: provider, runtime: runtime, logger: logger
            )
            services.append(.init(service: server))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

enum ExampleLogging {
    static func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}

extension Release: ExpressibleByArgument {}

/// Applies pending migrations and exits: the one-shot step before a fleet starts.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")

    @Option(help: "The database URL (or DURABLE_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The schema holding Durable's tables (or DURABLE_SCHEMA).")
    var schema = ProcessInfo.processInfo.environment["DURABLE_SCHEMA"] ?? "durable"

    func run() async throws {
        let logger = ExampleLogging.makeLogger(label: "durable.example.migrate")
        let url = try requireDatabaseURL(self.databaseURL)
        let provider = PostgresProvider(configuration: try .init(url: url, schema: self.schema), logger: logger)
        let applied = try await provider.migrate()
        print(applied.isEmpty ? "schema \(self.schema) is up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", ")) to schema \(self.schema)")
    }
}
