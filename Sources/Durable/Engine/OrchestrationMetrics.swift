import Metrics

/// Metrics from orchestration code (``OrchestrationContext/metrics``), emitted when the code makes
/// a decision for the first time and not again when the history is replayed, like
/// ``OrchestrationContext/logger``. As with the logger, a turn whose commit fails is run again and
/// emits again: count business events, not exactly-once facts.
///
/// Each metric carries the orchestration's name as the `orchestration` dimension; keep the other
/// dimensions bounded (never an instance id).
public struct OrchestrationMetrics: Sendable {
    let context: OrchestrationContext
    let factory: any MetricsFactory

    /// Adds `amount` to the counter `label`.
    public func increment(_ label: String, by amount: Int = 1, dimensions: [(String, String)] = []) {
        guard !self.context.isReplaying else { return }
        Counter(label: label, dimensions: self.dimensions(dimensions), factory: self.factory).increment(by: amount)
    }

    /// Records `value` in the histogram `label`.
    public func record(_ value: Double, in label: String, dimensions: [(String, String)] = []) {
        guard !self.context.isReplaying else { return }
        Recorder(label: label, dimensions: self.dimensions(dimensions), aggregate: true, factory: self.factory).record(value)
    }

    /// Records `duration` in the timer `label`.
    public func record(_ duration: Duration, in label: String, dimensions: [(String, String)] = []) {
        guard !self.context.isReplaying else { return }
        Metrics.Timer(label: label, dimensions: self.dimensions(dimensions), factory: self.factory).record(duration: duration)
    }

    private func dimensions(_ extra: [(String, String)]) -> [(String, String)] {
        [("orchestration", self.context.name)] + extra
    }
}
