public import Foundation

extension OrchestrationContext {
    // MARK: Activities

    /// Schedules an activity and returns its handle without waiting. `timeout` limits one attempt;
    /// with `heartbeatTimeout`, an attempt that sends no heartbeat (``ActivityContext/heartbeat(_:)``)
    /// for that long is given up and retried per `retry`, on any node. `queue` sends it to a task
    /// queue (``TaskQueue``) other than its type's ``Activity/queue``: only nodes that serve that
    /// queue run it. `rateLimit` names the ``RateLimit`` its attempts start under, else its type's
    /// ``Activity/rateLimit``.
    public func scheduleActivity<A: Activity>(
        _ type: A.Type,
        _ input: A.Input,
        retry: RetryPolicy = .none,
        timeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil,
        queue: String? = nil,
        rateLimit: String? = nil,
        priority: Int? = nil
    ) -> DurableTask<A.Output> {
        self.scheduleActivity(
            named: A.name, input: input, as: A.Output.self, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: queue ?? A.queue,
            rateLimit: rateLimit ?? A.rateLimit, priority: priority
        )
    }

    /// Runs an activity and returns its output; throws an `activityFailed` ``DurableError`` once the
    /// retry policy gives up.
    public func activity<A: Activity>(
        _ type: A.Type,
        _ input: A.Input,
        retry: RetryPolicy = .none,
        timeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil,
        queue: String? = nil,
        rateLimit: String? = nil,
        priority: Int? = nil
    ) async throws -> A.Output {
        try await self.scheduleActivity(
            type, input, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: queue, rateLimit: rateLimit, priority: priority
        ).value
    }

    /// Schedules an activity by name, for activities whose types this code does not have; `queue`
    /// `nil` sends it to the default queue. A ``Payload`` input is passed as the JSON it holds.
    public func scheduleActivity<Input: Encodable, Output: Decodable & Sendable>(
        named name: String,
        input: Input,
        as output: Output.Type = Output.self,
        retry: RetryPolicy = .none,
        timeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil,
        queue: String? = nil,
        rateLimit: String? = nil,
        priority: Int? = nil
    ) -> DurableTask<Output> {
        let slot = self.schedule { id throws(DurableError) in
            let payload = try Payload(asInput: input)
            if let queue { try TaskQueue.validate(queue) }
            let priority = priority ?? self.priority
            try Priority.validate(priority)
            // The default queue is left out of the history, as before queues existed.
            let queue = queue == TaskQueue.defaultName ? nil : queue
            return (
                .activityScheduled(
                    operationID: id, name: name, input: payload, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: queue,
                    rateLimit: rateLimit, priority: Priority.recorded(priority)
                ),
                .activity(name: name)
            )
        }
        return DurableTask(context: self, slot: slot)
    }

    // MARK: Timers

    /// Starts a durable timer that fires at `fireAt`; its value is the fire time.
    public func createTimer(until fireAt: Date) -> DurableTask<Date> {
        let fireAt = fireAt.roundedToMilliseconds
        let slot = self.schedule { id throws(DurableError) in
            (.timerCreated(operationID: id, fireAt: fireAt), .timer(fireAt: fireAt))
        }
        return DurableTask(context: self, slot: slot)
    }

    /// Starts a durable timer that fires after `duration`, counted from ``now``.
    public func createTimer(for duration: Duration) -> DurableTask<Date> {
        self.createTimer(until: self.now.addingTimeInterval(duration.seconds))
    }

    /// Sleeps durably: the instance is unloaded and resumed when the timer fires, on any node.
    public func sleep(for duration: Duration) async throws {
        _ = try await self.createTimer(for: duration).value
    }

    /// Sleeps durably until `date`.
    public func sleep(until date: Date) async throws {
        _ = try await self.createTimer(until: date).value
    }

    // MARK: External events

