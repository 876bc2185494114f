public import Durable
import Foundation
public import Logging
public import Metrics
import NIOCore
import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// The production provider: several runtime processes share one PostgreSQL schema through it.
///
/// It is a ServiceLifecycle `Service`: run it (it runs its connection pool and its LISTEN
/// connection) before the runtimes that use it, and call ``migrate()`` once at startup.
///
/// - Claims use `FOR UPDATE SKIP LOCKED` and bump a per-row epoch; every write made for a claim is
///   conditional on that epoch.
/// - Every time comes from the database clock (`now()`).
/// - A transaction that makes work visible now sends one `NOTIFY` on the schema's channel; a
///   dedicated connection LISTENs, reconnects with backoff and wakes every subscriber after each
///   (re)connect, because notifications sent while it was down are lost.
public final class PostgresProvider: DurableProvider, Service {
    public let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    let metrics: MetricHandles
    let hub = NotificationHub()
    let started = StartGate()
    /// Turn commits and starts, grouped into shared transactions when they arrive together.
    let commits: GroupCommit<CommitTurnStatement>
    let starts: GroupCommit<CreateInstanceStatement>
    /// The ``CommittingProcedure``s this schema lacks, if any.
    let procedures = ProcedureAvailability()
    /// The database's clock minus this machine's, in seconds, as a start last read it
    /// (``databaseNow``): the clock of a first turn computed before its start is written.
    let databaseClockOffset = Mutex<TimeInterval?>(nil)
    /// The LISTEN connections asked for by subscribers, started by `run()`.
    let listening = Mutex<Set<ListenGroup>>([])
    let listenRequests = AsyncStream.makeStream(of: ListenGroup.self)

