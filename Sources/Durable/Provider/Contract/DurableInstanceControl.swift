/// Operator control of one instance at a time: the requirements of ``DurableProvider`` for pausing
/// and resuming (docs/provider-contract.md, "Operator control"). The decisions are
/// ``PauseStateMachine``'s; an implementation reads the instance under its lock and executes them.
public protocol DurableInstanceControl: Sendable {
    /// Pauses an instance: it takes no turns until resumed (or until the pause's deadline), while
    /// messages — activity results, timer firings, events — keep arriving and wait, and activities
    /// already running finish. Atomic with claims: a turn in flight can no longer commit (its lease
    /// epoch moves on; the interrupted delivery does not count), a later one is not claimed, not
    /// through a completion's claim nor by a completion that commits its turn. The pause is visible
    /// as ``InstanceInfo/pause``, and `.instancePaused` then `.instanceResumed` are recorded in the
    /// history by the first turn after the resume, in the order of arrival.
    ///
    /// Throws `instanceNotFound`, `instanceFinished`, or `invalidInput` (blank `by`, a duration that
    /// is not positive), and changes nothing then. Pausing a paused instance changes nothing.
    ///
    /// Conformance: "a paused instance takes no turns until resumed", "a pause fences off a turn in
    /// flight", "a pause with a deadline resumes by itself", "pausing a finished or unknown instance
    /// is a typed error".
    func pauseInstance(_ request: PauseRequest) async throws -> PauseOutcome

    /// Resumes a paused instance: its messages, all of them, become claimable in order, and the
    /// dispatchers are notified. Throws `instanceNotFound` or `instanceFinished`; resuming an
    /// instance that is not paused changes nothing.
    func resumeInstance(_ request: ResumeRequest) async throws -> ResumeOutcome

    /// Rewinds an instance (``ResetPlanner`` decides): its current execution ends with
    /// `executionReset` (its history stays readable through ``history(instanceID:executionID:)``)
    /// and a new execution goes on from the history before the reset point, with a new execution id
    /// and optionally another version. What was pending at the point runs again (activities as new
    /// tasks, timers at their time); the old execution's activities are cancelled, its timers and
    /// results dropped, children it started after the point cancelled. The instance is `running`
    /// again (`pending` for `.start`), whatever it was, its lease epoch moved on; a pause stays.
    ///
    /// Throws `instanceNotFound`, or `invalidInput` for a point the plan refuses, and changes
    /// nothing then.
    ///
    /// Conformance: "a reset to the last failure runs the failed activity again on a new version".
    func resetInstance(_ request: ResetRequest) async throws -> ResetOutcome

    /// The history of one execution of the instance: the current one, or one that ended with a
    /// reset. Throws `instanceNotFound` for an unknown instance; an unknown execution has none.
    func history(instanceID: String, executionID: String) async throws -> [HistoryEvent]
}
