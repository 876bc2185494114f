public import Durable
public import Logging

extension DurableClient {
    /// Runs `body` with a client of the Durable schema in the PostgreSQL database at `url`, as
    /// postgres-nio's `withConnection` runs a body with a connection: the client's connection pool
    /// runs for the length of the call and is closed before it returns, also when `body` throws.
    ///
    /// For a process that starts, signals and awaits instances without running them (a web server,
    /// a tool). The schema must have been migrated (workers do that, or `durable migrate`). A
    /// process that runs a worker has its runtime's ``DurableRuntime/client``, whose starts are
    /// eager.
    ///
    /// - Throws: `invalidInput` for a malformed URL or schema name; whatever `body` throws.
    public static func withPostgres<Result>(
        url: String,
        schema: String = "durable",
        logger: Logger = Logger(label: "durable.client") { _ in SwiftLogNoOpLogHandler() },
        _ body: (DurableClient) async throws -> Result
    ) async throws -> Result {
        let provider = PostgresProvider(configuration: try .init(url: url, schema: schema), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await provider.run() }
            defer { group.cancelAll() }
            return try await body(DurableClient(provider: provider))
        }
    }
}