    /// - Parameter metricsFactory: where statement metrics go (docs/observability.md); defaults to
    ///   the bootstrapped `MetricsSystem`.
    public init(configuration: Configuration, logger: Logger, metricsFactory: (any MetricsFactory)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = MetricHandles(factory: metricsFactory ?? MetricsSystem.factory, fixed: [])
        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: configuration.clientTLS
        )
        clientConfiguration.options.maximumConnections = configuration.maxConnections
        // No keep-alive queries: an idle node should cost the database (almost) nothing. Two
        // connections stay open (an idle node's heartbeats and polls use them); the others are
        // closed after 10 s idle and reopened on demand.
        clientConfiguration.options.keepAliveBehavior = nil
        clientConfiguration.options.minimumConnections = 2
        // Not PostgresNIO's minute: the pool arms an idle timer every time a connection beyond the
        // minimum goes back idle, a `Task.sleep` whose timer stays allocated until its deadline even
        // once the next lease cancelled it. A busy node released connections ~1,000 times a second,
        // so a minute of cancelled timers held ~40 MB (the soak workload, docs/performance.md,
        // session 21).
        clientConfiguration.options.connectionIdleTimeout = .seconds(10)
        clientConfiguration.options.connectTimeout = configuration.connectTimeout
        // Every pooled connection works in the configured schema, with plans that keep to the indexes.
        clientConfiguration.options.additionalStartupParameters = [("search_path", configuration.schema)] + Configuration.plannerSettings
        self.client = PostgresClient(configuration: clientConfiguration, eventLoopGroup: configuration.eventLoopGroup, backgroundLogger: logger)
        self.commits = GroupCommit(client: self.client, procedures: self.procedures, logger: logger, deadline: statementDeadline(lease: configuration.leaseDuration))
        self.starts = GroupCommit(client: self.client, procedures: self.procedures, logger: logger, deadline: statementDeadline(lease: configuration.leaseDuration))
    }

    /// Runs the connection pool and the LISTEN connections subscribers ask for, until cancelled or
    /// shut down.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Waiting queries resume asynchronously, after run() has begun.
                    self.started.open()
                    await self.client.run()
                }
                for await listenGroup in self.listenRequests.stream {
                    group.addTask { await self.listen(listenGroup) }
                }
            }
        }
    }

    var leaseSeconds: Double {
        self.configuration.leaseDuration.seconds
    }

    // MARK: Plumbing

    /// Runs `body`, retrying transient failures (serialization failures, deadlocks, dropped
    /// connections) with bounded backoff; other failures become typed errors. `deadline` bounds
    /// each attempt: by default the one for work that holds a lease (``statementDeadline(lease:)``);
    /// reads and operator actions, which hold none, pass a longer one.
    /// `statement` names the statement in metrics and logs (a fixed name; `action` may hold ids).
    func withRetry<T: Sendable>(
        _ action: String,
        statement: String,
        deadline: Duration? = nil,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let deadline = deadline ?? statementDeadline(lease: self.configuration.leaseDuration)
        let duration = self.metrics.timer("durable_statement_duration_seconds", [("statement", statement)])
        // Queries wait until run() started the pool (they would be queued anyway, with a warning).
        await self.started.wait()
        var attempt = 0
        while true {
            attempt += 1
            let started = ContinuousClock.now
            do {
                let value = try await withStatementDeadline(deadline, body)
                duration.record(duration: ContinuousClock.now - started)
                return value
            } catch let error as DurableError {
                duration.record(duration: ContinuousClock.now - started)
                throw error
            } catch {
                duration.record(duration: ContinuousClock.now - started)
                let failure = Self.retryFailure(error)
                if case .retry(let delay) = StatementRetryPolicy().decision(after: attempt, failure), !Task.isCancelled {
                    self.metrics.counter("durable_statement_retries_total", [("statement", statement)]).increment()
                    self.logger.debug(
                        "transient database error; retrying",
                        metadata: ["durable.statement": .string(statement), "durable.action": .string(action), "error": "\(Self.describe(error))"]
                    )
                    try await Task.sleep(for: delay)
                    continue
                }
                self.metrics.counter("durable_statement_failures_total", [("statement", statement), ("sqlstate", failure.sqlState ?? "none")]).increment()
                throw Self.storageError(error, action: action)
            }
        }
    }

    /// Runs `body` in a transaction, retried like any statement. With `customPlans`, its statements
    /// are planned for their values, as PostgreSQL does by default: for reads whose best plan depends
    /// on which of their optional filters are given (a page of one status by id, a purge of a few
    /// ids); the pool's connections otherwise take generic plans (``Configuration/plannerSettings``).
    func transaction<T: Sendable>(
        _ action: String,
        statement: String,
        deadline: Duration? = nil,
        customPlans: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await self.withRetry(action, statement: statement, deadline: deadline) {
            try await self.client.withConnection { connection in
                try await connection.query("BEGIN", logger: self.logger)
                do {
                    if customPlans { try await connection.query("SET LOCAL plan_cache_mode = auto", logger: self.logger) }
                    let value = try await body(connection)
                    try await connection.query("COMMIT", logger: self.logger)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
        }
    }

    /// A database error as an operator can act on it: the server's SQLSTATE and message, or what
    /// failed on the connection; never PostgresNIO's generic description, never bound values.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let state = error.serverInfo?[.sqlState] {
            return "SQLSTATE \(state): \(error.serverInfo?[.message] ?? "(no message)")"
        }
        return "\(error.code)" + (error.underlying.map { " (\($0))" } ?? "")
    }

    /// What a database error was, for ``StatementRetryPolicy``.
    static func retryFailure(_ error: any Error) -> StatementRetryPolicy.Failure {
        if error is StatementDeadlineExceeded || error is UnconfirmedCommit { return .connectionLost }
        guard let error = error as? PSQLError else { return .other }
        switch error.code {
        case .clientClosedConnection, .poolClosed:
            return .notSent
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return .connectionLost
        case .server:
            return .server(sqlState: error.serverInfo?[.sqlState] ?? "")
        default:
            return .other
        }
    }

    /// A database error as one clear sentence.
    static func storageError(_ error: any Error, action: String) -> DurableError {
        guard let error = error as? PSQLError else {
            return DurableError(.storage, "\(action) failed: \(error)")
        }
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        switch state {
        case "28P01", "28000":
            return DurableError(.storage, "\(action) failed: the database refused the login (\(message)); check the user and password in the URL")
        case "42501":
            return DurableError(.storage, "\(action) failed: permission denied (\(message)); the user needs CREATE on the database and USAGE on the schema")
        case "3D000":
            return DurableError(.storage, "\(action) failed: \(message); create the database or fix its name in the URL")
        case "42P01":
            return DurableError(.migration, "\(action) failed: \(message); apply the migrations first (PostgresProvider.migrate(), or a worker started with --migrate)")
        default:
            break
        }
        switch error.code {
        case .connectionError, .serverClosedConnection:
            return DurableError(.storage, "\(action) failed: cannot reach the database (\(error.underlying.map { "\($0)" } ?? "\(error.code)"))")
        default:
            return DurableError(.storage, "\(action) failed: \(message)\(state.isEmpty ? "" : " (SQLSTATE \(state))")")
        }
    }

    static func leaseLost(_ lease: Lease, what: String) -> DurableError {
        DurableError(.leaseLost, "the \(what) lease \(lease) of '\(lease.owner)' is no longer current", instanceID: lease.id)
    }
}
