import Foundation
public import Tracing

/// Starts, signals, inspects and awaits orchestration instances. It needs only a provider, not the
/// orchestration code, so any process (a web server, the CLI) can use it.
public struct DurableClient: Sendable {
    public let provider: any DurableProvider
    let tracer: any Tracer
    /// The runtime whose ``DurableRuntime/client`` this is: its starts may be eager.
    let runtime: DurableRuntime?

    /// - Parameter tracer: where the start spans go (the root of each instance's trace); defaults
    ///   to the bootstrapped `InstrumentationSystem`.
    public init(provider: any DurableProvider, tracer: (any Tracer)? = nil) {
        self.init(provider: provider, tracer: tracer, runtime: nil)
    }

    init(provider: any DurableProvider, tracer: (any Tracer)?, runtime: DurableRuntime?) {
        self.provider = provider
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.runtime = runtime
    }

    /// Starts an instance of a typed orchestration and returns its id.
    ///
    /// Starting an id that exists with the same name and input is idempotent (returns the id, starts
    /// nothing); with another name or input it throws `instanceAlreadyExists`. Without an id, a
    /// random UUID is used, never a timestamp. Its turns go to task queue `queue`, else to its
    /// type's ``Orchestration/queue``, with `priority` (``Priority``, the default when `nil`).
    @discardableResult
    public func start<O: Orchestration>(
        _ type: O.Type,
        input: O.Input,
        instanceID: String? = nil,
        version: String? = nil,
        queue: String? = nil,
        priority: Int? = nil
    ) async throws -> String {
        try await self.start(name: O.name, input: try Payload(encoding: input), instanceID: instanceID, version: version, queue: queue ?? O.queue, priority: priority)
    }

    /// Starts an instance by name with a JSON input; `queue` `nil` sends its turns to the default queue.
    @discardableResult
    public func start(
        name: String, input: Payload, instanceID: String? = nil, version: String? = nil, queue: String? = nil, priority: Int? = nil
    ) async throws -> String {
        let id = instanceID ?? UUID().uuidString.lowercased()
        _ = try await self.start(name: name, input: input, id: id, version: version, queue: queue, priority: priority)
        return id
    }

