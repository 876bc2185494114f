@testable import Durable
import Testing

/// The decisions of a concurrency key's slots, without a database.
@Suite struct ConcurrencySlotsTests {
    @Test func callsBeyondTheLimitWaitAndTakeFreedSlotsInCallOrder() {
        var slots = ConcurrencySlots<Int>(limit: 2)
        let calls = (0..<5).map { slots.call(key: "k", limit: 2, $0, inUse: { _ in false }) }
        #expect(calls.map(\.instanceID) == ["k#0", "k#1", "k#2", "k#3", "k#4"])
        #expect(calls.map(\.runs) == [true, true, false, false, false])
        #expect(slots.ended().map(\.call) == [2])
        #expect(slots.ended().map(\.call) == [3])
        #expect(slots.running == 2)
        #expect(slots.ended().map(\.call) == [4])
        #expect(slots.ended().isEmpty && slots.ended().isEmpty)
        #expect(slots.running == 0)
    }

    @Test func aCallWaitsWhileOthersWaitEvenWithAFreeSlot() {
        var slots = ConcurrencySlots<Int>(limit: 1)
        _ = slots.call(key: "k", limit: 1, 0, inUse: { _ in false })
        _ = slots.call(key: "k", limit: 1, 1, inUse: { _ in false })
        // The limit raised: the slot it frees goes to the waiting call first, not to this one.
        #expect(slots.call(key: "k", limit: 3, 2, inUse: { _ in false }).runs == false)
        #expect(slots.ended().map(\.call) == [1, 2])
        #expect(slots.running == 2)
    }

    @Test func idsInUseAreSkipped() {
        var slots = ConcurrencySlots<Int>(limit: 1)
        let call = slots.call(key: "k", limit: 1, 0, inUse: { $0 == "k#0" || $0 == "k#1" })
        #expect(call.instanceID == "k#2")
        #expect(slots.call(key: "k", limit: 1, 1, inUse: { _ in false }).instanceID == "k#3")
    }

    @Test func aResetInstanceCountsOverTheLimit() {
        var slots = ConcurrencySlots<Int>(limit: 1)
        _ = slots.call(key: "k", limit: 1, 0, inUse: { _ in false })
        slots.restarted()
        #expect(slots.running == 2)
        #expect(slots.call(key: "k", limit: 1, 1, inUse: { _ in false }).runs == false)
        #expect(slots.ended().isEmpty, "one ended: still one running, at the limit")
        #expect(slots.ended().map(\.call) == [1])
    }
}
