extension OrchestrationExecution {
    /// Everything a durable operation changes in the execution's state: equal before and after a
    /// query handler when it only read.
    struct Mark: Equatable {
        var operations: Int
        var locals: Int
        var races: Int
        var events: Int
        var actions: Int
        var customStatus: Payload?
        var random: DeterministicRandom
    }

    var mark: Mark {
        self.context.state.withLock { state in
            Mark(
                operations: state.nextOperationID, locals: state.nextLocalID, races: state.nextRaceID,
                events: state.newEvents.count, actions: state.actions.count, customStatus: state.customStatus, random: state.random
            )
        }
    }

    /// Runs the query handler the code defined as `name` on the suspended execution. `changed` is
    /// true when the handler did something durable: the execution is then no longer the one its
    /// history describes and must be unloaded.
    func answer(query name: String, input: Payload) -> (answer: Result<Payload, DurableError>, changed: Bool) {
        let instanceID = self.context.instanceID
        guard let handler = self.context.queryHandlers.handler(name) else {
            let names = self.context.queryHandlers.names
            let defined = names.isEmpty ? "defines no query" : "defines \(names.map { "'\($0)'" }.joined(separator: ", "))"
            return (.failure(DurableError(
                .queryNotDefined, "\(self.context.name) \(self.context.version) \(defined), not '\(name)'",
                instanceID: instanceID, name: self.context.name, version: self.context.version
            )), false)
        }
        let before = self.mark
        let result: Result<Payload, DurableError>
        do {
            result = .success(try handler.run(input))
        } catch {
            result = .failure(DurableError(
                .queryFailed, "query '\(name)' threw: \(error)", instanceID: instanceID, name: self.context.name, failure: FailureDetails(error)
            ))
        }
        // Work the handler started (a task it spawned on the executor) runs now, and counts too.
        self.executor.drain()
        guard self.mark == before else {
            return (.failure(DurableError(
                .queryNotReadOnly, "query '\(name)' tried a durable operation (an activity, timer, wait, child, custom status or random value); a query only reads",
                instanceID: instanceID, name: self.context.name
            )), true)
        }
        return (result, false)
    }
}
