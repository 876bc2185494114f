import Durable
@testable import DurablePostgres
@testable import DurableTesting
import Foundation
import PostgresNIO
import Testing

/// The hot writes (a start with its first turn, a turn commit) go through procedures that commit
/// before they answer (``CommittingProcedure``). They must leave the rows the plain statements
/// leave, report a failed commit as a failure, and give way to the plain statements on a schema
/// that has no procedures.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct CommittingProcedureTests {
    static func procedures(in schema: String) async throws -> [String] {
        try await PostgresTestDatabase.query(
            "SELECT proname::text FROM pg_proc WHERE pronamespace = '\(schema)'::regnamespace AND prokind = 'p' ORDER BY proname"
        ).map { try $0.decode(String.self) }
    }

    static func request(_ id: String) throws -> StartRequest {
        StartRequest(instanceID: id, name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in"))
    }

    /// A start with its first turn, then the commit of a claimed turn, under `id`.
    static func startAndCommit(_ provider: PostgresProvider, _ id: String) async throws {
        let (started, first) = try await provider.createInstance(try Self.request(id), claimingFirstTurnFor: "starter") { FirstTurnStartTests.turn($0) }
        #expect(started == .created)
        guard case .committed = first else {
            Issue.record("the first turn was not committed with the start: \(first)")
            return
        }
        let (_, claimed) = try await provider.createInstance(try Self.request(id + "-claimed"), claimingFirstTurnFor: "starter")
        let item = try #require(claimed)
        let prefetched = try await provider.commitTurn(item.lease, FirstTurnStartTests.turn(item))
        #expect(prefetched.map(\.request.operationID) == [1])
    }

    @Test func migrateCreatesTheProceduresOnce() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            let names = CommittingProcedure.all.map(\.name).sorted()
            #expect(try await Self.procedures(in: schema) == names)
            #expect(try await provider.migrate().isEmpty)
            #expect(try await Self.procedures(in: schema) == names, "a second migrate leaves them as they are")
        }
    }

    @Test func theProceduresLeaveTheRowsThePlainStatementsLeave() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            try await Self.startAndCommit(provider, "called")
            #expect(provider.procedures.procedureCalls == 3, "the two starts and the commit went through their procedures")
            _ = try await provider.createInstance(try Self.request("called-plain"))
            #expect(provider.procedures.procedureCalls == 4, "and so did a plain start")
            try await provider.sendMessage(instanceID: "called-plain", .eventRaised(name: "go", input: .null))
            #expect(provider.procedures.procedureCalls == 5, "and a message")
            let unknown = try await #require(throws: DurableError.self) {
                try await provider.sendMessage(instanceID: "nobody", .eventRaised(name: "go", input: .null))
            }
            #expect(unknown.code == .instanceNotFound)

            for procedure in CommittingProcedure.all {
                try await PostgresTestDatabase.execute("DROP PROCEDURE \(schema).\(procedure.name)")
            }
            try await Self.startAndCommit(provider, "plain")
            _ = try await provider.createInstance(try Self.request("plain-plain"))
            try await provider.sendMessage(instanceID: "plain-plain", .eventRaised(name: "go", input: .null))
            #expect(provider.procedures.procedureCalls == 6, "without them, the plain statements wrote")
            for procedure in CommittingProcedure.all { #expect(!provider.procedures.isAvailable(procedure)) }

            #expect(try await FirstTurnStartTests.rows(schema, "called").count == 4)
            #expect(try await FirstTurnStartTests.rows(schema, "called") == FirstTurnStartTests.rows(schema, "plain"))
            #expect(try await FirstTurnStartTests.rows(schema, "called-claimed") == FirstTurnStartTests.rows(schema, "plain-claimed"))
            #expect(try await FirstTurnStartTests.rows(schema, "called-plain") == FirstTurnStartTests.rows(schema, "plain-plain"))
            let startMessages = try await PostgresTestDatabase.query(
                "SELECT count(*)::int8 FROM \(schema).messages WHERE instance_id IN ('called-plain', 'plain-plain') AND kind LIKE '%executionStarted%'"
            )
            #expect(try startMessages[0].decode(Int64.self) == 2, "each plain start wrote its start message")
            let events = try await PostgresTestDatabase.query(
                "SELECT count(*)::int8 FROM \(schema).messages WHERE instance_id IN ('called-plain', 'plain-plain') AND kind LIKE '%go%'"
            )
            #expect(try events[0].decode(Int64.self) == 2, "each message was written once")
        }
    }

    /// The procedure's `COMMIT` fails (a deferred constraint trigger, the first time only): the
    /// call fails with it and nothing was written, where a plain statement's rows would have
    /// arrived (`CommitConfirmationTests`). The turn's lease still holds: committed again, it lands.
    @Test func aCommitThatFailsInTheProcedureFailsTheWrite() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            let (_, claimed) = try await provider.createInstance(try Self.request("claimed"), claimingFirstTurnFor: "starter")
            let item = try #require(claimed)
            let calls = provider.procedures.procedureCalls
            let commits = try await CommitConfirmationTests.failNextCommit(on: "history", schema: schema)

            let error = try await #require(throws: DurableError.self) {
                try await provider.commitTurn(item.lease, FirstTurnStartTests.turn(item))
            }
            #expect(error.message.contains("the first commit fails"), "\(error)")
            #expect(try await provider.history(instanceID: "claimed").isEmpty, "nothing of the failed commit")
            #expect(provider.procedures.procedureCalls == calls)

            let turn = FirstTurnStartTests.turn(item)
            let prefetched = try await provider.commitTurn(item.lease, turn)
            #expect(prefetched.map(\.request.operationID) == [1])
            #expect(provider.procedures.procedureCalls == calls + 1)
            #expect(try await provider.history(instanceID: "claimed").map(\.sequenceNumber) == turn.result.newEvents.map(\.sequenceNumber))
            #expect(try await commits() > 1)
        }
    }
}

/// The procedures' text, without a database.
@Suite struct CommittingProcedureDefinitionTests {
    @Test func theCallBindsTheStatementsParametersThenANullPerResult() {
        let procedure = CommitTurnStatement.procedure
        let parameters = (1...CommitTurnStatement.placeholder.query.binds.count).map { "$\($0)" }
        let results = procedure.results.map { _ in "NULL" }
        #expect(procedure.callSQL == "CALL \(procedure.name)(\((parameters + results).joined(separator: ", ")))")
        #expect(ProcedureCall<CommitTurnStatement>.sql == procedure.callSQL)
    }

    @Test func theBodyIsTheStatementsOwnTextWithItsResultsAsTarget() {
        let procedure = StartWithTurnStatement.procedure
        let definition = procedure.definition(parameterTypes: ["text", "bigint"])
        #expect(definition.hasPrefix("CREATE PROCEDURE \(procedure.name)(text, bigint, INOUT durable_result_1 int8 DEFAULT NULL,"))
        #expect(definition.contains("\(StartWithTurnStatement.sql)\nINTO durable_result_1, durable_result_2, durable_result_3, durable_result_4, durable_result_5;\nCOMMIT;"))
    }

    @Test func eachStatementHasAProcedureOfItsOwn() {
        let names = CommittingProcedure.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.hasPrefix("durable_") && $0.count <= 63 }, "a PostgreSQL identifier: \(names)")
    }
}
