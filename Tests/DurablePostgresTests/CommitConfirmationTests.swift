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
    /// Makes the next commit that inserted into (or with `event` "UPDATE", updated) `table` fail,
    /// and only that one (the sequence restarts); returns how to read the commits tried since.
    static func failNextCommit(on table: String, schema: String, event: String = "INSERT") async throws -> @Sendable () async throws -> Int {
        try await PostgresTestDatabase.execute("CREATE SEQUENCE IF NOT EXISTS \(schema).commits")
        try await PostgresTestDatabase.execute("ALTER SEQUENCE \(schema).commits RESTART")
        try await PostgresTestDatabase.execute(
            """
            CREATE OR REPLACE FUNCTION \(schema).fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('\(schema).commits') = 1 THEN RAISE EXCEPTION 'the first commit fails'; END IF;
                RETURN NULL;
            END $$
            """
        )
        try await PostgresTestDatabase.execute(
            """
            CREATE CONSTRAINT TRIGGER fail_first_commit AFTER \(event) ON \(schema).\(table)
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(schema).fail_first_commit()
            """
        )
        return { try await PostgresTestDatabase.query("SELECT last_value FROM \(schema).commits")[0].decode(Int.self) }
    }

    @Test func aWriteWhoseCommitFailsAfterItsRowsArrivedIsRetried() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            let commits = try await Self.failNextCommit(on: "rate_limits", schema: schema)

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
            #expect(try await commits() == 2, "the failed commit and the retried one")
        }
    }

    /// The writes a client is told about: a start (through group commit) and a message, as plain
    /// statements. Through their procedures (as they go on a migrated schema), a commit that fails
    /// fails the call instead (`CommittingProcedureTests`).
    @Test func aStartAndAMessageWhoseCommitsFailedAreRetried() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            try await PostgresTestDatabase.execute("DROP PROCEDURE \(schema).\(CreateInstanceStatement.procedure.name)")
            _ = try await provider.createInstance(StartRequest(instanceID: "target", name: "Waits", version: "1.0.0", input: .null))
            let commits = try await Self.failNextCommit(on: "instances", schema: schema)

            #expect(try await provider.createInstance(StartRequest(instanceID: "started", name: "Waits", version: "1.0.0", input: .null)) == .created)
            #expect(try await provider.instance(id: "started") != nil, "the start that was reported exists")
            #expect(try await commits() == 2)

            try await PostgresTestDatabase.execute("DROP TRIGGER fail_first_commit ON \(schema).instances")
            try await PostgresTestDatabase.execute("DROP PROCEDURE \(schema).\(SendMessageStatement.procedure.name)")
            _ = try await Self.failNextCommit(on: "messages", schema: schema)
            try await provider.sendMessage(instanceID: "target", .eventRaised(name: "go", input: .null))
            let events = try await PostgresTestDatabase.query(
                "SELECT count(*)::int8 FROM \(schema).messages WHERE instance_id = 'target' AND kind LIKE '%go%'"
            )
            #expect(try events[0].decode(Int64.self) == 1, "the event that was reported sent is there, once")
            #expect(try await commits() == 2)
        }
    }

    /// A turn claim is not confirmed (`PostgresProvider.claim`): one whose commit failed after its
    /// rows arrived hands over a turn whose lease was never taken. That turn cannot commit; the
    /// instance is claimed again and goes on.
    @Test func aTurnFromAClaimThatRolledBackCannotCommit() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            let registry = try WakingTests.registry()
            let client = DurableClient(provider: provider)
            let id = try await client.start(PingOnce.self, input: 41)
            let commits = try await Self.failNextCommit(on: "instances", schema: schema, event: "UPDATE")

            let phantom = try #require(try await provider.claimOrchestrations(ClaimRequest(owner: "a#1", limit: 1)).items.first)
            #expect(try await commits() == 1, "the claim's commit failed")
            let engine = OrchestrationEngine(registry: registry)
            let turn = try engine.runTurn(instanceID: id, history: phantom.history, messages: phantom.messages.map(\.kind), now: phantom.claimedAt)
            let error = try await #require(throws: DurableError.self) {
                try await provider.commitTurn(phantom.lease, TurnCommit(consumedMessageIDs: phantom.messages.map(\.id), result: turn))
            }
            #expect(error.code == .leaseLost)
            #expect(try await client.history(instanceID: id).isEmpty, "the rejected turn wrote nothing")

            let claimed = try #require(try await provider.claimOrchestrations(ClaimRequest(owner: "b#1", limit: 1)).items.first)
            #expect(claimed.deliveryCount == phantom.deliveryCount, "the failed claim left no trace")
            let retried = try engine.runTurn(instanceID: id, history: claimed.history, messages: claimed.messages.map(\.kind), now: claimed.claimedAt)
            _ = try await provider.commitTurn(claimed.lease, TurnCommit(consumedMessageIDs: claimed.messages.map(\.id), result: retried))
            #expect(try await client.history(instanceID: id).count == retried.newEvents.count)
        }
    }

    /// A wait on a connection ends when the connection closes, even if its statement is never
    /// answered (PostgresNIO drops a statement written to a channel that has just closed).
    @Test func aConfirmationEndsWhenItsConnectionCloses() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let watch = ConnectionCloseWatch.shared
        try await watch.run(on: connection) {}
        let started = ContinuousClock.now
        let waiting = Task { try await watch.run(on: connection) { try await Task.sleep(for: .seconds(60)) } }
        try await Task.sleep(for: .milliseconds(50))
        try await connection.close()
        await #expect(throws: UnconfirmedCommit.self) { try await waiting.value }
        #expect(ContinuousClock.now - started < .seconds(30), "the close ended the wait, not the body")
        await #expect(throws: UnconfirmedCommit.self) { try await watch.run(on: connection) {} }
    }
}
