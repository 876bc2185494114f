import Foundation

// Operator control: pause and resume, as PauseStateMachine decides.
extension InMemoryProvider {
    public func pauseInstance(_ request: PauseRequest) async throws -> PauseOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        let now = self.now()
        return try self.state.withLock { state throws(DurableError) -> PauseOutcome in
            let id = request.instanceID
            let (action, outcome) = try PauseStateMachine(now: now).pause(state.controlView(of: id, now: now), request)
            guard case .pause(let record, let interruptsTurn) = action, var instance = state.instances[id] else { return outcome }
            instance.info.pause = record
            instance.info.updatedAt = now
            instance.epoch += 1
            instance.lease = nil
            if interruptsTurn { instance.deliveries = max(0, instance.deliveries - 1) }
            state.instances[id] = instance
            state.enqueue(id, executionID: nil, .instancePaused(record), visibleAt: now)
            if let until = record.until {
                state.enqueue(id, executionID: nil, .instanceResumed(by: PauseRecord.deadline, at: until), visibleAt: until)
            }
            return outcome
        }
    }

    public func resumeInstance(_ request: ResumeRequest) async throws -> ResumeOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        let now = self.now()
        let outcome = try self.state.withLock { state throws(DurableError) -> ResumeOutcome in
            let id = request.instanceID
            let (action, outcome) = try PauseStateMachine(now: now).resume(state.controlView(of: id, now: now), request)
            guard case .resume(let by, let at) = action, var instance = state.instances[id] else { return outcome }
            instance.info.pause = nil
            instance.info.updatedAt = now
            instance.epoch += 1
            state.instances[id] = instance
            state.inbox[id]?.removeAll { message in
                if case .instanceResumed = message.kind { message.visibleAt > now } else { false }
            }
            state.enqueue(id, executionID: nil, .instanceResumed(by: by, at: at), visibleAt: now)
            return outcome
        }
        if outcome == .resumed { self.notify(.orchestrations) }
        return outcome
    }
}

extension InMemoryProvider.State {
    func controlView(of id: String, now: Date) -> PauseStateMachine.Instance? {
        self.instances[id].map { instance in
            PauseStateMachine.Instance(
                id: id, status: instance.info.status, pause: instance.info.pause,
                leased: instance.lease.map { $0.expiresAt > now } ?? false
            )
        }
    }
}

// Reset, as ResetPlanner plans it.
extension InMemoryProvider {
    public func resetInstance(_ request: ResetRequest) async throws -> ResetOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        if let event = request.event {
            try ProviderValidation.name(event.name)
            try ProviderValidation.payload(event.input, limit: self.maxPayloadBytes, what: "the event data", instanceID: request.instanceID)
        }
        let now = self.now()
        let outcome = try self.state.withLock { state throws(DurableError) -> ResetOutcome in
            let id = request.instanceID
            guard var instance = state.instances[id] else { throw DurableError(.instanceNotFound, "no instance '\(id)'", instanceID: id) }
            let executionID = UUID().uuidString.lowercased()
            let plan = try ResetPlanner.plan(request, history: instance.history, newExecutionID: executionID)
            let old = instance.info.executionID
            if instance.info.status.isTerminal, let key = instance.concurrencyKey { state.concurrencyKeys[key]?.restarted() }
            instance.resetExecutions[old] = instance.history + [HistoryEvent(sequenceNumber: instance.history.count, timestamp: now, kind: .executionReset(plan.record))]
            instance.history = plan.history
            instance.info.executionID = executionID
            instance.info.version = plan.start.version
            instance.info.status = plan.history.isEmpty ? .pending : .running
            instance.info.output = nil
            instance.info.failure = nil
            instance.info.completedAt = nil
            instance.info.completedBy = nil
            instance.info.waitingFor = nil
            instance.info.updatedAt = now
            instance.epoch += 1
            instance.lease = nil
            instance.deliveries = 0
            instance.handlerMisses = 0
            state.instances[id] = instance

            state.inbox[id]?.removeAll { $0.executionID == old }
            for (taskID, task) in state.tasks where task.instanceID == id && task.executionID == old {
                if let lease = task.lease, lease.expiresAt > now { state.tasks[taskID]?.cancelRequested = true } else { state.tasks[taskID] = nil }
            }
            for activity in plan.activities {
                let taskID = "\(id)|\(executionID)|\(activity.operationID)"
                state.tasks[taskID] = ActivityTask(id: taskID, instanceID: id, executionID: executionID, request: activity, visibleAt: now, sequence: state.newID())
            }
            for timer in plan.timers {
                state.enqueue(id, executionID: executionID, .timerFired(operationID: timer.operationID), visibleAt: timer.fireAt)
            }
            // The new start and the injected event come before what was waiting.
            let waiting = state.inbox[id]?.filter { $0.executionID == nil && $0.visibleAt <= now && !Self.isPauseDeadline($0.kind) } ?? []
            state.inbox[id]?.removeAll { message in waiting.contains { $0.id == message.id } }
            for message in plan.messages {
                if case .executionStarted = message {
                    state.enqueue(id, executionID: executionID, message, visibleAt: now)
                } else {
                    state.enqueue(id, executionID: nil, message, visibleAt: now)
                }
            }
            for message in waiting { state.enqueue(id, executionID: nil, message.kind, visibleAt: now) }
            for child in plan.childrenToCancel where state.instances[child].map({ !$0.info.status.isTerminal }) ?? false {
                state.enqueue(child, executionID: nil, .cancelRequested(reason: "its parent \(id) was reset"), visibleAt: now)
            }
            return ResetOutcome(previousExecutionID: old, executionID: executionID, keptEvents: plan.history.count, rescheduled: plan.activities.count + plan.timers.count)
        }
        self.notify(.orchestrations)
        self.notify(.activities)
        return outcome
    }

    /// A pause's resume at its deadline, which stays where it is.
    static func isPauseDeadline(_ kind: HistoryEvent.Kind) -> Bool {
        if case .instanceResumed(let by, _) = kind { by == PauseRecord.deadline } else { false }
    }

    public func history(instanceID: String, executionID: String) async throws -> [HistoryEvent] {
        try self.state.withLock { state throws(DurableError) in
            guard let instance = state.instances[instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
            }
            return instance.info.executionID == executionID ? instance.history : instance.resetExecutions[executionID] ?? []
        }
    }
}
