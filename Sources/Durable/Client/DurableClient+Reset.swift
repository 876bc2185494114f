// Operator control of one instance: reset.
extension DurableClient {
    /// Rewinds an instance to `point` and runs it on from there in a new execution
    /// (``DurableProvider/resetInstance(_:)``), optionally on another `version` — a fixed release's
    /// — and with an `event` delivered first. Works on failed, completed and cancelled instances as
    /// on running ones. The old execution's history stays readable (``history(instanceID:executionID:)``).
    ///
    /// - Throws: `instanceNotFound`; `orchestrationNotRegistered` when `version` is given and no live
    ///   node has it (the message lists what the nodes have); `invalidInput` for a point that is not
    ///   a message boundary, outside the history, without a failure, or with a child still running.
    @discardableResult
    public func reset(
        instanceID: String, to point: ResetPoint, version: String? = nil, event: ResetRequest.Event? = nil, by: String, reason: String = ""
    ) async throws -> ResetOutcome {
        let info = try await self.status(instanceID: instanceID)
        if let version {
            let have = try await self.registeredHandlers().orchestrations[info.name] ?? []
            guard have.contains(version) else {
                throw DurableError(
                    .orchestrationNotRegistered,
                    "no live node has \(info.name)@\(version) (they have \(have.isEmpty ? "no version of it" : have.sorted().joined(separator: ", ")))",
                    instanceID: instanceID, name: info.name, version: version
                )
            }
        }
        return try await self.provider.resetInstance(ResetRequest(instanceID: instanceID, to: point, version: version, event: event, by: by, reason: reason))
    }

    /// The history of one execution of an instance: the current one or one that ended with a reset.
    public func history(instanceID: String, executionID: String) async throws -> [HistoryEvent] {
        try await self.provider.history(instanceID: instanceID, executionID: executionID)
    }
}
