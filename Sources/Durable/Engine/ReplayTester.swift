import Foundation

/// Checks that recorded histories still replay on the current code: run it in CI against histories
/// exported from production (`durable history ID --json`) before deploying a change to an
/// orchestration.
public struct ReplayTester: Sendable {
    public let engine: OrchestrationEngine

    public init(registry: Registry) {
        self.engine = OrchestrationEngine(registry: registry)
    }

    /// Replays `history`; throws the engine's `nonDeterminism` error when the code diverges, or an
    /// `invalidInput` error when the replay decided something new (the history was incomplete).
    public func check(history: [HistoryEvent], instanceID: String) throws(DurableError) {
        let now = history.last?.timestamp ?? Date(timeIntervalSince1970: 0)
        let result = try self.engine.runTurn(instanceID: instanceID, history: history, messages: [], now: now)
        guard result.newEvents.isEmpty else {
            throw DurableError(
                .invalidInput,
                "replaying the history of '\(instanceID)' decided \(result.newEvents.count) new events",
                instanceID: instanceID
            )
        }
    }
}
