/// Starts that share a key run as an orchestration of their own, instance `keyed:<key>`: calls
/// arrive as events (signal-with-start, so concurrent callers reach one instance), the quiet period
/// of a debounce is a durable timer, and each start is a child with a deterministic id
/// (`<key>#<n>`), decided by ``KeyedStartMachine``. So a decision is made once, under the key
/// instance's lease, and a node that dies in the middle of one is replaced by another that replays
/// it and finds the child started already. Every runtime registers it.
struct DurableKeyedStart: Orchestration {
    static let name = "durable.keyed"
    static let eventName = "durable.keyed.call"

    /// What a key carries from one execution to the next (continue-as-new).
    struct Record: Codable, Sendable {
        var orchestration: String
        var version: String?
        var queue: String?
        var machine: KeyedStartMachine
    }

    /// Decisions per execution before it continues as new (while no instance of it runs),
    /// bounding the history.
    static let decisionsPerExecution = 100

    static func instanceID(key: String) -> String { "keyed:\(key)" }

    func run(_ input: Record, context: OrchestrationContext) async throws -> String {
        var record = input
        // The running instances of a singleton or a concurrency limit, oldest first (as the
        // machine's); a debounced start is not waited for.
        var running: [(id: String, task: DurableTask<Payload>)] = []
        var decisions = 0
        // The end of a running instance would be lost with this execution: it continues as new
        // only without one.
        while decisions < Self.decisionsPerExecution || !running.isEmpty {
            decisions += 1
            let call = context.waitForEvent(Self.eventName, as: Payload.self)
            var waits: [any DurableTaskProtocol] = [call]
            let timer = record.machine.wakeAt.map { context.createTimer(until: $0) }
            if let timer { waits.append(timer) }
            waits += running.map(\.task)
            let winner = waits[await context.whenAny(waits, cancelLosers: false)].id
            if winner != call.id { call.cancel() }
            if let timer, winner != timer.id { timer.cancel() }

            let actions: [KeyedStartMachine.Action]
            if winner == call.id {
                actions = record.machine.call(try await call.value, now: context.now)
            } else if let timer, winner == timer.id {
                actions = record.machine.wake(now: context.now)
            } else if let index = running.firstIndex(where: { $0.task.id == winner }) {
                // However it ended: a failed instance does not stop the key.
                let ended = running.remove(at: index)
                _ = try? await ended.task.value
                actions = record.machine.finished(ended.id)
            } else {
                actions = []
            }
            for case .start(let payload, let id) in actions {
                let task = context.scheduleSubOrchestration(
                    named: record.orchestration, input: payload, as: Payload.self, instanceID: id, version: record.version, queue: record.queue
                )
                if record.machine.policy.runningLimit != nil { running.append((id, task)) }
            }
        }
        try context.continueAsNew(with: record)
    }
}
