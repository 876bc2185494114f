import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

/// Aging in PostgreSQL's claim order (``Priority``): the ready index ranks by `claim_rank`, so a
/// turn of a low level that has waited long enough goes first.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct PriorityAgingTests {
    @Test func aLowLevelReadyLongEnoughGoesBeforeAFreshHighOne() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let schema = (provider as! PostgresProvider).configuration.schema
            for (id, priority) in [("old-low", 5), ("waiting-low", 5), ("fresh-high", 1)] {
                _ = try await provider.createInstance(StartRequest(instanceID: id, name: "W", input: .null, priority: priority))
            }
            // Ready for 241 s and 239 s: four levels of aging are 240 s.
            try await PostgresTestDatabase.execute("UPDATE \(schema).instances SET inbox_at = inbox_at - interval '241 seconds' WHERE id = 'old-low'")
            try await PostgresTestDatabase.execute("UPDATE \(schema).instances SET inbox_at = inbox_at - interval '239 seconds' WHERE id = 'waiting-low'")
            var order: [String] = []
            for _ in 0..<3 { order += try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 1)).items.map(\.lease.id) }
            #expect(order == ["old-low", "fresh-high", "waiting-low"])
        }
    }
}
