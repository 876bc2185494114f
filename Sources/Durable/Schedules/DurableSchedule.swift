import Foundation

/// A schedule runs as an orchestration of its own, instance `schedule:<id>`: its next firing is a
/// durable timer (a known due time, no polling), its decisions (``ScheduleStateMachine``) are
/// replayed like any code, and each firing starts its instance as a child with a deterministic id
/// (schedule id + nominal time). So a firing is decided once under the schedule instance's lease,
/// and a node that dies in the middle of one is replaced by another that replays the same decision
/// and finds the instance started already: never twice, never skipped. Every runtime registers
/// it. Clients talk to it with events (``ScheduleControl``) and the `describe` query.
struct DurableSchedule: Orchestration {
    static let name = "durable.schedule"
    static let eventName = "durable.schedule"

    /// What a schedule carries from one execution to the next (continue-as-new).
    struct Record: Codable, Sendable {
        var scheduleID: String
        var definition: ScheduleDefinition
        var machine: ScheduleStateMachine?
        var pausedNote: String?
        var recent: [ScheduleDescription.Run] = []
    }

    /// Decisions per execution before it continues as new (while no firing runs), bounding the history.
    static let decisionsPerExecution = 50

    func run(_ input: Record, context: OrchestrationContext) async throws -> String {
        var record = input
        var machine = try record.machine
            ?? ScheduleStateMachine(scheduleID: record.scheduleID, spec: record.definition.spec, policy: record.definition.policy, now: context.now)
        var running: (id: String, task: DurableTask<Payload>)?
        context.setQueryHandler("describe") {
            ScheduleDescription(
                scheduleID: record.scheduleID, definition: record.definition, pausedNote: record.pausedNote,
                next: try machine.next.map { [$0] + (try record.definition.spec.nominalTimes(9, after: $0)) } ?? [],
                recent: record.recent, buffered: machine.buffered
            )
        }
        func note(_ run: ScheduleDescription.Run) {
            record.recent.append(run)
            if record.recent.count > 10 { record.recent.removeFirst(record.recent.count - 10) }
        }
        func execute(_ actions: [ScheduleStateMachine.Action], tracked: Bool = true) {
            for action in actions {
                switch action {
                case .start(let nominal, let id):
                    let task = context.scheduleSubOrchestration(
                        named: record.definition.orchestration, input: record.definition.input, as: Payload.self, instanceID: id, version: record.definition.version
                    )
                    if tracked { running = (id, task) }
                    note(.init(nominal: nominal, instanceID: id, outcome: tracked ? "started" : "backfilled"))
                case .skip(let nominal, let reason):
                    note(.init(nominal: nominal, instanceID: ScheduleStateMachine.instanceID(scheduleID: record.scheduleID, nominal: nominal), outcome: "skipped: \(reason.rawValue)"))
                case .cancel(let id):
                    // Cooperatively: its compensation runs; the schedule does not wait for it.
                    if running?.id == id { running?.task.cancel(waitForCompletion: true) }
                case .terminate(let id):
                    if running?.id == id { running?.task.cancel() }
                }
            }
        }

        // Continues as new after that many decisions, once no firing runs (its end would be lost
        // with this execution).
        var decisions = 0
        while decisions < Self.decisionsPerExecution || running != nil {
            decisions += 1
            var wakeAt: Date?
            if record.pausedNote == nil {
                let decision = try machine.decide(now: context.now, running: running != nil)
                execute(decision.actions)
                wakeAt = decision.wakeAt
            }
            let control = context.waitForEvent(Self.eventName, as: ScheduleControl.self)
            var waits: [any DurableTaskProtocol] = [control]
            let timer = wakeAt.map { context.createTimer(until: $0) }
            if let timer { waits.append(timer) }
            if let running { waits.append(running.task) }
            // The running firing is never cancelled for losing the race; the others are withdrawn.
            let winner = waits[await context.whenAny(waits, cancelLosers: false)].id
            if winner != control.id { control.cancel() }
            if let timer, winner != timer.id { timer.cancel() }

            if let current = running, winner == current.task.id {
                let outcome: String
                do {
                    _ = try await current.task.value
                    outcome = "completed"
                } catch let error as DurableError where error.code == .cancelled {
                    outcome = "cancelled"
                } catch {
                    outcome = "failed"
                }
                if let index = record.recent.lastIndex(where: { $0.instanceID == current.id }) { record.recent[index].outcome = outcome }
                running = nil
            }
            if winner == control.id {
                switch try await control.value {
                case .pause(let note): record.pausedNote = note
                case .resume: record.pausedNote = nil
                case .trigger: execute(machine.trigger(now: context.now, running: running != nil))
                case .update(let definition):
                    try definition.spec.validate()
                    record.definition = definition
                    try machine.update(spec: definition.spec, policy: definition.policy, now: context.now)
                case .backfill(let from, let through): execute(try machine.backfill(from: from, through: through), tracked: false)
                case .delete: return "deleted"
                }
            }
        }
        record.machine = machine
        try context.continueAsNew(with: record)
    }
}
