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
        #expect(machine.finished("sync#2").isEmpty && machine.running.isEmpty)
    }

    @Test func aConcurrencyLimitRunsAtMostLimitAndTheRestInCallOrder() {
        var machine = KeyedStartMachine(key: "tenant", policy: .concurrency(limit: 2))
        var started: [String] = []
        for call in 0..<5 {
            for case .start(_, let id) in machine.call(Payload(json: "\(call)"), now: self.now) { started.append(id) }
        }
        #expect(started == ["tenant#0", "tenant#1"] && machine.running == started && machine.queued.count == 3)
        // Ends in any order free a slot each, for the oldest waiting call.
        #expect(machine.finished("tenant#1") == [.start(input: Payload(json: "2"), instanceID: "tenant#2")])
        #expect(machine.finished("tenant#7").isEmpty && machine.running.count == 2, "another instance's end frees nothing")
        #expect(machine.finished("tenant#0") == [.start(input: Payload(json: "3"), instanceID: "tenant#3")])
        #expect(machine.finished("tenant#2") == [.start(input: Payload(json: "4"), instanceID: "tenant#4")])
        #expect(machine.finished("tenant#3").isEmpty && machine.running == ["tenant#4"] && machine.queued.isEmpty)
    }

    @Test func aRecordReadsAndWritesASingletonsRunningInstanceAsBefore() throws {
        // A singleton's record as the version before concurrency limits wrote it.
        let earlier = #"{"key":"sync","policy":{"singleton":{"whenRunning":"queue"}},"started":1,"running":"sync#0","queued":[]}"#
        let machine = try JSONDecoder().decode(KeyedStartMachine.self, from: Data(earlier.utf8))
        #expect(machine.running == ["sync#0"])
        let written = try JSONSerialization.jsonObject(with: JSONEncoder().encode(machine)) as? [String: Any]
        #expect(written?["running"] as? String == "sync#0" && written?["runningIDs"] == nil)

        var limited = KeyedStartMachine(key: "t", policy: .concurrency(limit: 3))
        for call in 0..<3 { _ = limited.call(Payload(json: "\(call)"), now: self.now) }
        let decoded = try JSONDecoder().decode(KeyedStartMachine.self, from: JSONEncoder().encode(limited))
        #expect(decoded == limited)
    }
}
