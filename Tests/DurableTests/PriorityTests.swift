import Durable
import Foundation
import Synchronization
import Testing

/// Claim order by priority with aging, without a database; and the in-memory provider's claims
/// under a clock the test moves.
@Suite struct PriorityTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    func rank(_ priority: Int, readyFor seconds: Double) -> Priority.ClaimRank {
        Priority.ClaimRank(priority: priority, readyAt: self.now.addingTimeInterval(-seconds), now: self.now)
    }

    @Test func higherLevelsFirstOldestFirstWithinOne() {
        #expect(self.rank(1, readyFor: 0) < self.rank(2, readyFor: 30))
        #expect(self.rank(3, readyFor: 10) < self.rank(3, readyFor: 5))
        #expect(self.rank(3, readyFor: 0) < self.rank(4, readyFor: 50), "a lower level waits behind the default")
        #expect(self.rank(4, readyFor: 50) < self.rank(5, readyFor: 100), "and levels below the default keep their order while fresh")
    }

    @Test func agingBoundsTheWaitOfALowerLevel() {
        // A level counts 60 s of waiting: level 5 ready for just over 240 s goes before a fresh
        // level 1, and not before.
        #expect(self.rank(5, readyFor: 241) < self.rank(1, readyFor: 0))
        #expect(self.rank(1, readyFor: 0) < self.rank(5, readyFor: 239))
        // Ready for over 120 s, level 5 ranks with the default level's work of now.
        #expect(self.rank(5, readyFor: 121) < self.rank(3, readyFor: 0))
        #expect(self.rank(3, readyFor: 0) < self.rank(5, readyFor: 119))
    }

    @Test func theInMemoryProviderAgesWithItsClock() async throws {
        let clock = Mutex(self.now)
        let provider = InMemoryProvider(clock: { clock.withLock { $0 } })
        _ = try await provider.createInstance(StartRequest(instanceID: "old-low", name: "W", input: .null, priority: 5))
        clock.withLock { $0 += 241 }
        _ = try await provider.createInstance(StartRequest(instanceID: "fresh-high", name: "W", input: .null, priority: 1))
        let first = try await provider.claimOrchestrations(ClaimRequest(owner: "me", limit: 1)).items.map(\.lease.id)
        #expect(first == ["old-low"], "ready for 241 s, level 5 goes before a fresh level 1")
    }
}
