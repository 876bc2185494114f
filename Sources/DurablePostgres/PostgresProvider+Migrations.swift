import Durable
import Logging
import PostgresNIO

extension PostgresProvider {
    /// Applies pending migrations in order, each in its own transaction, under an advisory lock so
    /// that nodes starting at once do not race. Returns the versions applied.
    ///
    /// - Throws: `migration` when an applied file has changed since or the database was migrated by
    ///   a newer release; `storage` with a clear reason when the database cannot be reached or used.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await self.withMigrationConnection { connection in
            let lockKey = "durable:\(self.configuration.schema)"
            try await connection.query("SELECT pg_advisory_lock(hashtext(\(lockKey)))", logger: self.logger)
            do {
                let applied = try await self.applyPending(connection)
                try await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: self.logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: self.logger)
                throw error
            }
        }
    }

    /// Whether this provider can serve a runtime now: the database answers on a pooled connection
    /// and the schema is at this release's version. Cheap enough for a readiness probe.
    ///
    /// - Throws: a `storage` error when the database does not answer within 2 s, a `migration`
    ///   error when the schema is behind or ahead.
    public func checkReadiness() async throws {
        let latest = Migration.embedded.last?.version ?? 0
        let version = try await self.withRetry("checking readiness", statement: "check_readiness", deadline: .seconds(2)) {
            let rows = try await self.client.query("SELECT max(version) FROM durable_migrations", logger: self.logger)
            for try await version in rows.decode(Int?.self) { return version ?? 0 }
            return 0
        }
        guard version == latest else {
            throw DurableError(.migration, "schema '\(self.configuration.schema)' is at version \(version), this release needs \(latest)")
        }
    }

    /// Checks that the schema is migrated to exactly this release's version, without changing it.
    public func checkSchema() async throws {
        try await self.withMigrationConnection { connection in
            let applied = try await self.appliedMigrations(connection)
            try self.verify(applied)
            let latest = Migration.embedded.last?.version ?? 0
            guard applied.keys.max() == latest else {
                throw DurableError(
                    .migration,
                    "schema '\(self.configuration.schema)' is at version \(applied.keys.max() ?? 0), this release needs \(latest); apply the migrations first (PostgresProvider.migrate(), or a worker started with --migrate)"
                )
            }
        }
    }

    /// Deletes the schema and everything in it. For throwaway schemas (demos, tests) only.
    public func dropSchema() async throws {
        _ = try await self.withMigrationConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(self.configuration.schema) CASCADE"), logger: self.logger)
        }
    }

    private func withMigrationConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                on: self.configuration.eventLoopGroup.next(),
                configuration: try self.configuration.connectionConfiguration(),
                id: 1,
                logger: self.logger
            )
        } catch {
            throw Self.storageError(error, action: "connecting to \(self.configuration.host):\(self.configuration.port)")
        }
        defer { Task { try? await connection.close() } }
        do {
            return try await body(connection)
        } catch let error as DurableError {
            throw error
        } catch {
            throw Self.storageError(error, action: "migrating schema '\(self.configuration.schema)'")
        }
    }

    private func appliedMigrations(_ connection: PostgresConnection) async throws -> [Int: (name: String, checksum: String)] {
        let exists = try await connection.query(
            "SELECT to_regclass(\(self.configuration.schema + ".durable_migrations")) IS NOT NULL",
            logger: self.logger
        )
        var found = false
        for try await value in exists.decode(Bool.self) { found = value }
        guard found else { return [:] }
        var applied: [Int: (String, String)] = [:]
        let rows = try await connection.query("SELECT version, name, checksum FROM durable_migrations", logger: self.logger)
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            applied[version] = (name, checksum)
        }
        return applied
    }

    private func verify(_ applied: [Int: (name: String, checksum: String)]) throws {
        let known = Dictionary(uniqueKeysWithValues: Migration.embedded.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw DurableError(
                    .migration,
                    "schema '\(self.configuration.schema)' has migration \(version) (\(record.name)) that this release does not know: it was migrated by a newer release; run that release or a newer one"
                )
            }
            guard migration.checksum == record.checksum else {
                throw DurableError(
                    .migration,
                    "migration \(version) (\(migration.name)) was changed after it was applied to schema '\(self.configuration.schema)' (checksum \(record.checksum), now \(migration.checksum)); never edit an applied migration, add a new one"
                )
            }
        }
    }

    private func applyPending(_ connection: PostgresConnection) async throws -> [Int] {
        let schema = self.configuration.schema
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: self.logger)
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS durable_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: self.logger
        )
        let applied = try await self.appliedMigrations(connection)
        try self.verify(applied)
        var done: [Int] = []
        for migration in Migration.embedded where applied[migration.version] == nil {
            try await connection.query("BEGIN", logger: self.logger)
            do {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO durable_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: self.logger
                )
                try await connection.query("COMMIT", logger: self.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
            self.logger.info("applied migration", metadata: ["durable.migration": .string(migration.name), "durable.schema": .string(schema)])
            done.append(migration.version)
        }
        try await self.createProcedures(connection)
        return done
    }

    /// Creates the ``CommittingProcedure``s of this release that the schema lacks. One that exists
    /// is the same: its name holds its text's checksum.
    private func createProcedures(_ connection: PostgresConnection) async throws {
        let schema = self.configuration.schema
        for procedure in CommittingProcedure.all {
            let existing = try await connection.query(
                "SELECT count(*)::int8 FROM pg_proc WHERE proname = \(procedure.name) AND pronamespace = \(schema)::regnamespace",
                logger: self.logger
            ).collect()
            guard try existing[0].decode(Int64.self) == 0 else { continue }
            try await procedure.prepare(connection, self.logger)
            let types = try await connection.query(
                """
                SELECT coalesce(array_agg(t::text ORDER BY n), '{}') FROM pg_prepared_statements, unnest(parameter_types) WITH ORDINALITY u(t, n)
                WHERE name = \(procedure.preparedName)
                """,
                logger: self.logger
            ).collect()[0].decode([String].self)
            guard types.count == procedure.parameterCount else {
                throw DurableError(.migration, "could not prepare the statement of procedure \(procedure.name) in schema '\(schema)' to learn its parameters' types")
            }
            try await connection.query(PostgresQuery(unsafeSQL: procedure.definition(parameterTypes: types)), logger: self.logger)
            self.logger.info("created procedure", metadata: ["durable.procedure": .string(procedure.name), "durable.schema": .string(schema)])
        }
    }
}
