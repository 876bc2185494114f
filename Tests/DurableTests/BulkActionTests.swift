import Durable
import DurableTesting
import Foundation
import Synchronization
import Testing

/// Bulk actions by query, through the client, on the in-memory provider.
@Suite struct BulkActionTests {
    struct Waits: Orchestration {
        func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
            try context.setCustomStatus(input % 2 == 0 ? "tenant-a" : "tenant-b")
            return try await context.event("go", as: Int.self)
        }
    }

    @Test func pauseCountThenResumeAndCancelByCustomStatusInBatches() async throws {
        let provider = InMemoryProvider()
        let client = DurableClient(provider: provider)
        var registry = Registry()
        try registry.register(Waits())
        try await withRuntime(provider: provider, registry: registry) { _ in
            for i in 0..<25 { _ = try await client.start(Waits.self, input: i, instanceID: String(format: "w-%02d", i)) }
            // Every instance reported its custom status: its first turn committed.
            while try await client.list(InstanceQuery(statuses: [.running], limit: 100)).instances.filter({ $0.customStatus != nil }).count < 25 {
                try await Task.sleep(for: .milliseconds(10))
            }
            let tenantA = InstanceQuery(statuses: [.running], customStatusPrefix: "tenant-a")
            let counted = try await client.bulk(.pause(by: "ops", reason: "tenant a", for: nil), matching: tenantA, dryRun: true)
            #expect(counted.matched == 13 && counted.applied == 13)
            #expect(try await client.list(InstanceQuery(limit: 100)).instances.allSatisfy { $0.pause == nil }, "a dry run changes nothing")

            let pages = Mutex(0)
            let paused = try await client.bulk(.pause(by: "ops", reason: "tenant a", for: nil), matching: tenantA, batchSize: 5) { _ in pages.withLock { $0 += 1 } }
            #expect(paused.applied == 13 && paused.failed == 0)
            #expect(pages.withLock { $0 } == 3, "13 instances in batches of 5")
            let again = try await client.bulk(.pause(by: "ops", reason: "tenant a", for: nil), matching: tenantA, batchSize: 5)
            #expect(again.applied == 0 && again.unchanged == 13, "a rerun changes nothing")

            let cancelled = try await client.bulk(.cancel(reason: "tenant b leaves"), matching: InstanceQuery(statuses: [.running], customStatusPrefix: "tenant-b"))
            #expect(cancelled.applied == 12)
            for i in stride(from: 1, to: 25, by: 2) {
                #expect(try await client.waitForCompletion(instanceID: String(format: "w-%02d", i), timeout: .seconds(10)).status == .cancelled)
            }
            let resumed = try await client.bulk(.resume(by: "ops"), matching: tenantA)
            #expect(resumed.applied == 13)
            let purged = try await client.bulk(.purge, matching: InstanceQuery(customStatusPrefix: "tenant-b"))
            #expect(purged.applied == 12)
            #expect(try await client.list(InstanceQuery(limit: 100)).instances.count == 13)
        }
    }
}
