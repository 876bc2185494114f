extension OrchestrationContext {
    /// Opens a session (``ActivitySession``): runs a built-in activity on task queue `queue` (any
    /// node that serves it) and pins the session to the node that ran it.
    ///
    /// - Parameter label: shown in the history, to tell sessions apart.
    public func openSession(_ label: String = "", queue: String? = nil) async throws -> ActivitySession {
        let nodeID = try await self.activity(
            SessionOpening.self, label, retry: .exponential(maxAttempts: 10, initial: .milliseconds(100), maximum: .seconds(10)), queue: queue
        )
        return ActivitySession(nodeID: nodeID)
    }

    /// Schedules an activity on the node of `session`, or on the node that took the session over
    /// when that one died.
    public func scheduleActivity<A: Activity>(
        _ type: A.Type,
        _ input: A.Input,
        in session: ActivitySession,
        retry: RetryPolicy = .none,
        timeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil
    ) -> DurableTask<A.Output> {
        self.scheduleActivity(type, input, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: session.queue)
    }

    /// Runs an activity on the node of `session` (see ``scheduleActivity(_:_:in:retry:timeout:heartbeatTimeout:)``)
    /// and returns its output.
    public func activity<A: Activity>(
        _ type: A.Type,
        _ input: A.Input,
        in session: ActivitySession,
        retry: RetryPolicy = .none,
        timeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil
    ) async throws -> A.Output {
        try await self.scheduleActivity(type, input, in: session, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout).value
    }
}
