public import Foundation
public import Logging
import Metrics
import Synchronization

/// What orchestration code uses to do anything durable: call activities, sleep, wait for events,
/// start sub-orchestrations, and read deterministic time and randomness.
///
/// Every operation is recorded in the execution's history the first time it runs and replayed from
/// it afterwards; see docs/architecture.md for the rules orchestration code must follow.
public final class OrchestrationContext: Sendable {
    /// The instance this execution belongs to.
    public let instanceID: String
    /// This execution of the instance (a new one after each continue-as-new).
    public let executionID: String
    /// The orchestration's name.
    public let name: String
    /// The orchestration version this execution runs.
    public let version: String
    /// The instance that started this one as a sub-orchestration, if any.
    public let parent: HistoryEvent.ParentReference?
    /// The instance's priority (``Priority``): its activities and children get it unless their
    /// calls give another.
    public let priority: Int

    let state: Mutex<ReplayState>
    let queryHandlers = HandlerTable<QueryHandler>()
    let updateHandlers = HandlerTable<UpdateHandler>()
    let registry: Registry
    private let baseLogger: Logger
    private let metricsFactory: any MetricsFactory

    init(
        instanceID: String,
        start: HistoryEvent.ExecutionStarted,
        history: [HistoryEvent],
        now: Date,
        registry: Registry,
        logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        self.metricsFactory = metricsFactory
        self.instanceID = instanceID
        self.executionID = start.executionID
        self.name = start.name
        self.version = start.version
        self.parent = start.parent
        self.priority = start.priority ?? Priority.default
        self.registry = registry
        self.baseLogger = logger
        self.state = Mutex(ReplayState(instanceID: instanceID, start: start, history: history, now: now))
    }

    /// Whether the code is re-running decisions already recorded in the history.
    public var isReplaying: Bool {
        self.state.withLock { $0.isReplaying }
    }

    /// Whether the instance was cancelled (``DurableClient/cancel(instanceID:reason:by:)``): its waits
    /// at that moment failed with a `cancelled` error; the code may clean up, then throw that error
    /// on to end `cancelled`. Deterministic: the cancellation is in the history.
    public var isCancellationRequested: Bool {
        self.state.withLock { $0.cancellation != nil }
    }

    /// The current time as the history recorded it: the time of the message being processed. Use it
    /// instead of `Date()`, which differs on every replay.
    public var now: Date {
        self.state.withLock { $0.now }
    }

    /// A logger that is silent while replaying, with the instance as metadata.
    public var logger: Logger {
        var logger = Logger(label: self.baseLogger.label) { [base = self.baseLogger.handler] _ in
            ReplayAwareLogHandler(base: base) { [weak self] in self?.isReplaying ?? false }
        }
        logger[metadataKey: "durable.instance"] = .string(self.instanceID)
        logger[metadataKey: "durable.orchestration"] = .string(self.name)
        return logger
    }

    /// Counters, histograms and timers that are silent while replaying (``OrchestrationMetrics``),
    /// through the runtime's metrics factory.
    public var metrics: OrchestrationMetrics {
        OrchestrationMetrics(context: self, factory: self.metricsFactory)
    }

    /// A UUID that is the same on every replay.
    public func newUUID() -> UUID {
        let (high, low) = self.state.withLock { ($0.random.next(), $0.random.next()) }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4 layout
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }

    /// A random number generator that gives the same numbers on every replay.
    public func randomNumberGenerator() -> OrchestrationRandomNumberGenerator {
        OrchestrationRandomNumberGenerator(context: self)
    }

    /// A random integer in `range`, the same on every replay.
    public func random(in range: ClosedRange<Int>) -> Int {
        var generator = self.randomNumberGenerator()
        return Int.random(in: range, using: &generator)
    }

    func nextRandom() -> UInt64 {
        self.state.withLock { $0.random.next() }
    }

    /// Sets a status that clients can read while the instance runs (progress, a stage name).
    public func setCustomStatus<T: Encodable>(_ status: T?) throws(DurableError) {
        let payload = try status.map { value throws(DurableError) in try Payload(encoding: value) }
        self.state.withLock { $0.customStatus = payload }
    }
}
