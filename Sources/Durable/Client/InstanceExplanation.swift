public import Foundation

/// Why an instance is where it is, in a few plain lines (`durable why ID`), derived from what the
/// database holds: the instance row, its history, the instances of its children and the node
/// registry. Pure: ``init(instance:history:children:nodes:now:)`` does no I/O, so every kind of
/// wait is unit-tested; ``DurableClient/explain(instanceID:)`` gathers the inputs.
public struct InstanceExplanation: Sendable, Hashable, Codable {
    /// One thing that explains the instance's state.
    public struct Finding: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable {
            case finished
            case poisoned
            case missingHandler = "missing_handler"
            case runningTurn = "running_turn"
            case deadOwner = "dead_owner"
            case activity
            case timer
            case child
            case event
            case starting
            case paused
            case waitingForSlot = "waiting_for_slot"
        }

        public var kind: Kind
        public var message: String
    }

    public var instanceID: String
    public var status: InstanceStatus
    public var findings: [Finding]

    /// The findings as lines for a terminal.
    public var lines: [String] {
        ["\(self.instanceID): \(self.status.rawValue)"] + self.findings.map { "- \($0.message)" }
    }

    /// A call started under a concurrency limit that waits for a slot of `key` (its instance does
    /// not exist yet).
    public init(waitingCall instanceID: String, key: ConcurrencyKeyInfo) {
        self.instanceID = instanceID
        self.status = .pending
        let before = key.waiting.firstIndex(of: instanceID) ?? 0
        self.findings = [
            Finding(
                kind: .waitingForSlot,
                message: "waits for a slot of concurrency key '\(key.key)': \(key.running) of \(key.limit) running, "
                    + "\(before == 0 ? "next in line" : "\(before) call\(before == 1 ? "" : "s") before it"); it starts when one of the key's instances ends"
            ),
        ]
    }

    public init(
        instance: InstanceInfo, history: [HistoryEvent], children: [String: InstanceInfo], nodes: [NodeInfo], activities: [ActivityTaskInfo] = [],
        now: Date
    ) {
        self.instanceID = instance.id
        self.status = instance.status
        var findings: [Finding] = []
        func add(_ kind: Finding.Kind, _ message: String) { findings.append(Finding(kind: kind, message: message)) }
        func ago(_ date: Date) -> String { Self.duration(now.timeIntervalSince(date)) + " ago" }

        if instance.status.isTerminal {
            let when = instance.completedAt.map { " \(ago($0))" } ?? ""
            if let failure = instance.failure, failure.code == DurableError.Code.poisoned.description {
                add(.poisoned, "poisoned\(when): \(failure.message)")
            } else if let failure = instance.failure {
                add(.finished, "\(instance.status.rawValue)\(when): \(failure.message)")
            } else {
                add(.finished, "\(instance.status.rawValue)\(when)" + (instance.completedBy.map { " on node \($0)" } ?? ""))
            }
            self.findings = findings
            return
        }

        if let pause = instance.pause, pause.until.map({ $0 > now }) ?? true {
            let reason = pause.reason.isEmpty ? "" : ": \(pause.reason)"
            let until = pause.until.map { "; resumes by itself in \(Self.duration($0.timeIntervalSince(now)))" } ?? "; `durable resume \(instance.id)` resumes it"
            add(.paused, "paused by \(pause.by) \(ago(pause.at))\(reason)\(until); it takes no turns, what arrives meanwhile waits")
        }
        if let holder = nodes.first(where: { $0.registration.id != "" && $0.instanceLeases.contains(instance.id) }) {
            if holder.isAlive {
                add(.runningTurn, "a turn is running on node \(holder.registration.id) (alive, last heartbeat \(ago(holder.heartbeatAt)))")
            } else {
                add(.deadOwner, "its lease is held by node \(holder.registration.id), which is not alive (last heartbeat \(ago(holder.heartbeatAt))); another node takes it over")
            }
        }
        let live = nodes.filter(\.isAlive)
        // Nodes of a release before orchestration queues take turns from every queue.
        let serving = live.filter { $0.registration.capabilities.orchestrationQueues?.contains(instance.queue) ?? true }
        if !live.isEmpty, serving.isEmpty {
            let served = Set(live.flatMap { $0.registration.capabilities.orchestrationQueues ?? [] }).sorted().map { "'\($0)'" }.joined(separator: ", ")
            add(
                .missingHandler,
                "its turns go to task queue '\(instance.queue)', which no live node serves (live nodes serve \(served)); "
                    + "start a node with `orchestrationQueues` including it"
            )
        }
        let versions = live.flatMap { node in
            (node.registration.capabilities.orchestrations[instance.name] ?? []).map { "\(node.registration.id) has \(instance.name)@\($0)" }
        }
        let others = versions.isEmpty ? "no live node has \(instance.name) at all" : versions.joined(separator: ", ")
        if let missing = instance.waitingFor {
            add(.missingHandler, "waits for a handler: \(missing), which no node that claimed it had (\(others)); it is handed back with backoff until a node has it")
        } else if history.isEmpty, !live.isEmpty, !live.contains(where: { node in
            node.registration.capabilities.orchestrations[instance.name].map { instance.version.isEmpty || $0.contains(instance.version) } ?? false
        }) {
            // Capability-aware claims leave it alone until a node can run it.
            let wanted = instance.version.isEmpty ? instance.name : "\(instance.name)@\(instance.version)"
            add(.missingHandler, "no live node can run \(wanted) (\(others)); nodes that claim only what they can run leave it until one can")
        }

        let pending = Self.pendingOperations(history)
        for operation in pending {
            switch operation {
            case .activity(let id, let name, let since):
                let task = activities.first { $0.operationID == id }
                add(.activity, "activity \(name) (operation \(id)) scheduled \(ago(since)), no result yet" + (task.map { Self.describe($0, now: now, live: live) } ?? ""))
            case .timer(let id, let fireAt):
                let due = fireAt > now ? "due in \(Self.duration(fireAt.timeIntervalSince(now)))" : "was due \(ago(fireAt)), not delivered yet"
                add(.timer, "timer (operation \(id)) \(due)")
            case .child(let id, let name, let childID):
                let state = children[childID].map { child -> String in
                    var text = child.status.rawValue
                    if let missing = child.waitingFor { text += ", waiting for a handler: \(missing)" }
                    return text
                } ?? "not created yet"
                add(.child, "child \(childID) (\(name), operation \(id)): \(state) — `durable why \(childID)` for more")
            }
        }
        for name in instance.awaitedEvents {
            add(.event, "waits for event '\(name)' since its last turn \(ago(instance.updatedAt)) (`durable raise \(instance.id) \(name) JSON`)")
        }
        if history.isEmpty {
            add(.starting, "not started yet: its first turn has not run (created \(ago(instance.createdAt)))")
        } else if pending.isEmpty && instance.awaitedEvents.isEmpty && instance.waitingFor == nil && !findings.contains(where: { $0.kind == .runningTurn }) {
            add(.event, "no activity, timer or child pending: it waits for an external event (`durable raise \(instance.id) NAME JSON`)")
        }
        self.findings = findings
    }

    enum PendingOperation: Equatable {
        case activity(id: Int, name: String, since: Date)
        case timer(id: Int, fireAt: Date)
        case child(id: Int, name: String, instanceID: String)
    }

    /// The operations the history scheduled and has no outcome for, in the order scheduled.
    static func pendingOperations(_ history: [HistoryEvent]) -> [PendingOperation] {
        var pending: [Int: PendingOperation] = [:]
        var order: [Int] = []
        for event in history {
            switch event.kind {
            case .activityScheduled(let id, let name, _, _, _, _, _, _, _):
                pending[id] = .activity(id: id, name: name, since: event.timestamp)
                order.append(id)
            case .timerCreated(let id, let fireAt):
                pending[id] = .timer(id: id, fireAt: fireAt)
                order.append(id)
            case .subOrchestrationScheduled(let id, let name, _, let childID, _, _, _):
                pending[id] = .child(id: id, name: name, instanceID: childID)
                order.append(id)
            case .activityCompleted(let id, _), .activityFailed(let id, _), .timerFired(let id),
                .subOrchestrationCompleted(let id, _), .subOrchestrationFailed(let id, _), .operationCancelled(let id):
                pending[id] = nil
            default:
                break
            }
        }
        return order.compactMap { pending[$0] }
    }

    /// An activity task's attempt, where it is and its last error, as a clause; `live` tells a queue
    /// nobody serves from a handler nobody has.
    static func describe(_ task: ActivityTaskInfo, now: Date, live: [NodeInfo]) -> String {
        var text = ": attempt \(task.attempt) of \(task.maxAttempts)"
        let sessionNode = TaskQueue.sessionNode(of: task.queue)
        if let sessionNode {
            text += " in a session pinned to node \(sessionNode)"
        } else if task.queue != TaskQueue.defaultName {
            text += " on task queue '\(task.queue)'"
        }
        let serving = live.filter { $0.registration.capabilities.servedQueues.contains(task.queue) }
        if let owner = task.leaseOwner {
            text += ", running on node \(owner.split(separator: "#").first.map(String.init) ?? owner)"
        } else if task.visibleAt > now {
            text += ", next retry in \(Self.duration(task.visibleAt.timeIntervalSince(now)))"
        } else if let sessionNode, serving.isEmpty {
            text += ", waiting: node \(sessionNode) is gone, so the next node to claim takes the session over"
        } else if !live.isEmpty, serving.isEmpty {
            let served = Set(live.flatMap(\.registration.capabilities.servedQueues)).sorted().map { "'\($0)'" }.joined(separator: ", ")
            text += ", waiting: no live node serves task queue '\(task.queue)' (live nodes serve \(served)); "
                + "start a node with `activityQueues` including it"
        } else if !serving.isEmpty, !serving.contains(where: { $0.registration.capabilities.activities.contains(task.name) }) {
            let nodes = serving.map(\.registration.id).sorted().joined(separator: ", ")
            text += ", waiting: the nodes serving task queue '\(task.queue)' (\(nodes)) have no handler for activity \(task.name)"
        } else {
            text += ", waiting for a node to run it"
        }
        if task.cancelRequested { text += ", cancellation requested" }
        if let heartbeat = task.heartbeat, let at = task.heartbeatAt {
            text += "; last heartbeat \(Self.duration(now.timeIntervalSince(at))) ago: \(heartbeat.abbreviated)"
        }
        if let error = task.lastError { text += "; last error: \(error.message)" }
        return text
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let seconds = max(0, seconds)
        switch seconds {
        case ..<1: return "\(Int(seconds * 1000)) ms"
        case ..<120: return "\(Int(seconds)) s"
        case ..<7200: return "\(Int(seconds / 60)) min"
        case ..<172_800: return "\(Int(seconds / 3600)) h"
        default: return "\(Int(seconds / 86_400)) days"
        }
    }
}

