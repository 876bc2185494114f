import Durable
import Foundation
import Testing

/// Schedule decisions without I/O: specs, overlap and catch-up policies, jitter, triggers and
/// backfills, on a controllable clock.
@Suite struct ScheduleStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28 20:26:40 UTC
    var minutely: ScheduleSpec { ScheduleSpec(.every(.seconds(60))) }

    func machine(_ policy: SchedulePolicy, spec: ScheduleSpec? = nil) throws -> ScheduleStateMachine {
        try ScheduleStateMachine(scheduleID: "s", spec: spec ?? self.minutely, policy: policy, now: self.t0)
    }

    func starts(_ actions: [ScheduleStateMachine.Action]) -> [Date] {
        actions.compactMap { if case .start(let nominal, _) = $0 { nominal } else { nil } }
    }

    func skips(_ actions: [ScheduleStateMachine.Action]) -> [ScheduleStateMachine.SkipReason] {
        actions.compactMap { if case .skip(_, let reason) = $0 { reason } else { nil } }
    }

    @Test func intervalsAndCronAndBounds() throws {
        let first = Date(timeIntervalSince1970: 1_780_000_020)  // the next whole minute
        #expect(try self.minutely.nominalTimes(2, after: self.t0) == [first, first.addingTimeInterval(60)])
        let quarterPast = ScheduleSpec(.every(.seconds(3600), offset: .seconds(900)))
        #expect(try quarterPast.nominalTime(after: self.t0) == Date(timeIntervalSince1970: 1_780_002_900), "21:15 UTC")
        let berlin = ScheduleSpec(.cron("0 9 * * MON-FRI"), timeZone: "Europe/Berlin", endAt: self.t0.addingTimeInterval(86_400 * 3))
        let times = try berlin.nominalTimes(10, after: self.t0)
        #expect(times.count == 1, "Friday 29 May at 09:00 in Berlin; the end (Sunday evening) cuts the rest: \(times)")
        #expect(times.first == Date(timeIntervalSince1970: 1_780_038_000), "07:00 UTC")
        let later = ScheduleSpec(.every(.seconds(60)), startAt: self.t0.addingTimeInterval(3600))
        #expect(try later.nominalTime(after: self.t0) == self.t0.addingTimeInterval(3620), "the first whole minute from the start")
        #expect(throws: DurableError.self) { try ScheduleSpec(.cron("0 9 * *")).validate() }
        #expect(throws: DurableError.self) { try ScheduleSpec(.cron("0 9 * * *"), timeZone: "Mars/Olympus").validate() }
        #expect(throws: DurableError.self) { try ScheduleSpec(.every(.milliseconds(10))).validate() }
        #expect(throws: DurableError.self) { try ScheduleSpec(.every(.seconds(60)), startAt: self.t0, endAt: self.t0.addingTimeInterval(-1)).validate() }
    }

    @Test func firesOnTimeWithDeterministicIDs() throws {
        var machine = try self.machine(SchedulePolicy())
        let first = try #require(machine.next)
        let early = try machine.decide(now: first.addingTimeInterval(-1), running: false)
        #expect(early.actions.isEmpty && early.wakeAt == first)
        let due = try machine.decide(now: first.addingTimeInterval(0.5), running: false)
        #expect(due.actions == [.start(nominal: first, instanceID: "s@2026-05-28T20:27:00Z")])
        #expect(due.wakeAt == first.addingTimeInterval(60))
        // Decided again at the same time (another node, a retry): nothing new.
        #expect(try machine.decide(now: first.addingTimeInterval(0.5), running: true).actions.isEmpty)
    }

    @Test(arguments: SchedulePolicy.Overlap.allCases)
    func overlap(_ overlap: SchedulePolicy.Overlap) throws {
        var machine = try self.machine(SchedulePolicy(overlap: overlap))
        let first = try #require(machine.next)
        _ = try machine.decide(now: first, running: false)
        // The next two firings come while the first instance still runs.
        let second = try machine.decide(now: first.addingTimeInterval(60), running: true)
        let third = try machine.decide(now: first.addingTimeInterval(120), running: true)
        let drained = try machine.decide(now: first.addingTimeInterval(121), running: false)
        let again = try machine.decide(now: first.addingTimeInterval(122), running: false)
        let running = "s@2026-05-28T20:27:00Z"
        switch overlap {
        case .skip:
            #expect(self.skips(second.actions) == [.overlap] && self.skips(third.actions) == [.overlap])
            #expect(drained.actions.isEmpty && again.actions.isEmpty)
        case .bufferOne:
            #expect(second.actions.isEmpty && second.waitsForRunning)
            #expect(self.skips(third.actions) == [.bufferFull], "the older buffered firing gives way to the newer")
            #expect(self.starts(drained.actions) == [first.addingTimeInterval(120)] && again.actions.isEmpty)
        case .bufferAll:
            #expect(second.actions.isEmpty && third.actions.isEmpty && third.waitsForRunning)
            #expect(self.starts(drained.actions) == [first.addingTimeInterval(60)])
            #expect(self.starts(again.actions) == [first.addingTimeInterval(120)], "one at a time, in order")
        case .cancelRunning:
            #expect(second.actions.first == .cancel(instanceID: running) && self.starts(second.actions) == [first.addingTimeInterval(60)])
        case .terminateRunning:
            #expect(second.actions.first == .terminate(instanceID: running) && self.starts(second.actions) == [first.addingTimeInterval(60)])
        case .allowAll:
            #expect(self.starts(second.actions) == [first.addingTimeInterval(60)] && self.starts(third.actions) == [first.addingTimeInterval(120)])
        }
    }

    @Test func catchUpAfterDowntime() throws {
        let policies: [(SchedulePolicy.CatchUp, starts: Int, skipped: [ScheduleStateMachine.SkipReason])] = [
            (.all(within: .seconds(600)), 10, Array(repeating: .missed, count: 50)),
            (.latest, 1, Array(repeating: .superseded, count: 59)),
            (.none, 1, Array(repeating: .missed, count: 59)),
        ]
        for (catchUp, count, skipped) in policies {
            var machine = try self.machine(SchedulePolicy(overlap: .allowAll, catchUp: catchUp))
            let first = try #require(machine.next)
            // Down for an hour: 60 firings due at once, the last one on time.
            let decision = try machine.decide(now: first.addingTimeInterval(59 * 60 + 5), running: false)
            #expect(self.starts(decision.actions).count == count, "\(catchUp)")
            #expect(self.skips(decision.actions) == skipped, "\(catchUp)")
            #expect(self.starts(decision.actions).last == first.addingTimeInterval(59 * 60), "\(catchUp) fires the latest")
        }
    }

    @Test func jitterDelaysEachFiringTheSameWay() throws {
        let spec = ScheduleSpec(.every(.seconds(60)), jitter: .seconds(30))
        var machine = try self.machine(SchedulePolicy(), spec: spec)
        let first = try #require(machine.next)
        let delay = spec.jitterDelay(scheduleID: "s", nominal: first)
        #expect(delay > .zero && delay < .seconds(30) && delay == spec.jitterDelay(scheduleID: "s", nominal: first))
        #expect(spec.jitterDelay(scheduleID: "other", nominal: first) != delay)
        #expect(try machine.decide(now: first.addingTimeInterval(delay.seconds - 0.01), running: false).actions.isEmpty)
        #expect(self.starts(try machine.decide(now: first.addingTimeInterval(delay.seconds), running: false).actions) == [first])
    }

    @Test func triggerAndBackfill() throws {
        var machine = try self.machine(SchedulePolicy(overlap: .skip))
        let now = self.t0.addingTimeInterval(5)
        #expect(self.starts(machine.trigger(now: now, running: false)) == [now])
        #expect(self.skips(machine.trigger(now: now.addingTimeInterval(1), running: true)) == [.overlap])
        let backfill = try machine.backfill(from: self.t0.addingTimeInterval(-3600), through: self.t0)
        #expect(backfill.count == 60 && Set(backfill).count == 60)
    }
}
