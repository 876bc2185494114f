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
