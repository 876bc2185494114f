import Durable
@testable import DurablePostgres
@testable import DurableTesting
import Foundation
import PostgresNIO
import Testing

/// A start that commits its first turn writes it in one statement that inserts the instance as the
/// turn leaves it (``StartWithTurnStatement``). It must leave the rows that a plain start, then the
/// turn's commit, leave.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct FirstTurnStartTests {
    /// Schedules two activities (the first leased to the starter) and a timer a minute out.
    static func turn(_ item: OrchestrationWorkItem) -> TurnCommit {
        var commit = firstTurn(item, scheduling: [(1, "Work", nil), (2, "Work", nil)], prefetch: ClaimRequest(owner: "starter", limit: 1))
        let fireAt = item.claimedAt.addingTimeInterval(60)
        commit.result.newEvents.append(event(item, commit.result.newEvents.count, .timerCreated(operationID: 3, fireAt: fireAt)))
        commit.result.actions.append(.scheduleTimer(operationID: 3, fireAt: fireAt))
        return commit
    }

    static func rows(_ schema: String, _ id: String) async throws -> [String] {
        let instance = try await PostgresTestDatabase.query(
            """
            SELECT concat_ws(' | ', status, version, lock_owner, lock_epoch, locked_until IS NULL, deliveries, handler_misses,
                   history_length, turn_node, completed_by, awaited_events::text, custom_status, waiting_for, pause, queue, priority,
                   inbox_at = (SELECT min(visible_at) FROM \(schema).messages m WHERE m.instance_id = i.id))
            FROM \(schema).instances i WHERE id = '\(id)'
            """
        )
        let messages = try await PostgresTestDatabase.query(
            "SELECT concat_ws(' | ', timer_operation, visible_at > now() + interval '50 seconds') FROM \(schema).messages WHERE instance_id = '\(id)' ORDER BY id"
        )
        let tasks = try await PostgresTestDatabase.query(
            """
            SELECT concat_ws(' | ', operation_id, lock_owner, lock_epoch, deliveries, locked_until IS NULL, visible_at <= now())
            FROM \(schema).activity_tasks WHERE instance_id = '\(id)' ORDER BY operation_id
            """
        )
        return try (instance + messages + tasks).map { try $0.decode(String.self) }
    }

    @Test func oneStatementLeavesTheRowsOfAStartAndItsCommit() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30)) as! PostgresProvider
            let schema = provider.configuration.schema
            let request = { (id: String) in StartRequest(instanceID: id, name: "Conformance", version: "1.0.0", input: try Payload(encoding: "in")) }
            // The way a dispatcher goes: a start that leaves the turn claimed, then its commit.
            let (started, claimed) = try await provider.createInstance(request("two-statements"), claimingFirstTurnFor: "starter")
            #expect(started == .created)
            let item = try #require(claimed)
            let committed = try await provider.commitTurn(item.lease, Self.turn(item))
            #expect(committed.map(\.request.operationID) == [1])

            #expect(provider.databaseNow == nil, "no start has read the database's clock yet")
            let (result, first) = try await provider.createInstance(request("one-statement"), claimingFirstTurnFor: "starter") { Self.turn($0) }
            #expect(result == .created)
            guard case .committed(_, _, let prefetched) = first else {
                Issue.record("the first turn was not committed with the start: \(first)")
                return
            }
            #expect(prefetched.map(\.request.operationID) == [1])
            #expect(provider.databaseNow != nil, "the start read the database's clock")
            // The plain start writes its start message and the turn's commit deletes it; the one
            // statement never writes it: three messages in all (two timers and one start).
            let written = try await PostgresTestDatabase.query(
                "SELECT last_value FROM \(schema).messages_id_seq"
            )[0].decode(Int64.self)
            #expect(written == 3, "the start with its turn wrote no start message")
            let two = try await Self.rows(schema, "two-statements")
            let one = try await Self.rows(schema, "one-statement")
            #expect(two.count == 4, "the instance, its timer and two activities: \(two)")
            #expect(one == two)
            // The same events (their times, the execution id and the timer's due time aside).
            let kinds = { (id: String) in try await provider.history(instanceID: id).map { String(describing: $0.kind).prefix { $0 != "(" } } }
            #expect(try await kinds("one-statement") == kinds("two-statements"))
        }
    }
}
