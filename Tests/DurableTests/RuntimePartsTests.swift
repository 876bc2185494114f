@testable import Durable
import DurableTesting
import Testing

@Suite struct ResumeTrackerTests {
    @Test func followsDiscoveredInstancesToCompletionWithinItsBound() {
        var tracker = ResumeTracker(capacity: 2)
        // #expect cannot call mutating members: results are taken first.
        let discovered = [tracker.discover("a"), tracker.discover("b"), tracker.discover("c")]
        #expect(discovered == [true, true, false], "past its capacity an instance is counted, not followed")
        let attached = [tracker.attach("unknown"), tracker.attach("a"), tracker.attach("a")]
        #expect(attached == [false, true, false], "only the first claim of a followed instance attaches")
        let completed = [tracker.complete("b"), tracker.complete("a"), tracker.complete("a")]
        #expect(completed == [false, true, false], "an instance completes once, and only once attached")
        #expect((tracker.discovered, tracker.attached, tracker.completed) == (3, 1, 1))
    }
}

@Suite struct WakeSignalTests {
    @Test func aSignalBeforeTheWaitIsKept() async {
        let signal = WakeSignal()
        signal.signal()
        let started = ContinuousClock.now
        await signal.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func theWaitEndsAtItsTimeoutWithoutLeavingASignal() async {
        let signal = WakeSignal()
        await signal.wait(timeout: .milliseconds(50))
        let started = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - started >= .milliseconds(150), "an expired wait must not leave a pending signal")
    }

    @Test func aSignalWakesAWaiter() async {
        let signal = WakeSignal()
        let started = ContinuousClock.now
        async let waited = signal.wait(timeout: .seconds(30))
        signal.signal(after: .milliseconds(20))
        #expect(await waited, "a plain signal asks for a claim")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func saysWhetherAClaimIsWanted() async {
        let signal = WakeSignal()
        signal.signal(claim: false)
        #expect(await signal.wait(timeout: .seconds(30)) == false, "local work only: no claim")
        signal.signal(claim: false)
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(30)), "any signal that asks for a claim wins")
        #expect(await signal.wait(timeout: .milliseconds(20)), "a timed-out wait claims (safety poll, due time)")
    }
}

@Suite struct LocalWorkTests {
    @Test func popsInOrderUpToTheLimit() {
        let work = LocalWork<Int>()
        work.push([1, 2, 3])
        #expect(work.pop(2) == [1, 2])
        #expect(work.count == 1)
        #expect(work.pop(.max) == [3])
        #expect(work.pop(1).isEmpty)
    }
}

@Suite struct NotificationHubTests {
    @Test func aWaiterIsWokenByItsInstanceOnly() async {
        let hub = NotificationHub()
        let probe = Probe()
        let mine = hub.subscribe(completionOf: "mine")
        let channel = hub.subscribe(.completions)
        let consumers = [
            Task { for await _ in mine { probe.hit("mine") } },
            Task { for await _ in channel { probe.hit("channel") } },
        ]
        defer { for consumer in consumers { consumer.cancel() } }
        hub.postCompletion(of: "other")
        #expect(await probe.wait(for: "channel", count: 1, timeout: .seconds(5)), "the completions channel hears every completion")
        #expect(await probe.wait(for: "mine", count: 1, timeout: .milliseconds(100)) == false, "another instance's completion must not wake it")
        hub.postCompletion(of: "mine")
        #expect(await probe.wait(for: "mine", count: 1, timeout: .seconds(5)))
        hub.post(.completions)
        #expect(await probe.wait(for: "mine", count: 2, timeout: .seconds(5)), "a catch-up after a reconnect wakes every waiter")
    }
}

@Suite struct TakeoverCadenceTests {
    @Test func searchesFirstAfterReportsWhileTakingOverAndOncePerInterval() {
        let start = ContinuousClock.now
        var cadence = TakeoverCadence(interval: .seconds(10))
        #expect(cadence.searches(at: start, reports: 0), "the first claim searches")
        cadence.searched(at: start, reports: 0, tookOver: false)
        #expect(!cadence.searches(at: start + .seconds(1), reports: 0), "a search that found nothing pauses the search")
        #expect(cadence.searches(at: start + .seconds(1), reports: 1), "a heartbeat that reported orphans resumes it")
        cadence.searched(at: start + .seconds(1), reports: 1, tookOver: true)
        #expect(cadence.searches(at: start + .seconds(1), reports: 1), "a search that took work over goes on")
        cadence.searched(at: start + .seconds(2), reports: 1, tookOver: false)
        #expect(!cadence.searches(at: start + .seconds(11), reports: 1))
        #expect(cadence.searches(at: start + .seconds(12), reports: 1), "and at least once per interval")
    }
}

@Suite struct DispatcherSleepTests {
    @Test func sleepsOnlyWhenFullOrWithNothingToClaimOrStart() {
        #expect(DurableRuntime.maySleep(inFlight: 64, concurrency: 64, claimWanted: true, localWork: 3), "full: a freed slot signals")
        #expect(DurableRuntime.maySleep(inFlight: 10, concurrency: 64, claimWanted: false, localWork: 0), "nothing to do: notifications wake it")
        #expect(!DurableRuntime.maySleep(inFlight: 63, concurrency: 64, claimWanted: true, localWork: 0), "a slot freed without a signal, and a claim is wanted")
        #expect(!DurableRuntime.maySleep(inFlight: 63, concurrency: 64, claimWanted: false, localWork: 2), "a slot freed without a signal, and local work waits")
    }
}