    private func start(name: String, input: Payload, id: String, version: String?, queue: String?, priority: Int?) async throws -> StartResult {
        if let queue { try TaskQueue.validate(queue) }
        if let priority { try Priority.validate(priority) }
        // The root of the instance's trace: its turns and activities, on whichever nodes, are its
        // descendants through the context stored with the start.
        let span = self.tracer.startSpan("durable.start", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.attributes["durable.instance.id"] = id
        span.attributes["durable.orchestration.name"] = name
        if let version { span.attributes["durable.orchestration.version"] = version }
        do {
            let request = StartRequest(
                instanceID: id, name: name, version: version, input: input, traceContext: self.tracer.carrier(for: span.context), queue: queue,
                priority: priority
            )
            let result = if let runtime = self.runtime { try await runtime.start(request) } else { try await self.provider.createInstance(request) }
            if case .alreadyExists = result {
                span.attributes["durable.start.existing"] = true
            }
            return result
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Raises an event to an instance, starting it with `input` first if the id does not exist, in
    /// one atomic step: concurrent callers start one instance and every event reaches it. An
    /// existing instance keeps its input (`.alreadyExists`); a finished one throws `invalidInput`.
    @discardableResult
    public func signalWithStart<O: Orchestration, T: Encodable>(
        _ type: O.Type, input: O.Input, instanceID: String, version: String? = nil, event name: String, _ data: T
    ) async throws -> StartResult {
        let span = self.tracer.startSpan("durable.signal_with_start", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.attributes["durable.instance.id"] = instanceID
        span.attributes["durable.orchestration.name"] = O.name
        span.attributes["durable.event.name"] = name
        do {
            let carrier = self.tracer.carrier(for: span.context)
            let request = StartRequest(
                instanceID: instanceID, name: O.name, version: version, input: try Payload(encoding: input), traceContext: carrier, queue: O.queue
            )
            return try await self.provider.signalWithStart(request, event: .eventRaised(name: name, input: try Payload(encoding: data), traceContext: carrier))
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Raises an external event. An event raised before the orchestration waits for it is kept until
    /// a wait consumes it.
    public func raiseEvent<T: Encodable>(instanceID: String, name: String, _ data: T) async throws {
        // Linked from the turn that consumes the event (the instance's own trace is its start's).
        let span = self.tracer.startSpan("durable.raise_event", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.attributes["durable.instance.id"] = instanceID
        span.attributes["durable.event.name"] = name
        do {
            let message = HistoryEvent.Kind.eventRaised(name: name, input: try Payload(encoding: data), traceContext: self.tracer.carrier(for: span.context))
            try await self.provider.sendMessage(instanceID: instanceID, message)
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Cancels an instance cooperatively: at its next turn every wait of its code fails with a
    /// `cancelled` error (its pending activities, timers and children are cancelled, children
    /// cooperatively too); the code may catch it and clean up — run compensating activities — and
    /// ends `cancelled` when it throws the error on (``OrchestrationContext/isCancellationRequested``).
    /// Cancelling a finished instance does nothing. ``terminate(instanceID:reason:by:)`` ends it at
    /// once. `by` (who asks) is recorded in the history with the reason.
    public func cancel(instanceID: String, reason: String, by: String? = nil) async throws {
        try await self.provider.sendMessage(instanceID: instanceID, .cooperativeCancelRequested(reason: reason, by: by))
    }

    /// Terminates an instance: at its next turn it ends `cancelled` without running any more of its
    /// code; its pending activities and its children are cancelled (children terminated too).
    /// Terminating a finished instance does nothing. `by` (who asks) is recorded in the history.
    public func terminate(instanceID: String, reason: String, by: String? = nil) async throws {
        try await self.provider.sendMessage(instanceID: instanceID, .cancelRequested(reason: reason, by: by))
    }

    /// The instance's status, output or failure and custom status.
    public func status(instanceID: String) async throws -> InstanceInfo {
        guard let info = try await self.provider.instance(id: instanceID) else {
            throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
        }
        return info
    }

    /// Waits until the instance finishes; throws `timedOut` after `timeout`. Woken by the provider's
    /// completion notifications, with a long re-check in case one is missed, and, for a runtime's
    /// ``DurableRuntime/client``, by that runtime's own commits.
    public func waitForCompletion(instanceID: String, timeout: Duration) async throws -> InstanceInfo {
        switch try await self.waitForEnd(instanceID: instanceID, timeout: timeout) {
        case .read(let info): info
        case .completedHere: try await self.status(instanceID: instanceID)
        }
    }

    /// Waits for a typed orchestration's output; throws `orchestrationFailed` (with the failure) or
    /// `cancelled` when it did not complete.
    public func result<O: Orchestration>(of type: O.Type, instanceID: String, timeout: Duration) async throws -> O.Output {
        try Self.output(of: O.self, instanceID: instanceID, try await self.waitForEnd(instanceID: instanceID, timeout: timeout))
    }

    /// Starts an instance of a typed orchestration and waits for its output: ``start(_:input:instanceID:version:queue:priority:)``
    /// then ``result(of:instanceID:timeout:)`` in one call, which waits with one read fewer. The
    /// wait is subscribed to the instance's end before the start, so a new instance needs no read
    /// before the first wake-up: it cannot have ended before the subscription. (An id that
    /// existed is read first, as ``result(of:instanceID:timeout:)`` does.) `timeout` bounds the wait
    /// after the start.
    public func run<O: Orchestration>(
        _ type: O.Type,
        input: O.Input,
        instanceID: String? = nil,
        version: String? = nil,
        queue: String? = nil,
        priority: Int? = nil,
        timeout: Duration
    ) async throws -> O.Output {
        let id = instanceID ?? UUID().uuidString.lowercased()
        let payload = try Payload(encoding: input)
        let ended = try await self.waitForEnd(instanceID: id, timeout: timeout) {
            try await self.start(name: O.name, input: payload, id: id, version: version, queue: queue ?? O.queue, priority: priority)
        }
        return try Self.output(of: O.self, instanceID: id, ended)
    }

    private static func output<O: Orchestration>(of type: O.Type, instanceID: String, _ ended: Ended) throws -> O.Output {
        let info: InstanceInfo
        switch ended {
        case .completedHere(let output): return try output.decode(O.Output.self)
        case .read(let read): info = read
        }
        switch info.status {
        case .completed:
            return try (info.output ?? .null).decode(O.Output.self)
        case .cancelled:
            throw DurableError(.cancelled, "instance '\(instanceID)' was cancelled", instanceID: instanceID, name: info.name, failure: info.failure)
        default:
            throw DurableError(
                .orchestrationFailed,
                "instance '\(instanceID)' failed: \(info.failure.map { "\($0)" } ?? "unknown error")",
                instanceID: instanceID,
                name: info.name,
                version: info.version,
                failure: info.failure
            )
        }
    }

    /// How a wait for an instance's end ended.
    private enum Ended {
        /// Read from the provider, in a terminal status.
        case read(InstanceInfo)
        /// Completed, with this output, by a turn the client's own runtime committed.
        case completedHere(Payload)
    }

    /// Waits for the instance's end; `start`, when given, starts it once the wait is subscribed (its
    /// deadline counts from then).
    private func waitForEnd(instanceID: String, timeout: Duration, startingIt start: (() async throws -> StartResult)? = nil) async throws -> Ended {
        let wake = WakeSignal()
        // Subscribed before the first read, so a completion between the read and the wait wakes us.
        let notifications = self.provider.completionNotifications(instanceID: instanceID)
        let listener = Task {
            for await _ in notifications { wake.signal() }
        }
        defer { listener.cancel() }
        let local = self.runtime?.localOutcomes
        let watch = local?.watch(instanceID, wake: wake)
        defer { if let local, let watch { local.stopWatching(watch) } }
        // An instance created after the subscriptions above cannot have ended unseen: it is read
        // at the first wake-up, not before.
        var needsRead = true
        if let start { needsRead = try await start() != .created }
        let deadline = ContinuousClock.now + timeout
        var last: InstanceInfo?
        while true {
            if let output = watch?.output { return .completedHere(output) }
            // While this node commits a turn of the instance, the outcome comes from that commit
            // (a notification meanwhile is most likely its own): read once it has settled.
            if needsRead, watch?.isCommittingHere != true {
                let info = try await self.status(instanceID: instanceID)
                if info.status.isTerminal { return .read(info) }
                last = info
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw DurableError(
                    .timedOut,
                    "instance '\(instanceID)' did not finish within \(timeout) (status \(last?.status.rawValue ?? "unknown"))",
                    instanceID: instanceID,
                    name: last?.name
                )
            }
            try Task.checkCancellation()
            await wake.wait(timeout: min(remaining, .seconds(5)))
            needsRead = true
        }
    }

    /// A page of instances.
    public func list(_ query: InstanceQuery = .init()) async throws -> InstancePage {
        try await self.provider.listInstances(query)
    }

    /// The current execution's history.
    public func history(instanceID: String) async throws -> [HistoryEvent] {
        try await self.provider.history(instanceID: instanceID)
    }

    /// Deletes finished instances; returns how many.
    @discardableResult
    public func purge(_ query: PurgeQuery) async throws -> Int {
        try await self.provider.purgeInstances(query)
    }
}

extension DurableClient {
    /// The registered nodes, alive or not, with the leases each holds. A node counts as alive while
    /// its last heartbeat is younger than `staleAfter`.
    public func nodes(staleAfter: Duration = .seconds(10)) async throws -> [NodeInfo] {
        try await self.provider.listNodes(staleAfter: staleAfter)
    }

    /// What the live nodes can run together: orchestration names with every version some live node
    /// has, and activity names.
    public func registeredHandlers(staleAfter: Duration = .seconds(10)) async throws -> Capabilities {
        var orchestrations: [String: Set<String>] = [:]
        var activities: Set<String> = []
        for node in try await self.nodes(staleAfter: staleAfter) where node.isAlive {
            for (name, versions) in node.registration.capabilities.orchestrations {
                orchestrations[name, default: []].formUnion(versions)
            }
            activities.formUnion(node.registration.capabilities.activities)
        }
        return Capabilities(
            orchestrations: orchestrations.mapValues { $0.sorted(by: Registry.versionPrecedes) },
            activities: activities.sorted()
        )
    }
}
