@testable import Durable
import Foundation
import Synchronization
import Testing

/// ``LeaseRenewal``: nothing runs beside work that ends before its first renewal; renewals,
/// interruptions and abandonment once it does not.
@Suite struct LeaseRenewalTests {
    final class Renewals: Sendable {
        let count = Atomic(0)
        /// What each renewal reports: `true` asks the work to stop.
        let cancel = Atomic(false)

        func renew() -> Bool {
            self.count.add(1, ordering: .relaxed)
            return self.cancel.load(ordering: .relaxed)
        }
    }

    @Test func workThatEndsBeforeItsFirstRenewalIsNeverRenewed() async throws {
        let renewals = Renewals()
        let started = ContinuousClock.now
        // An interval the work cannot outlast even on a loaded machine (it returns at once).
        let keeping = LeaseRenewal<Int>(every: .seconds(2), renew: { renewals.renew() }, onRenewalError: { _ in })
        let result = try await keeping.run { 42 }.get()
        #expect(result == 42)
        try #require(ContinuousClock.now - started < .seconds(2), "the work outlasted the interval; nothing to check")
        // Past the first renewal's due time: the entry, stopped with the work, did not fire.
        try await Task.sleep(until: started + .milliseconds(2_300))
        #expect(renewals.count.load(ordering: .relaxed) == 0)
    }

    @Test func longWorkIsRenewedEveryInterval() async throws {
        let renewals = Renewals()
        let keeping = LeaseRenewal<Int>(every: .milliseconds(50), renew: { renewals.renew() }, onRenewalError: { _ in })
        let result = try await keeping.run {
            while renewals.count.load(ordering: .relaxed) < 3 { try await Task.sleep(for: .milliseconds(5)) }
            return 7
        }.get()
        #expect(result == 7)
    }

    @Test func aRenewalNowThatReportsACancellationInterruptsTheWork() async {
        let renewals = Renewals()
        renewals.cancel.store(true, ordering: .relaxed)
        let keeping = LeaseRenewal<Int>(every: .seconds(60), renew: { renewals.renew() }, onRenewalError: { _ in })
        let started = ContinuousClock.now
        // The hint comes before the work starts: the first renewal runs at once all the same.
        keeping.renewNow()
        let result = await keeping.run {
            try await Task.sleep(for: .seconds(60))
            return 1
        }
        guard case .failure(WorkInterruption.cancelRequested) = result else {
            Issue.record("expected the cancellation request, got \(result)")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(30), "interrupted by the hint, not by a renewal a minute later")
    }

    @Test func workThatIgnoresItsInterruptionIsAbandonedAfterTheGracePeriod() async {
        let renewals = Renewals()
        renewals.cancel.store(true, ordering: .relaxed)
        let release = StartGate()
        let keeping = LeaseRenewal<Int>(
            every: .milliseconds(20), gracePeriod: .milliseconds(50), renew: { renewals.renew() }, onRenewalError: { _ in }
        )
        let result = await keeping.run {
            // Ignores cancellation until the test lets it go, without holding a thread: one of the
            // two a 2-core machine's tasks share, blocked until the abandonment came, stalled the
            // whole parallel test run for seconds (and failed timing-sensitive scenarios).
            await release.wait()
            return 1
        }
        release.open()
        guard case .failure(WorkInterruption.abandoned(.cancelRequested, let after)) = result else {
            Issue.record("expected the abandonment, got \(result)")
            return
        }
        #expect(after == .milliseconds(50))
    }

    @Test func workThatRunsPastItsLongestDurationIsReportedHung() async {
        let keeping = LeaseRenewal<Int>(
            every: .seconds(60), maxDuration: .milliseconds(50), renew: { false }, onRenewalError: { _ in }
        )
        let result = await keeping.run {
            try await Task.sleep(for: .seconds(60))
            return 1
        }
        guard case .failure(WorkInterruption.hung(let limit)) = result else {
            Issue.record("expected hung, got \(result)")
            return
        }
        #expect(limit == .milliseconds(50))
    }
}
