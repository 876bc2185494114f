import Durable
@testable import DurablePostgres
import PostgresNIO
import Testing

/// A statement's rows arrive before its transaction commits (PostgreSQL commits at the `Sync` after
/// `CommandComplete`, and PostgresNIO hands the rows over at `CommandComplete`). A commit that then
/// fails, as one whose backend is terminated at that moment does, must not leave a write taken as
/// done: the write is retried. A deferred constraint trigger makes the commit fail on purpose, the
/// first time only (a sequence counts the attempts, and a sequence is not rolled back).
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct CommitConfirmationTests {
    @Test func aWriteWhoseCommitFailsAfterItsRowsArrivedIsRetried() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            try await PostgresTestDatabase.execute("CREATE SEQUENCE \(schema).commits")
            try await PostgresTestDatabase.execute(
                """
                CREATE FUNCTION \(schema).fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('\(schema).commits') = 1 THEN RAISE EXCEPTION 'the first commit fails'; END IF;
                    RETURN NULL;
                END $$
                """
            )
            try await PostgresTestDatabase.execute(
                """
                CREATE CONSTRAINT TRIGGER fail_first_commit AFTER INSERT ON \(schema).rate_limits
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(schema).fail_first_commit()
                """
            )

            // Why: run as PostgresNIO runs it, the write's rows arrive and nothing reports the
            // failed commit. (Should this fail, PostgresNIO now waits for the commit, and
            // PostgresClient.write's confirmation could go.)
            let plain = try await provider.client.query(
                "INSERT INTO \(unescaped: schema).rate_limits (name, limit_count, interval_ms, burst) VALUES ('phantom', 1, 1000, 1) RETURNING name",
                logger: provider.logger
            ).collect()
            #expect(plain.count == 1, "the rows of a write whose commit failed")
            #expect(try await provider.rateLimits().isEmpty, "the write was rolled back")

            // The provider's writes wait for the commit: the failed one is retried.
            try await PostgresTestDatabase.execute("ALTER SEQUENCE \(schema).commits RESTART")
            try await provider.defineRateLimit(try RateLimit(name: "kept", limit: 5, per: .seconds(1)))
            #expect(try await provider.rateLimits().map(\.name) == ["kept"])
            let commits = try await PostgresTestDatabase.query("SELECT last_value FROM \(schema).commits")
            #expect(try commits.first?.decode(Int.self) == 2, "the failed commit and the retried one")
        }
    }
}
