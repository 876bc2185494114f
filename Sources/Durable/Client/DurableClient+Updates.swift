public import Foundation

extension DurableClient {
    /// Sends an update to a running instance and waits for its handler's output
    /// (``OrchestrationContext/setUpdateHandler(_:validator:_:)``). The update runs exactly once,
    /// across takeovers; sending the same `updateID` again (a retry after a timeout, say) sends
    /// nothing more and returns the same outcome.
    ///
    /// - Throws: `instanceNotFound`, `instanceFinished`; `updateRejected` when its validator refused
    ///   it or the code defines no such handler; `updateFailed` when the handler threw or the
    ///   execution ended first; `timedOut` (the update goes on: wait again with the same id).
    public func update<Input: Encodable, Output: Decodable>(
        instanceID: String,
        _ name: String,
        input: Input,
        as type: Output.Type = Output.self,
        updateID: String = UUID().uuidString.lowercased(),
        timeout: Duration = .seconds(60)
    ) async throws -> Output {
        let update = UpdateRequest(id: updateID, instanceID: instanceID, name: name, input: try Payload(encoding: input))
        return try await self.update(update, timeout: timeout).output(update).decode(Output.self)
    }

    /// Update-with-start: starts the instance of `type` with `startInput` when `instanceID` does
    /// not exist, then sends the update, atomically (concurrent callers start one instance), and
    /// waits for its output. An existing instance keeps its input.
    public func updateWithStart<O: Orchestration, Input: Encodable, Output: Decodable>(
        _ type: O.Type,
        instanceID: String,
        startInput: O.Input,
        _ name: String,
        input: Input,
        as output: Output.Type = Output.self,
        updateID: String = UUID().uuidString.lowercased(),
        timeout: Duration = .seconds(60)
    ) async throws -> Output {
        let start = StartRequest(instanceID: instanceID, name: O.name, input: try Payload(encoding: startInput), queue: O.queue)
        let update = UpdateRequest(id: updateID, instanceID: instanceID, name: name, input: try Payload(encoding: input))
        return try await self.update(update, startingWith: start, timeout: timeout).output(update).decode(Output.self)
    }

    /// Sends an update with a JSON input (with `start`, update-with-start) and returns its outcome
    /// as recorded: a rejection or failure is an outcome here, not an error.
    public func update(_ update: UpdateRequest, startingWith start: StartRequest? = nil, timeout: Duration = .seconds(60)) async throws -> UpdateOutcome {
        let wake = WakeSignal()
        let hints = self.provider.updateOutcomes(id: update.id)
        let listener = Task {
            for await _ in hints { wake.signal() }
        }
        defer { listener.cancel() }
        let deadline = ContinuousClock.now + timeout
        // Subscribed first, so that a quick outcome's hint is not missed.
        if let start {
            _ = try await self.provider.updateWithStart(start, update)
        } else {
            _ = try await self.provider.sendUpdate(update)
        }
        while true {
            if let outcome = try await self.provider.updateOutcome(id: update.id) { return outcome }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw DurableError(
                    .timedOut, "update '\(update.name)' (\(update.id)) of instance '\(update.instanceID)' has no outcome after \(timeout); it goes on: wait again with the same id",
                    instanceID: update.instanceID, name: update.name
                )
            }
            // The safety re-read covers a lost hint.
            await wake.wait(timeout: min(remaining, .seconds(5)))
        }
    }
}

extension UpdateOutcome {
    /// The output, or the rejection or failure as the ``DurableError`` it is.
    public func output(_ update: UpdateRequest) throws(DurableError) -> Payload {
        switch self {
        case .completed(let output):
            return output
        case .rejected(let failure):
            let code: DurableError.Code = failure.code == DurableError.Code.instanceFinished.description ? .instanceFinished : .updateRejected
            throw DurableError(code, "update '\(update.name)' was rejected: \(failure.message)", instanceID: update.instanceID, name: update.name, failure: failure)
        case .failed(let failure):
            throw DurableError(.updateFailed, "update '\(update.name)' failed: \(failure.message)", instanceID: update.instanceID, name: update.name, failure: failure)
        }
    }
}
