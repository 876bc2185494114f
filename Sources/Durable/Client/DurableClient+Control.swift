// Operator control of one instance: pause and resume.
extension DurableClient {
    /// Pauses an instance: it takes no turns until ``resume(instanceID:by:)`` or until `duration`
    /// has passed; activity results, timer firings and events keep arriving and wait, activities
    /// already running finish. A turn in flight is discarded whole (never half-applied) and runs
    /// again after the resume. The pause is shown by ``status(instanceID:)`` and `durable why`,
    /// and recorded in the history (who, why, when) by the first turn after the resume.
    ///
    /// - Returns: `.alreadyPaused` (changing nothing) when it was paused already.
    /// - Throws: `instanceNotFound`, `instanceFinished`, `invalidInput` (blank `by`, a duration
    ///   that is not positive).
    @discardableResult
    public func pause(instanceID: String, by: String, reason: String = "", for duration: Duration? = nil) async throws -> PauseOutcome {
        try await self.provider.pauseInstance(PauseRequest(instanceID: instanceID, by: by, reason: reason, for: duration))
    }

    /// Resumes a paused instance: everything that arrived meanwhile is delivered, in order.
    ///
    /// - Returns: `.notPaused` (changing nothing) when it was not paused.
    /// - Throws: `instanceNotFound`, `instanceFinished`.
    @discardableResult
    public func resume(instanceID: String, by: String) async throws -> ResumeOutcome {
        try await self.provider.resumeInstance(ResumeRequest(instanceID: instanceID, by: by))
    }
}
