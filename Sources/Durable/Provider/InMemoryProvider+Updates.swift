import Foundation

// Updates (DurableUpdates): a record per update id, its message in the instance's inbox.
extension InMemoryProvider {
    public func sendUpdate(_ update: UpdateRequest) async throws -> Bool {
        try ProviderValidation.update(update, limit: self.maxPayloadBytes)
        let now = self.now()
        let sent = try self.state.withLock { state throws(DurableError) -> Bool in
            guard let instance = state.instances[update.instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(update.instanceID)'", instanceID: update.instanceID)
            }
            guard state.updates[update.id] == nil else { return false }
            guard !instance.info.status.isTerminal else {
                throw DurableError(.instanceFinished, "instance '\(update.instanceID)' is \(instance.info.status.rawValue) and takes no updates", instanceID: update.instanceID)
            }
            state.updates[update.id] = (update.instanceID, nil)
            state.enqueue(update.instanceID, executionID: nil, update.message, visibleAt: now)
            return true
        }
        if sent { self.notify(.orchestrations) }
        return sent
    }

    public func updateWithStart(_ start: StartRequest, _ update: UpdateRequest) async throws -> StartResult {
        try ProviderValidation.updateWithStart(start, update, limit: self.maxPayloadBytes)
        let now = self.now()
        let result = try self.state.withLock { state throws(DurableError) -> StartResult in
            let result: StartResult
            if let existing = state.instances[start.instanceID] {
                guard !existing.info.status.isTerminal || state.updates[update.id] != nil else {
                    throw DurableError(.instanceFinished, "instance '\(start.instanceID)' is \(existing.info.status.rawValue) and takes no updates", instanceID: start.instanceID)
                }
                result = .alreadyExists
            } else {
                state.create(start, now: now)
                result = .created
            }
            if state.updates[update.id] == nil {
                state.updates[update.id] = (update.instanceID, nil)
                state.enqueue(update.instanceID, executionID: nil, update.message, visibleAt: now)
            }
            return result
        }
        self.notify(.orchestrations)
        return result
    }

    public func updateOutcome(id: String) async throws -> UpdateOutcome? {
        self.state.withLock { $0.updates[id]?.outcome }
    }

    public func updateOutcomes(id: String) -> AsyncStream<Void> {
        self.hub.subscribe(updateOf: id)
    }
}
