import Durable
import Foundation
import Testing

/// `durable why`: each kind of wait explained from the database's facts alone (no I/O here).
@Suite struct InstanceExplanationTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    func instance(_ status: InstanceStatus = .running, waitingFor: String? = nil, failure: FailureDetails? = nil) -> InstanceInfo {
        InstanceInfo(
            id: "order-7", name: "ProcessOrder", version: "1.0.0", executionID: "e1", status: status, input: .null,
            failure: failure, createdAt: self.now.addingTimeInterval(-600), updatedAt: self.now, completedAt: status.isTerminal ? self.now.addingTimeInterval(-5) : nil,
            waitingFor: waitingFor
        )
    }

    func history(_ kinds: [HistoryEvent.Kind], at offset: TimeInterval = -60) -> [HistoryEvent] {
        let start = HistoryEvent.Kind.executionStarted(.init(name: "ProcessOrder", version: "1.0.0", input: .null, executionID: "e1"))
        return ([start] + kinds).enumerated().map { HistoryEvent(sequenceNumber: $0.offset, timestamp: self.now.addingTimeInterval(offset), kind: $0.element) }
    }

    func node(_ id: String, alive: Bool, leases: [String] = [], versions: [String] = ["1.0.0"]) -> NodeInfo {
        NodeInfo(
            registration: NodeRegistration(
                id: id, incarnation: "1", host: "h", pid: 1, buildVersion: "b",
                capabilities: Capabilities(orchestrations: ["ProcessOrder": versions], activities: [])
            ),
            startedAt: self.now.addingTimeInterval(-3600), heartbeatAt: self.now.addingTimeInterval(alive ? -2 : -300), stoppedAt: nil,
            isAlive: alive, instanceLeases: leases, activityLeases: 0
        )
    }

    func explain(_ info: InstanceInfo, _ history: [HistoryEvent] = [], children: [String: InstanceInfo] = [:], nodes: [NodeInfo] = []) -> InstanceExplanation {
        InstanceExplanation(instance: info, history: history, children: children, nodes: nodes, now: self.now)
    }

    @Test func aCallWaitingForASlot() {
        let key = ConcurrencyKeyInfo(key: "export-acme", limit: 2, running: 2, waiting: ["export-acme#4", "export-acme#5"])
        let next = InstanceExplanation(waitingCall: "export-acme#4", key: key)
        let later = InstanceExplanation(waitingCall: "export-acme#5", key: key)
        #expect(next.status == .pending && next.findings.map(\.kind) == [.waitingForSlot])
        #expect(next.lines[1] == "- waits for a slot of concurrency key 'export-acme': 2 of 2 running, next in line; it starts when one of the key's instances ends")
        #expect(later.lines[1].contains("1 call before it"))
    }

    @Test func aPendingActivity() {
        let why = self.explain(self.instance(), self.history([.activityScheduled(operationID: 1, name: "ChargeCard", input: .null, retry: .none, timeout: nil)]))
        #expect(why.findings.map(\.kind) == [.activity])
        #expect(why.lines == ["order-7: running", "- activity ChargeCard (operation 1) scheduled 60 s ago, no result yet"])
    }

    @Test func aTimerDueLaterOrOverdue() {
        let later = self.explain(self.instance(), self.history([.timerCreated(operationID: 2, fireAt: self.now.addingTimeInterval(90))]))
        #expect(later.findings.map(\.message) == ["timer (operation 2) due in 90 s"])
        let overdue = self.explain(self.instance(), self.history([.timerCreated(operationID: 2, fireAt: self.now.addingTimeInterval(-30))]))
        #expect(overdue.findings.map(\.message) == ["timer (operation 2) was due 30 s ago, not delivered yet"])
    }

    @Test func resolvedOperationsAreNotPending() {
        let why = self.explain(self.instance(), self.history([
            .activityScheduled(operationID: 1, name: "ChargeCard", input: .null, retry: .none, timeout: nil),
            .activityCompleted(operationID: 1, result: .null),
            .timerCreated(operationID: 2, fireAt: self.now), .timerFired(operationID: 2),
            .activityScheduled(operationID: 3, name: "Ship", input: .null, retry: .none, timeout: nil), .operationCancelled(operationID: 3),
        ]))
        #expect(why.findings.map(\.kind) == [.event], "nothing pending: an external event is what is left")
        #expect(why.lines.last == "- no activity, timer or child pending: it waits for an external event (`durable raise order-7 NAME JSON`)")
    }

    @Test func aChildAndItsOwnState() {
        let child = InstanceInfo(
            id: "order-7-child", name: "Refund", version: "", executionID: "c1", status: .pending, input: .null,
            createdAt: self.now, updatedAt: self.now, waitingFor: "Refund 2.0.0"
        )
        let why = self.explain(
            self.instance(),
            self.history([.subOrchestrationScheduled(operationID: 4, name: "Refund", version: nil, instanceID: "order-7-child", input: .null)]),
            children: ["order-7-child": child]
        )
        #expect(why.findings.map(\.message) == [
            "child order-7-child (Refund, operation 4): pending, waiting for a handler: Refund 2.0.0 — `durable why order-7-child` for more"
        ])
    }

    @Test func aMissingHandlerNamesWhatLiveNodesHave() {
        let why = self.explain(
            self.instance(.pending, waitingFor: "ProcessOrder 2.0.0"), self.history([]),
            nodes: [self.node("node-1", alive: true, versions: ["1.0.0"]), self.node("node-9", alive: false, versions: ["2.0.0"])]
        )
        #expect(why.findings.first?.kind == .missingHandler)
        #expect(why.findings.first?.message.contains("node-1 has ProcessOrder@1.0.0") == true)
        #expect(why.findings.first?.message.contains("node-9") == false, "a dead node's versions do not count")
    }

    @Test func aStartNoLiveNodeCanRun() {
        var info = self.instance(.pending)
        info.version = "3.0.0"
        let why = self.explain(info, [], nodes: [self.node("node-1", alive: true, versions: ["1.0.0", "2.0.0"])])
        #expect(why.findings.map(\.kind) == [.missingHandler, .starting])
        #expect(why.findings.first?.message == "no live node can run ProcessOrder@3.0.0 (node-1 has ProcessOrder@1.0.0, node-1 has ProcessOrder@2.0.0); nodes that claim only what they can run leave it until one can")
    }

    @Test func whoHoldsTheLeaseAndWhetherItIsAlive() {
        let history = self.history([.activityScheduled(operationID: 1, name: "ChargeCard", input: .null, retry: .none, timeout: nil)])
        let running = self.explain(self.instance(), history, nodes: [self.node("node-1", alive: true, leases: ["order-7"])])
        #expect(running.findings.first?.message == "a turn is running on node node-1 (alive, last heartbeat 2 s ago)")
        let dead = self.explain(self.instance(), history, nodes: [self.node("node-2", alive: false, leases: ["order-7"])])
        #expect(dead.findings.first?.kind == .deadOwner)
        #expect(dead.findings.first?.message.contains("last heartbeat 5 min ago") == true)
    }

    @Test func finishedPoisonedAndNotStarted() {
        #expect(self.explain(self.instance(.completed)).lines == ["order-7: completed", "- completed 5 s ago"])
        let poisoned = FailureDetails(DurableError(.poisoned, "delivered 11 times without completing"))
        #expect(self.explain(self.instance(.failed, failure: poisoned)).findings.map(\.kind) == [.poisoned])
        let new = self.explain(self.instance(.pending))
        #expect(new.findings.map(\.message) == ["not started yet: its first turn has not run (created 10 min ago)"])
    }

    @Test func theExplanationEncodesAsJSON() throws {
        let why = self.explain(self.instance(), self.history([.timerCreated(operationID: 2, fireAt: self.now.addingTimeInterval(90))]))
        let decoded = try JSONDecoder().decode(InstanceExplanation.self, from: try JSONEncoder().encode(why))
        #expect(decoded == why)
    }

    @Test func aPausedInstanceSaysWhoPausedItAndUntilWhen() {
        var info = self.instance()
        info.pause = PauseRecord(by: "ana", reason: "refund check", at: self.now.addingTimeInterval(-120), until: self.now.addingTimeInterval(600))
        let explanation = InstanceExplanation(instance: info, history: self.history([]), children: [:], nodes: [], now: self.now)
        #expect(explanation.findings.first?.kind == .paused)
        #expect(explanation.findings.first?.message == "paused by ana 2 min ago: refund check; resumes by itself in 10 min; it takes no turns, what arrives meanwhile waits")
        info.pause?.until = self.now.addingTimeInterval(-1)
        let expired = InstanceExplanation(instance: info, history: self.history([]), children: [:], nodes: [], now: self.now)
        #expect(!expired.findings.contains { $0.kind == .paused })
    }

    @Test func anActivityShowsItsAttemptItsRetryAndItsLastError() {
        let history = self.history([.activityScheduled(operationID: 1, name: "ChargeCard", input: .null, retry: .none, timeout: nil)])
        let waiting = ActivityTaskInfo(
            operationID: 1, name: "ChargeCard", attempt: 3, maxAttempts: 5, visibleAt: self.now.addingTimeInterval(40), leaseOwner: nil,
            cancelRequested: false, lastError: FailureDetails(type: "Timeout", message: "the bank did not answer")
        )
        let retrying = InstanceExplanation(instance: self.instance(), history: history, children: [:], nodes: [], activities: [waiting], now: self.now)
        #expect(retrying.findings.map(\.message) == ["activity ChargeCard (operation 1) scheduled 60 s ago, no result yet: attempt 3 of 5, next retry in 40 s; last error: the bank did not answer"])
        var running = waiting
        running.leaseOwner = "node-2#a1b2"
        running.visibleAt = self.now.addingTimeInterval(25)
        running.lastError = nil
        let held = InstanceExplanation(instance: self.instance(), history: history, children: [:], nodes: [], activities: [running], now: self.now)
        #expect(held.findings.map(\.message) == ["activity ChargeCard (operation 1) scheduled 60 s ago, no result yet: attempt 3 of 5, running on node node-2"])
        running.heartbeat = Payload(json: #"{"charged":2}"#)
        running.heartbeatAt = self.now.addingTimeInterval(-4)
        let beating = InstanceExplanation(instance: self.instance(), history: history, children: [:], nodes: [], activities: [running], now: self.now)
        #expect(beating.findings.map(\.message) == [
            #"activity ChargeCard (operation 1) scheduled 60 s ago, no result yet: attempt 3 of 5, running on node node-2; last heartbeat 4 s ago: {"charged":2}"#
        ])
    }

    @Test func aQueueNobodyServesIsNotAMissingHandler() {
        let history = self.history([.activityScheduled(operationID: 1, name: "Render", input: .null, retry: .none, timeout: nil, queue: "gpu")])
        let task = ActivityTaskInfo(
            operationID: 1, name: "Render", attempt: 1, maxAttempts: 1, visibleAt: self.now.addingTimeInterval(-5), leaseOwner: nil,
            cancelRequested: false, lastError: nil, queue: "gpu"
        )
        func explain(_ nodes: [NodeInfo]) -> [String] {
            InstanceExplanation(instance: self.instance(), history: history, children: [:], nodes: nodes, activities: [task], now: self.now).findings.map(\.message)
        }
        var cpu = self.node("node-1", alive: true)
        cpu.registration.capabilities.activities = ["Render"]
        #expect(explain([cpu]) == [
            "activity Render (operation 1) scheduled 60 s ago, no result yet: attempt 1 of 1 on task queue 'gpu', waiting: no live node serves task queue 'gpu' "
                + "(live nodes serve 'default'); start a node with `activityQueues` including it"
        ])
        var gpu = self.node("node-gpu", alive: true)
        gpu.registration.capabilities.activityQueues = ["gpu"]
        #expect(explain([cpu, gpu]) == [
            "activity Render (operation 1) scheduled 60 s ago, no result yet: attempt 1 of 1 on task queue 'gpu', waiting: the nodes serving task queue 'gpu' "
                + "(node-gpu) have no handler for activity Render"
        ])
        gpu.registration.capabilities.activities = ["Render"]
        #expect(explain([cpu, gpu]) == ["activity Render (operation 1) scheduled 60 s ago, no result yet: attempt 1 of 1 on task queue 'gpu', waiting for a node to run it"])
    }

    @Test func aTurnQueueNobodyServesIsNamed() {
        var info = self.instance()
        info.queue = "gpu"
        var cpu = self.node("node-1", alive: true)
        cpu.registration.capabilities.orchestrationQueues = ["default"]
        let history = self.history([.timerCreated(operationID: 1, fireAt: self.now.addingTimeInterval(90))])
        let unserved = self.explain(info, history, nodes: [cpu])
        #expect(unserved.findings.map(\.message).first == "its turns go to task queue 'gpu', which no live node serves (live nodes serve 'default'); start a node with `orchestrationQueues` including it")
        var gpu = self.node("node-gpu", alive: true)
        gpu.registration.capabilities.orchestrationQueues = ["gpu"]
        #expect(self.explain(info, history, nodes: [cpu, gpu]).findings.map(\.kind) == [.timer], "served: only the timer is left")
        // A node of a release before orchestration queues serves them all.
        #expect(self.explain(info, history, nodes: [self.node("node-old", alive: true)]).findings.map(\.kind) == [.timer])
    }

    @Test func aSessionTaskNamesItsNode() {
        let history = self.history([.activityScheduled(operationID: 1, name: "Transcode", input: .null, retry: .none, timeout: nil, queue: TaskQueue.session(of: "node-2"))])
        let task = ActivityTaskInfo(
            operationID: 1, name: "Transcode", attempt: 1, maxAttempts: 1, visibleAt: self.now.addingTimeInterval(-5), leaseOwner: nil,
            cancelRequested: false, lastError: nil, queue: TaskQueue.session(of: "node-2")
        )
        let why = InstanceExplanation(instance: self.instance(), history: history, children: [:], nodes: [self.node("node-1", alive: true)], activities: [task], now: self.now)
        #expect(why.findings.map(\.message) == [
            "activity Transcode (operation 1) scheduled 60 s ago, no result yet: attempt 1 of 1 in a session pinned to node node-2, "
                + "waiting: node node-2 is gone, so the next node to claim takes the session over"
        ])
    }

    @Test func anAwaitedEventIsNamed() {
        var info = self.instance()
        info.awaitedEvents = ["approval"]
        info.updatedAt = self.now.addingTimeInterval(-8)
        let explanation = InstanceExplanation(instance: info, history: self.history([]), children: [:], nodes: [], now: self.now)
        #expect(explanation.findings.map(\.message) == ["waits for event 'approval' since its last turn 8 s ago (`durable raise order-7 approval JSON`)"])
    }
}
