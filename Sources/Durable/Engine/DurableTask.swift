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
    public func cancel() {
        self.context.cancel(self.id.slot)
    }
}