extension DurableClient {
    /// Why the instance is where it is (``InstanceExplanation``), from the database alone.
    ///
    /// - Throws: `instanceNotFound` for an unknown id.
    public func explain(instanceID: String, staleNodeAfter: Duration = .seconds(30)) async throws -> InstanceExplanation {
        let info: InstanceInfo
        do {
            info = try await self.status(instanceID: instanceID)
        } catch let error as DurableError where error.code == .instanceNotFound {
            // A call under a concurrency limit, `<key>#<n>`, has no instance while it waits.
            guard let mark = instanceID.lastIndex(of: "#"),
                let key = try await self.provider.concurrencyKey(String(instanceID[..<mark])), key.waiting.contains(instanceID)
            else { throw error }
            return InstanceExplanation(waitingCall: instanceID, key: key)
        }
        let history = info.status.isTerminal ? [] : try await self.history(instanceID: instanceID)
        var children: [String: InstanceInfo] = [:]
        for case .child(_, _, let childID) in InstanceExplanation.pendingOperations(history) {
            children[childID] = try await self.provider.instance(id: childID)
        }
        let nodes = try await self.provider.listNodes(staleAfter: staleNodeAfter)
        let activities = info.status.isTerminal ? [] : try await self.provider.activities(instanceID: instanceID)
        return InstanceExplanation(instance: info, history: history, children: children, nodes: nodes, activities: activities, now: Date())
    }
}
