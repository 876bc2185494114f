import Durable
import Foundation
import Testing

/// Starts by key, decided without a database.
@Suite struct KeyedStartMachineTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    @Test func aDebounceStartsOnceWithTheLastInputAfterTheCallsStop() {
        var machine = KeyedStartMachine(key: "doc-7", policy: .debounce(quiet: .seconds(2)))
        for second in 0..<5 {
            #expect(machine.call(Payload(json: "\(second)"), now: self.now.addingTimeInterval(Double(second))).isEmpty)
        }
        // Each call restarted the quiet period: it ends 2 s after the last one.
        #expect(machine.wakeAt == self.now.addingTimeInterval(6))
        #expect(machine.wake(now: self.now.addingTimeInterval(5.5)).isEmpty, "not before the quiet period ends")
        #expect(machine.wake(now: self.now.addingTimeInterval(6)) == [.start(input: Payload(json: "4"), instanceID: "doc-7#0")])
        #expect(machine.wakeAt == nil && machine.wake(now: self.now.addingTimeInterval(60)).isEmpty, "once")
        _ = machine.call(Payload(json: "9"), now: self.now.addingTimeInterval(100))
        #expect(machine.wake(now: self.now.addingTimeInterval(102)) == [.start(input: Payload(json: "9"), instanceID: "doc-7#1")], "the next burst, the next id")
    }

    @Test func aSingletonSkipsCallsWhileOneRuns() {
        var machine = KeyedStartMachine(key: "sync", policy: .singleton(whenRunning: .skip))
        #expect(machine.call(Payload(json: "1"), now: self.now) == [.start(input: Payload(json: "1"), instanceID: "sync#0")])
        #expect(machine.call(Payload(json: "2"), now: self.now) == [.skip])
        #expect(machine.finished("sync#0").isEmpty)
        #expect(machine.call(Payload(json: "3"), now: self.now) == [.start(input: Payload(json: "3"), instanceID: "sync#1")])
    }

    @Test func aQueueingSingletonRunsTheCallsOneAtATimeInOrder() {
        var machine = KeyedStartMachine(key: "sync", policy: .singleton(whenRunning: .queue))
        #expect(machine.call(Payload(json: "1"), now: self.now) == [.start(input: Payload(json: "1"), instanceID: "sync#0")])
        #expect(machine.call(Payload(json: "2"), now: self.now).isEmpty)
        #expect(machine.call(Payload(json: "3"), now: self.now).isEmpty)
        #expect(machine.finished("sync#9").isEmpty, "another instance's end changes nothing")
        #expect(machine.finished("sync#0") == [.start(input: Payload(json: "2"), instanceID: "sync#1")])
        #expect(machine.finished("sync#1") == [.start(input: Payload(json: "3"), instanceID: "sync#2")])
        #expect(machine.finished("sync#2").isEmpty && machine.running == nil)
    }
}
