import Durable
import Foundation
import Testing

/// Pause and resume decisions, every state and input, without a provider.
@Suite struct PauseStateMachineTests {
    let now = Date(timeIntervalSince1970: 1_000_000)
    var machine: PauseStateMachine { PauseStateMachine(now: self.now) }

    func instance(_ status: InstanceStatus = .running, pause: PauseRecord? = nil, leased: Bool = false) -> PauseStateMachine.Instance {
        .init(id: "i", status: status, pause: pause, leased: leased)
    }

    @Test func pausingAnIdleInstanceHoldsItForGood() throws {
        let (action, outcome) = try self.machine.pause(self.instance(), PauseRequest(instanceID: "i", by: "ana", reason: "refund check"))
        let record = PauseRecord(by: "ana", reason: "refund check", at: self.now, until: nil)
        #expect(action == .pause(record, interruptsTurn: false))
        #expect(outcome == .paused(record))
    }

    @Test func pausingDuringATurnInterruptsItWithADeadline() throws {
        let (action, _) = try self.machine.pause(self.instance(.pending, leased: true), PauseRequest(instanceID: "i", by: "ana", for: .seconds(90)))
        #expect(action == .pause(PauseRecord(by: "ana", reason: "", at: self.now, until: self.now.addingTimeInterval(90)), interruptsTurn: true))
    }

    @Test func pausingAPausedInstanceChangesNothing() throws {
        let current = PauseRecord(by: "ana", reason: "", at: self.now.addingTimeInterval(-5))
        let (action, outcome) = try self.machine.pause(self.instance(pause: current), PauseRequest(instanceID: "i", by: "ben"))
        #expect(action == .none)
        #expect(outcome == .alreadyPaused(current))
    }

    @Test func aPauseWhoseDeadlinePassedIsOver() throws {
        let expired = PauseRecord(by: "ana", reason: "", at: self.now.addingTimeInterval(-60), until: self.now.addingTimeInterval(-1))
        #expect(self.machine.activePause(self.instance(pause: expired)) == nil)
        let (resume, outcome) = try self.machine.resume(self.instance(pause: expired), ResumeRequest(instanceID: "i", by: "ana"))
        #expect(resume == .none && outcome == .notPaused)
        let (pause, _) = try self.machine.pause(self.instance(pause: expired), PauseRequest(instanceID: "i", by: "ben"))
        #expect(pause == .pause(PauseRecord(by: "ben", reason: "", at: self.now), interruptsTurn: false))
    }

    @Test func resumingAPausedInstance() throws {
        let (action, outcome) = try self.machine.resume(self.instance(pause: PauseRecord(by: "ana", reason: "", at: self.now)), ResumeRequest(instanceID: "i", by: "ben"))
        #expect(action == .resume(by: "ben", at: self.now))
        #expect(outcome == .resumed)
        let (idle, notPaused) = try self.machine.resume(self.instance(), ResumeRequest(instanceID: "i", by: "ben"))
        #expect(idle == .none && notPaused == .notPaused)
    }

    @Test(arguments: [InstanceStatus.completed, .failed, .cancelled])
    func finishedInstancesAreRefused(_ status: InstanceStatus) {
        #expect(throws: DurableError.self) { try self.machine.pause(self.instance(status), PauseRequest(instanceID: "i", by: "ana")) }
        do {
            _ = try self.machine.resume(self.instance(status), ResumeRequest(instanceID: "i", by: "ana"))
            Issue.record("resuming a \(status) instance succeeded")
        } catch {
            #expect(error.code == .instanceFinished)
        }
    }

    @Test func badRequestsAreRefused() {
        for (instance, request, code) in [
            (nil, PauseRequest(instanceID: "i", by: "ana"), DurableError.Code.instanceNotFound),
            (self.instance(), PauseRequest(instanceID: "i", by: "  "), .invalidInput),
            (self.instance(), PauseRequest(instanceID: "i", by: "ana", for: .seconds(-1)), .invalidInput),
        ] as [(PauseStateMachine.Instance?, PauseRequest, DurableError.Code)] {
            do {
                _ = try self.machine.pause(instance, request)
                Issue.record("\(request) was accepted")
            } catch {
                #expect(error.code == code)
            }
        }
    }
}
