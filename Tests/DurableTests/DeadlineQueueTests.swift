@testable import Durable
import Synchronization
import Testing

/// The timers behind lease renewals, timeouts and statement deadlines.
@Suite struct DeadlineQueueTests {
    @Test func aSleepLastsItsDuration() async throws {
        let started = ContinuousClock.now
        try await DeadlineQueue.shared.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        try await DeadlineQueue.shared.sleep(for: .zero)
    }

    @Test func aCancelledSleepEndsAtOnceAndFreesItsTimer() async throws {
        let queue = DeadlineQueue()
        let sleeper = Task { try await queue.sleep(for: .seconds(3600)) }
        while queue.size.scheduled == 0 { await Task.yield() }
        let started = ContinuousClock.now
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(queue.size.scheduled == 0)
        // Cancelled before it began.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await queue.sleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(queue.size.scheduled == 0)
    }

    @Test func cancelledDeadlinesDoNotRunAndTheirSlotsAreCompacted() async throws {
        let queue = DeadlineQueue()
        let ran = Mutex(0)
        let tokens = (0..<5000).map { _ in queue.schedule(at: .now + .seconds(3600)) { ran.withLock { $0 += 1 } } }
        for token in tokens { queue.cancel(token) }
        #expect(queue.size.scheduled == 0)
        #expect(queue.size.slots <= 1024, "stale slots are compacted, not kept until their deadline")
        let fired = AsyncStream.makeStream(of: Void.self)
        _ = queue.schedule(at: .now + .milliseconds(20)) { fired.continuation.yield() }
        for await _ in fired.stream { break }
        #expect(ran.withLock { $0 } == 0)
    }

    @Test func anEarlierDeadlineWakesTheQueue() async throws {
        let queue = DeadlineQueue()
        _ = queue.schedule(at: .now + .seconds(3600)) {}
        let started = ContinuousClock.now
        let fired = AsyncStream.makeStream(of: Void.self)
        _ = queue.schedule(at: .now + .milliseconds(20)) { fired.continuation.yield() }
        for await _ in fired.stream { break }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
