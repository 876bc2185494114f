/// Identifies a pending durable operation, for ``OrchestrationContext/whenAny(_:cancelLosers:)``.
public struct DurableTaskID: Sendable, Hashable {
    let slot: Int
}

/// Any durable operation handle, whatever its output type.
public protocol DurableTaskProtocol: Sendable {
    var id: DurableTaskID { get }
}

/// A durable operation that has been scheduled (an activity, a timer, an event wait, a
/// sub-orchestration) and whose result can be awaited, now or later, once or many times.
///
/// Scheduling is recorded at once, so starting several operations before awaiting any of them fans
/// out; ``OrchestrationContext/whenAll(_:)`` and ``OrchestrationContext/whenAny(_:cancelLosers:)``
/// join them.
public struct DurableTask<Output: Decodable & Sendable>: DurableTaskProtocol {
    let context: OrchestrationContext
    public let id: DurableTaskID

    init(context: OrchestrationContext, slot: Int) {
        self.context = context
        self.id = DurableTaskID(slot: slot)
    }

    /// The operation's result; throws the operation's ``DurableError`` (activity failed, timed out,
    /// cancelled, …).
    public var value: Output {
        get async throws {
            try await self.context.result(of: self.id.slot).get().decode(Output.self)
        }
    }

    /// Whether the result is known.
    public var isCompleted: Bool {
        self.context.state.withLock { $0.slots[self.id.slot]?.result != nil }
    }

    /// Gives the operation up: an activity or sub-orchestration is asked to cancel, a timer is
    /// dropped, an event wait stops waiting. Awaiting it then throws a `cancelled` error.
    ///
    /// With `waitForCompletion`, an activity or sub-orchestration is asked to cancel and awaiting
    /// the task waits until it has stopped (Temporal's `WAIT_CANCELLATION_COMPLETED`): it throws a
    /// `cancelled` error once the activity acknowledged the cancellation (or was abandoned after the
    /// node's grace period) or the child ended cancelled, and returns the output or throws the
    /// failure of one that ended first. A child is cancelled cooperatively, so its compensation runs
    /// before the parent goes on. Timers and event waits end at once either way.
    public func cancel(waitForCompletion: Bool = false) {
        self.context.cancel(self.id.slot, waitForCompletion: waitForCompletion)
    }
}
