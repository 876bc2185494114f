import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

/// Measures what one idle node costs the database. Opt-in (it takes DURABLE_MEASURE_IDLE seconds)
/// and meaningful only when nothing else uses the database: run it alone,
/// `DURABLE_MEASURE_IDLE=60 swift test --filter IdleCostTests`.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable && ProcessInfo.processInfo.environment["DURABLE_MEASURE_IDLE"] != nil))
struct IdleCostTests {
    @Test func statementsOfAnIdleNode() async throws {
        let seconds = Int(ProcessInfo.processInfo.environment["DURABLE_MEASURE_IDLE"] ?? "") ?? 60
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(30))
            let runtime = RuntimeHarness(provider: provider, registry: try WakingTests.registry(), configuration: .init(nodeID: "idle"))
            try await Task.sleep(for: .seconds(2))
            let counters = """
                SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())::int8,
                       (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))::int8
                """
            let before = try await PostgresTestDatabase.query(counters)[0].decode((Int64, Int64).self)
            try await Task.sleep(for: .seconds(seconds))
            let after = try await PostgresTestDatabase.query(counters)[0].decode((Int64, Int64).self)
            // The measuring connection's own statements (one each side) are included.
            print("idle node over \(seconds) s: \(after.0 - before.0) transactions, \(after.1 - before.1) statements")
            try await runtime.stop()
        }
    }
}
