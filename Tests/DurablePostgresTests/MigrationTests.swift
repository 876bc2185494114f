import Durable
@testable import DurablePostgres
import Foundation
import NIOCore
import NIOPosix
import Testing

@Suite struct EmbeddedMigrationTests {
    @Test func embeddedMigrationsMatchTheFiles() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Migrations").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == Migration.embedded.count, "run scripts/embed-migrations")
        for (file, migration) in zip(files, Migration.embedded) {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            #expect(file == migration.name + ".sql")
            #expect(Migration.normalized(text) == Migration.normalized(migration.sql), "\(file) differs from its embedded copy: run scripts/embed-migrations")
        }
        #expect(Migration.embedded.map(\.version) == Array(1...Migration.embedded.count))
    }

    @Test func statementsSplitOutsideQuotesAndComments() {
        let migration = Migration(version: 1, name: "x", sql: "CREATE TABLE a (b text DEFAULT ';'); -- c; d\nSELECT 1;\n")
        #expect(migration.statements == ["CREATE TABLE a (b text DEFAULT ';')", "SELECT 1"])
    }

    @Test func functionBodiesAreOneStatement() {
        let body = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n    -- the key's row\n    RETURN 1;\nEND\n$$"
        let migration = Migration(version: 1, name: "x", sql: body + ";\nSELECT 'it''s';\n")
        #expect(migration.statements == [body, "SELECT 'it''s'"])
    }

    @Test func badURLsAreRejectedAtOnce() {
        for url in ["mysql://u@h/db", "postgres://h/db", "not a url", "postgres://u@/db", "postgres://u@h/db?sslmode=bogus"] {
            #expect(throws: DurableError.self, "\(url)") { try PostgresProvider.Configuration(url: url) }
        }
        #expect(throws: DurableError.self) { try PostgresProvider.Configuration(url: "postgres://u@h/db", schema: "Bad-Schema") }
        let parsed = try? PostgresProvider.Configuration(url: "postgresql://me:p%40ss@db.local:6543/app?sslmode=require")
        #expect(parsed?.host == "db.local" && parsed?.port == 6543 && parsed?.password == "p@ss" && parsed?.database == "app")
        // What can be logged never holds the password.
        #expect(parsed.map { "\($0)" } == "postgres://me:***@db.local:6543/app (schema durable)")
    }

    @Test func connectionsRunOnOneEventLoopUnlessGivenAGroup() throws {
        let configuration = try PostgresProvider.Configuration(url: "postgres://u@h/db")
        #expect(configuration.eventLoopGroup is any EventLoop, "by default one loop of NIO's shared group")
        let group = MultiThreadedEventLoopGroup.singleton
        let given = try PostgresProvider.Configuration(url: "postgres://u@h/db", eventLoopGroup: group)
        #expect(given.eventLoopGroup === group)
    }
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct MigrationTests {
    func provider(schema: String, url: String? = nil, connectTimeout: Duration = .seconds(10)) throws -> PostgresProvider {
        let configuration = try PostgresProvider.Configuration(url: url ?? PostgresTestDatabase.url!, schema: schema, connectTimeout: connectTimeout)
        return PostgresProvider(configuration: configuration, logger: PostgresTestDatabase.logger)
    }

    @Test func nodesStartingAtOnceMigrateOnce() async throws {
        let schema = PostgresTestDatabase.newSchema()
        defer { Task { try? await PostgresTestDatabase.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<5 {
                group.addTask { try await self.provider(schema: schema).migrate() }
            }
            var all: [Int] = []
            for try await versions in group { all += versions }
            return all
        }
        #expect(applied == Migration.embedded.map(\.version))
        try await self.provider(schema: schema).checkSchema()
    }

    @Test func aSchemaMigratedByANewerReleaseIsRefused() async throws {
        let schema = PostgresTestDatabase.newSchema()
        defer { Task { try? await PostgresTestDatabase.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
        try await self.provider(schema: schema).migrate()
        try await PostgresTestDatabase.execute("INSERT INTO \(schema).durable_migrations (version, name, checksum) VALUES (999, '0999_future', 'x')")
        let error = try await #require(throws: DurableError.self) { try await self.provider(schema: schema).migrate() }
        #expect(error.code == .migration)
        #expect(error.message.contains("newer release"))
        await #expect(throws: DurableError.self) { try await self.provider(schema: schema).checkSchema() }
    }

    @Test func aChangedMigrationIsRefused() async throws {
        let schema = PostgresTestDatabase.newSchema()
        defer { Task { try? await PostgresTestDatabase.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
        try await self.provider(schema: schema).migrate()
        try await PostgresTestDatabase.execute("UPDATE \(schema).durable_migrations SET checksum = 'edited' WHERE version = 1")
        let error = try await #require(throws: DurableError.self) { try await self.provider(schema: schema).migrate() }
        #expect(error.code == .migration)
        #expect(error.message.contains("was changed after it was applied"))
    }

    @Test func anUnmigratedSchemaIsReported() async throws {
        let error = try await #require(throws: DurableError.self) { try await self.provider(schema: PostgresTestDatabase.newSchema()).checkSchema() }
        #expect(error.code == .migration)
        #expect(error.message.contains("apply the migrations first"))
    }

    @Test func anUnreachableServerFailsFastWithAClearError() async throws {
        let started = ContinuousClock.now
        let error = try await #require(throws: DurableError.self) {
            try await self.provider(schema: "durable", url: "postgres://durable:durable@127.0.0.1:1/durable", connectTimeout: .seconds(3)).migrate()
        }
        #expect(error.code == .storage)
        #expect(error.message.contains("127.0.0.1:1"))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aWrongPasswordIsReportedAsSuch() async throws {
        let url = PostgresTestDatabase.url!.replacingOccurrences(of: "durable:durable@", with: "durable:wrong-password@")
        let error = try await #require(throws: DurableError.self) { try await self.provider(schema: "durable", url: url).migrate() }
        #expect(error.code == .storage)
        #expect(error.message.contains("refused the login"), "\(error)")
    }

    @Test func missingPrivilegesAreReportedAsSuch() async throws {
        let role = "limited_" + PostgresTestDatabase.newSchema()
        try await PostgresTestDatabase.execute("CREATE ROLE \(role) LOGIN PASSWORD 'limited'")
        defer { Task { try? await PostgresTestDatabase.execute("DROP ROLE IF EXISTS \(role)") } }
        try await PostgresTestDatabase.execute("REVOKE CREATE ON DATABASE durable FROM PUBLIC")
        let url = PostgresTestDatabase.url!.replacingOccurrences(of: "durable:durable@", with: "\(role):limited@")
        let error = try await #require(throws: DurableError.self) { try await self.provider(schema: PostgresTestDatabase.newSchema(), url: url).migrate() }
        #expect(error.code == .storage)
        #expect(error.message.contains("permission denied"), "\(error)")
    }
}
