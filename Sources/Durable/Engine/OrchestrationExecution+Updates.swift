extension OrchestrationExecution {
    /// Decides whether a new update message goes into the history: `false` (consumed, not
    /// recorded) for a repeated id, and for one with no handler or that its validator refuses,
    /// which is answered `rejected` at once.
    func admit(update id: String, name: String, input: Payload) -> Bool {
        let context = self.context
        // A finished execution answers it as too late (``ReplayState/accountForUnconsumed(_:)``).
        let (finished, seen) = context.state.withLock { state in (state.isFinished, state.acceptedUpdates.contains(id)) }
        if finished { return true }
        if seen { return false }
        guard let handler = context.updateHandlers.handler(name) else {
            let names = context.updateHandlers.names
            let defined = names.isEmpty ? "defines no update" : "defines \(names.map { "'\($0)'" }.joined(separator: ", "))"
            self.reject(id, DurableError(
                .invalidInput, "\(context.name) \(context.version) \(defined), not '\(name)' (or not yet: handlers are defined where the code starts)",
                instanceID: context.instanceID, name: name
            ))
            return false
        }
        let before = self.mark
        do {
            try handler.validate(input)
        } catch {
            self.reject(id, error)
            return false
        }
        guard self.mark == before else {
            // Recorded decisions cannot be taken back: the turn fails rather than commit them.
            context.state.withLock { state in
                state.divergence = state.divergence ?? DurableError(
                    .nonDeterminism, "the validator of update '\(name)' did something durable; a validator only reads",
                    instanceID: context.instanceID, name: name
                )
            }
            return false
        }
        return true
    }

    private func reject(_ id: String, _ error: any Error) {
        self.context.state.withLock { state in
            state.actions.append(.answerUpdate(id: id, .rejected(FailureDetails(error))))
        }
    }

    /// Runs an accepted update's handler as a task of the execution, recording how it ended.
    func startUpdate(id: String, name: String, input: Payload) {
        let context = self.context
        let known = context.state.withLock { state -> Bool in
            guard state.acceptedUpdates.insert(id).inserted else { return true }
            state.runningUpdates.append(id)
            return false
        }
        if known { return }
        guard let handler = context.updateHandlers.handler(name) else {
            context.state.withLock { state in
                state.divergence = state.divergence ?? state.nonDeterminism(
                    at: state.cursor, "the history has update '\(name)' accepted but the code no longer defines its handler"
                )
            }
            return
        }
        let task = Task(executorPreference: self.executor) {
            let outcome: UpdateOutcome
            do {
                outcome = .completed(try await handler.run(input))
            } catch {
                outcome = .failed(FailureDetails(error))
            }
            context.state.withLock { state in
                guard !state.isDisposed, !state.isFinished, state.divergence == nil else { return }
                state.runningUpdates.removeAll { $0 == id }
                try? state.record(.updateFinished(id: id, outcome: outcome))
            }
        }
        self.updateTasks.withLock { $0.append(task) }
    }
}

extension ReplayState {
    /// The execution ends: updates whose handlers have not returned fail (recorded, so that a
    /// replay agrees, and answered).
    mutating func failRunningUpdates() {
        for id in self.runningUpdates {
            let failure = FailureDetails(DurableError(
                .instanceFinished, "instance '\(self.instanceID)' ended its execution before the handler of update '\(id)' returned", instanceID: self.instanceID
            ))
            try? self.record(.updateFinished(id: id, outcome: .failed(failure)))
        }
        self.runningUpdates = []
    }
}
