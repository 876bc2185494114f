import Durable
@testable import DurablePostgres
import DurableTesting
import Foundation
import Testing

/// Aging in PostgreSQL's claim order (``Priority``): the ready indexes rank by ``ClaimRank``, so a
/// turn of a low level that has waited long enough goes first, and the claims' spelling of the rank
/// is the indexes' (else the planner could not use them).
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct PriorityAgingTests {
    @Test func aLowLevelReadyLongEnoughGoesBeforeAFreshHighOne() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            for (id, priority) in [("old-low", 5), ("waiting-low", 5), ("fresh-high", 1)] {
                _ = try await provider.createInstance(StartRequest(instanceID: id, name: "W", input: .null, priority: priority))
            }
            // Ready for 241 s and 239 s against the high one's 0 s, from one clock reading (the starts
            // themselves may be seconds apart on a busy machine): four levels of aging are 240 s.
            try await PostgresTestDatabase.execute(
                """
                UPDATE \(schema).instances SET inbox_at = now() - CASE id WHEN 'old-low' THEN interval '241 seconds'
                    WHEN 'waiting-low' THEN interval '239 seconds' ELSE interval '0 seconds' END
                """
            )
            var order: [String] = []
            for _ in 0..<3 { order += try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 1)).items.map(\.lease.id) }
            #expect(order == ["old-low", "fresh-high", "waiting-low"])
        }
    }

    @Test func theClaimsRankAsTheReadyIndexesDo() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            try await PostgresTestDatabase.execute(
                """
                INSERT INTO \(schema).instances (id, name, version, execution_id, status, input, inbox_at)
                SELECT 'i' || g, 'W', '', 'e', 'pending', 'null', now() - g * interval '1 ms' FROM generate_series(1, 20000) g
                """
            )
            try await PostgresTestDatabase.execute(
                """
                INSERT INTO \(schema).activity_tasks (id, instance_id, execution_id, operation_id, name, request)
                SELECT 't' || g, 'i1', 'e', g, 'A', '{}' FROM generate_series(1, 20000) g
                """
            )
            try await PostgresTestDatabase.execute("ANALYZE \(schema).instances, \(schema).activity_tasks")
            let turns = ClaimOrchestrationsStatement.rank("i")
            let tasks = ClaimActivitiesStatement.rank
            for (sql, index) in [
                (
                    "SELECT id FROM \(schema).instances i WHERE queue = 'default' AND inbox_at IS NOT NULL AND \(turns) <= \(ClaimRank.now) ORDER BY \(turns) LIMIT 64",
                    "instances_ready_idx"
                ),
                ("SELECT id FROM \(schema).activity_tasks WHERE queue = 'default' AND \(tasks) <= \(ClaimRank.now) ORDER BY \(tasks), seq LIMIT 64", "activity_tasks_ready_idx"),
            ] {
                let plan = try await PostgresTestDatabase.query("EXPLAIN (COSTS OFF) \(sql)").map { try $0.decode(String.self) }.joined(separator: "\n")
                #expect(plan.contains("Index Scan using \(index)") && !plan.contains("Sort"), "\(plan)")
            }
        }
    }
}
