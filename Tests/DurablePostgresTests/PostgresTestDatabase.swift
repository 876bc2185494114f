import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Gives each test its own schema in the database named by DURABLE_TEST_DATABASE_URL, and drops it
/// afterwards.
enum PostgresTestDatabase {
    static let url = ProcessInfo.processInfo.environment["DURABLE_TEST_DATABASE_URL"]
    static var isAvailable: Bool { url != nil }

    /// Silent unless DURABLE_TEST_LOG names a level (e.g. `debug`), for looking into a failure.
    static let logger: Logger = {
        guard let level = ProcessInfo.processInfo.environment["DURABLE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) else {
            return Logger(label: "durable.postgres.test") { _ in SwiftLogNoOpLogHandler() }
        }
        var logger = Logger(label: "durable.postgres.test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }()

    /// A running provider in a fresh, migrated schema.
    final class Instance: Sendable {
        let provider: PostgresProvider
        let task: Task<Void, any Error>
        let schema: String

        init(schema: String, leaseDuration: Duration, maxConnections: Int = 4, connectTimeout: Duration = .seconds(10)) async throws {
            self.schema = schema
            let configuration = try PostgresProvider.Configuration(
                url: PostgresTestDatabase.url!,
                schema: schema,
                leaseDuration: leaseDuration,
                maxConnections: maxConnections,
                connectTimeout: connectTimeout
            )
            let provider = PostgresProvider(configuration: configuration, logger: PostgresTestDatabase.logger)
            self.provider = provider
            self.task = Task { try await provider.run() }
            try await provider.migrate()
        }

        func stop() async {
            self.task.cancel()
            _ = try? await self.task.value
        }
    }

    static func newSchema() -> String {
        "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// Runs `body` with a factory of providers, each in its own schema; stops them and drops the
    /// schemas afterwards.
    static func withFactory<T>(_ body: (@escaping ProviderConformance.Factory) async throws -> T) async throws -> T {
        let created = Mutex<[Instance]>([])
        let factory: ProviderConformance.Factory = { leaseDuration in
            let instance = try await Instance(schema: newSchema(), leaseDuration: leaseDuration)
            created.withLock { $0.append(instance) }
            return instance.provider
        }
        defer {
            let instances = created.withLock { $0 }
            Task { await cleanUp(instances) }
        }
        let result = try await body(factory)
        await cleanUp(created.withLock { $0 })
        created.withLock { $0 = [] }
        return result
    }

    static func cleanUp(_ instances: [Instance]) async {
        for instance in instances {
            await instance.stop()
            try? await execute("DROP SCHEMA IF EXISTS \(instance.schema) CASCADE")
        }
    }

    /// Runs one statement on a connection of its own.
    static func execute(_ sql: String) async throws {
        _ = try await query(sql)
    }

    static func query(_ sql: String) async throws -> [PostgresRow] {
        let connection = try await connect()
        defer { Task { try? await connection.close() } }
        return try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
    }

    /// A connection of its own to the test database; the caller closes it.
    static func connect() async throws -> PostgresConnection {
        let configuration = try PostgresProvider.Configuration(url: url!)
        return try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: configuration.host,
                port: configuration.port,
                username: configuration.username,
                password: configuration.password,
                database: configuration.database,
                tls: .disable
            ),
            id: 99,
            logger: logger
        )
    }
}
