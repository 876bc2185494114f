import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Logging
import Synchronization
import Testing

/// Connections killed mid-run (every backend of the database, the pool's and the LISTEN one): no
/// activity runs twice because a result met a closing connection (it is retried, not dropped) or a
/// write was taken as done whose rows arrived but whose commit died with its backend
/// (``CommitConfirmationTests``), and every instance finishes, those started while backends are
/// killed too. A claim whose statement committed just before its connection died is lost to the
/// claimer until its lease expires (3 s here): that delays the work, and runs it once.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ConnectionKillTests {
    /// Shared with the activity (a registry holds a copy of the struct).
    final class Runs: Sendable {
        let counts = Mutex<[String: Int]>([:])
    }

    struct FiveSteps: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            var total = 0
            for step in 0..<5 {
                async let a = context.activity(CountedByName.self, input + step)
                async let b = context.activity(CountedByName.self, input - step)
                total += try await a + b
            }
            return total
        }
    }

    struct CountedByName: Activity {
        static let name = "Counted"
        let runs: Runs
        func run(_ input: Int, context: ActivityContext) async throws -> Int {
            self.runs.counts.withLock { $0["\(context.instanceID)/\(context.operationID)", default: 0] += 1 }
            try await Task.sleep(for: .milliseconds(5))
            return input
        }
    }

    /// With `eagerStarts`, instances start through the runtime's client: its node claims each
    /// first turn as it creates the instance, and a start whose answer a kill lost is retried.
    /// Serialized: each case kills every backend but its own, the other case's included.
    @Test(.serialized, arguments: [false, true]) func noActivityRunsTwiceWhenConnectionsAreKilled(eagerStarts: Bool) async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try await factory(.seconds(3))
            let runs = Runs()
            var registry = Registry()
            try registry.register(FiveSteps())
            try registry.register(CountedByName(runs: runs))
            var logger = Logger(label: "kill") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = ProcessInfo.processInfo.environment["DURABLE_KILL_LOG"] == nil ? .critical : .debug
            let runtime = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "killed"), logger: logger)
            let client = eagerStarts ? runtime.runtime.client : DurableClient(provider: provider)
            if eagerStarts { try await runtime.waitUntilRegistered() }
            var ids = try await (0..<30).asyncMap { try await client.start(FiveSteps.self, input: $0 * 100) }
            // Kill every other backend of the database, five times, while the instances run and
            // more are started: a start that returned must have created its instance.
            for round in 0..<5 {
                try await Task.sleep(for: .milliseconds(150))
                _ = try await PostgresTestDatabase.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
                ids += try await (0..<2).asyncMap { try await client.start(FiveSteps.self, input: (30 + round * 2 + $0) * 100) }
            }
            for (index, id) in ids.enumerated() {
                do {
                    #expect(try await client.result(of: FiveSteps.self, instanceID: id, timeout: .seconds(60)) == index * 100 * 10)
                } catch {
                    let schema = (provider as! PostgresProvider).configuration.schema
                    let rows = try await PostgresTestDatabase.query(
                        """
                        SELECT i.id || ' ' || i.status || ' inbox=' || coalesce(i.inbox_at::text, '-') || ' locked=' || coalesce(i.locked_until::text, '-')
                               || ' now=' || now()::text || ' hist=' || i.history_length
                               || ' msgs=' || (SELECT count(*) FROM \(schema).messages m WHERE m.instance_id = i.id)
                               || ' tasks=' || (SELECT count(*) || '/' || coalesce(string_agg(t.visible_at::text || ':' || coalesce(t.lock_owner, '-'), ','), '') FROM \(schema).activity_tasks t WHERE t.instance_id = i.id)
                        FROM \(schema).instances i WHERE i.status <> 'completed'
                        """
                    )
                    for row in rows { print("unfinished:", try row.decode(String.self)) }
                    throw error
                }
            }
            #expect(!eagerStarts || runtime.runtime.statistics.eagerStarts > 0, "no start was eager")
            try await runtime.stop()
            let counts = runs.counts.withLock { $0 }
            #expect(counts.count == 40 * 10, "every activity ran")
            let twice = counts.filter { $0.value > 1 }
            #expect(twice.isEmpty, "activities that ran more than once: \(twice)")
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}