    /// Waits for the next event raised with `name`. An event raised before anyone waits is kept
    /// and consumed by the first wait.
    public func waitForEvent<T: Decodable & Sendable>(_ name: String, as type: T.Type = T.self) -> DurableTask<T> {
        let slot = self.state.withLock { state in
            let id = state.newLocalID()
            var slot = ReplayState.Slot(kind: .event(name: name))
            if let index = state.bufferedEvents.firstIndex(where: { $0.name == name }) {
                slot.result = .success(state.bufferedEvents.remove(at: index).input)
            } else {
                state.eventWaiters[name, default: []].append(id)
            }
            state.add(slot, id: id)
            return id
        }
        return DurableTask(context: self, slot: slot)
    }

    /// Waits for an event raised with `name`; throws a `timedOut` ``DurableError`` when `timeout`
    /// passes first.
    public func event<T: Decodable & Sendable>(
        _ name: String,
        as type: T.Type = T.self,
        timeout: Duration? = nil
    ) async throws -> T {
        let event = self.waitForEvent(name, as: T.self)
        guard let timeout, !event.isCompleted else {
            return try await event.value
        }
        let timer = self.createTimer(for: timeout)
        if await self.whenAny([event, timer]) == 0 {
            return try await event.value
        }
        throw DurableError(
            .timedOut,
            "no event '\(name)' within \(timeout)",
            instanceID: self.instanceID,
            name: name
        )
    }

    // MARK: Sub-orchestrations

    /// Starts a sub-orchestration and returns its handle. Its instance id is `instanceID`, or one
    /// derived from this execution and the operation's sequence number; its turns go to task queue
    /// `queue`, else to its type's ``Orchestration/queue``.
    public func scheduleSubOrchestration<O: Orchestration>(
        _ type: O.Type,
        _ input: O.Input,
        instanceID: String? = nil,
        version: String? = nil,
        queue: String? = nil,
        priority: Int? = nil
    ) -> DurableTask<O.Output> {
        self.scheduleSubOrchestration(
            named: O.name, input: input, as: O.Output.self, instanceID: instanceID, version: version, queue: queue ?? O.queue, priority: priority
        )
    }

    /// Runs a sub-orchestration and returns its output; throws a `subOrchestrationFailed`
    /// ``DurableError`` when it fails.
    public func subOrchestration<O: Orchestration>(
        _ type: O.Type,
        _ input: O.Input,
        instanceID: String? = nil,
        version: String? = nil,
        queue: String? = nil,
        priority: Int? = nil
    ) async throws -> O.Output {
        try await self.scheduleSubOrchestration(type, input, instanceID: instanceID, version: version, queue: queue, priority: priority).value
    }

    /// Starts a sub-orchestration by name. A ``Payload`` input is passed as the JSON it holds;
    /// `queue` `nil` sends its turns to the default queue.
    public func scheduleSubOrchestration<Input: Encodable, Output: Decodable & Sendable>(
        named name: String,
        input: Input,
        as output: Output.Type = Output.self,
        instanceID: String? = nil,
        version: String? = nil,
        queue: String? = nil,
        priority: Int? = nil
    ) -> DurableTask<Output> {
        let slot = self.schedule { id throws(DurableError) in
            let payload = try Payload(asInput: input)
            if let queue { try TaskQueue.validate(queue) }
            let priority = priority ?? self.priority
            try Priority.validate(priority)
            // The default queue is left out of the history, as before queues existed.
            let queue = queue == TaskQueue.defaultName ? nil : queue
            let childID = instanceID ?? "\(self.instanceID):\(self.executionID.prefix(8)):\(id)"
            return (
                .subOrchestrationScheduled(
                    operationID: id, name: name, version: version, instanceID: childID, input: payload, queue: queue, priority: Priority.recorded(priority)
                ),
                .subOrchestration(name: name, instanceID: childID)
            )
        }
        return DurableTask(context: self, slot: slot)
    }

    // MARK: Continue-as-new

