import Foundation

extension OrchestrationEngine {
    /// Answers a query from the execution this engine keeps for the instance, when it continues a
    /// history of exactly `historyCount` events of `executionID` (the committed one). Returns `nil`
    /// when it keeps none that does; then use ``query(instanceID:history:name:input:)``. No turn runs
    /// meanwhile on this engine with the kept execution (one that starts replays instead).
    public func queryKept(instanceID: String, executionID: String, historyCount: Int, name: String, input: Payload) -> Result<Payload, DurableError>? {
        guard let cache = self.cache, let borrowed = cache.borrow(instanceID: instanceID, executionID: executionID, historyCount: historyCount) else {
            return nil
        }
        let (answer, changed) = borrowed.execution.answer(query: name, input: input)
        if changed {
            borrowed.execution.unload()
        } else {
            cache.restore(instanceID: instanceID, borrowed)
        }
        return answer
    }

    /// Answers a query by replaying the execution's history (a finished one's too) in an execution
    /// of its own, which is then unloaded: nothing is written and no turn is involved.
    public func query(instanceID: String, history: [HistoryEvent], name: String, input: Payload) -> Result<Payload, DurableError> {
        guard case .executionStarted(let start) = history.first?.kind else {
            return .failure(DurableError(
                .queryNotDefined, "instance '\(instanceID)' has not run its first turn: its code has defined no query yet", instanceID: instanceID
            ))
        }
        guard let handler = self.registry.orchestration(name: start.name, version: start.version) else {
            return .failure(Self.notRegistered(instanceID: instanceID, name: start.name, version: start.version, registry: self.registry))
        }
        let context = OrchestrationContext(
            instanceID: instanceID, start: start, history: history, now: history.last?.timestamp ?? Date(timeIntervalSince1970: 0),
            registry: self.registry, logger: self.logger, metricsFactory: self.metricsFactory
        )
        let execution = OrchestrationExecution(context: context, handler: handler)
        defer { execution.unload() }
        do throws(DurableError) {
            try execution.replay()
        } catch {
            return .failure(error)
        }
        return execution.answer(query: name, input: input).answer
    }
}