    /// Ends this execution and starts the instance afresh with `input` and an empty history: the way
    /// to write an eternal loop without an ever-growing history. Events raised but not yet consumed
    /// carry over. The new execution runs `version`, or the newest registered version.
    public func continueAsNew<Input: Encodable>(with input: Input, version: String? = nil) throws -> Never {
        let payload = try Payload(encoding: input)
        self.state.withLock { $0.continueAsNew = (payload, version) }
        throw ContinueAsNewRequested()
    }

    // MARK: Joining

    /// Waits for every task and returns their outputs in order; throws the first failure in order.
    public func whenAll<T>(_ tasks: [DurableTask<T>]) async throws -> [T] {
        var outputs: [T] = []
        outputs.reserveCapacity(tasks.count)
        for task in tasks {
            outputs.append(try await task.value)
        }
        return outputs
    }

    /// Waits until one of the tasks completes and returns its index. The others, unless
    /// `cancelLosers` is false, are cancelled: activities and sub-orchestrations are asked to stop,
    /// timers dropped, event waits withdrawn.
    public func whenAny(_ tasks: [any DurableTaskProtocol], cancelLosers: Bool = true) async -> Int {
        precondition(!tasks.isEmpty, "whenAny needs at least one task")
        let slots = tasks.map(\.id.slot)
        let winner: Int = await withCheckedContinuation { continuation in
            let done = self.state.withLock { state -> Int? in
                if let done = slots.first(where: { state.slots[$0]?.result != nil }) { return done }
                let raceID = state.nextRaceID
                state.nextRaceID += 1
                state.races[raceID] = ReplayState.Race(slots: slots, continuation: continuation)
                for slot in slots { state.slots[slot]?.races.append(raceID) }
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
        if cancelLosers {
            for slot in slots where slot != winner { self.cancel(slot) }
        }
        return slots.firstIndex(of: winner) ?? 0
    }

    // MARK: Plumbing

    /// Allocates an operation id, records the decision and creates its slot. A failure (encoding,
    /// divergence) is kept in the slot and thrown when the result is awaited.
    func schedule(_ make: (Int) throws(DurableError) -> (HistoryEvent.Kind, ReplayState.Slot.Kind)) -> Int {
        self.state.withLock { state in
            let id = state.newOperationID()
            do throws(DurableError) {
                let (event, kind) = try make(id)
                state.add(ReplayState.Slot(kind: kind), id: id)
                try state.record(event)
            } catch {
                state.slots[id, default: ReplayState.Slot(kind: .event(name: ""))].result = .failure(error)
                state.pending.remove(id)
            }
            return id
        }
    }

    func result(of slot: Int) async -> Result<Payload, DurableError> {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state -> Result<Payload, DurableError>? in
                    if let result = state.slots[slot]?.result { return result }
                    guard state.slots[slot] != nil, !state.isDisposed else {
                        return .failure(DurableError(.cancelled, "the execution was unloaded", instanceID: self.instanceID))
                    }
                    state.slots[slot]?.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            // Plain Swift cancellation (a task group's cancelAll, an abandoned async let) gives the
            // durable operation up too.
            self.cancel(slot)
        }
    }

    func cancel(_ slot: Int, waitForCompletion: Bool = false) {
        let wakeups = self.state.withLock { state in
            let error = DurableError(.cancelled, "operation \(slot) was cancelled", instanceID: self.instanceID)
            return waitForCompletion ? state.requestCancellation(slot, otherwise: error) : state.giveUp(slot, error)
        }
        wakeups.resume()
    }
}

/// Thrown by ``OrchestrationContext/continueAsNew(with:version:)`` to unwind the orchestration code.
struct ContinueAsNewRequested: Error {}

extension Date {
    /// The engine works in milliseconds, the precision of the history's timestamps.
    package var roundedToMilliseconds: Date {
        Date(timeIntervalSince1970: (self.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}
