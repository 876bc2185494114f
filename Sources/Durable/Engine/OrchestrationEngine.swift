public import Foundation
public import Logging
import Metrics

/// The replay engine: runs one turn of an orchestration from its history and new messages.
///
/// It is pure: no clock (the caller passes `now`, from the provider's clock), no I/O. The same
/// history and messages always give the same ``TurnResult``. With a cache capacity, it keeps up to
/// that many suspended executions between turns, so a turn that continues where the previous one
/// on this engine ended runs its new messages only; the result is the same as with a full replay.
public struct OrchestrationEngine: Sendable {
    public let registry: Registry
    public let logger: Logger
    let cache: ExecutionCache?
    let metricsFactory: any MetricsFactory

    /// - Parameter cacheCapacity: suspended executions kept between turns; 0 replays every turn.
    public init(registry: Registry, logger: Logger = Logger(label: "durable.engine"), cacheCapacity: Int = 0) {
        self.init(registry: registry, logger: logger, cacheCapacity: cacheCapacity, metrics: .none, metricsFactory: NOOPMetricsHandler.instance)
    }

    init(registry: Registry, logger: Logger, cacheCapacity: Int, metrics: DurableMetrics, metricsFactory: any MetricsFactory) {
        self.metricsFactory = metricsFactory
        self.registry = registry
        self.logger = logger
        self.cache = cacheCapacity > 0 ? ExecutionCache(capacity: cacheCapacity, metrics: metrics) : nil
    }

    /// Forgets an instance's cached execution: its last turn did not commit, or it moved away.
    public func evict(instanceID: String) {
        self.cache?.evict(instanceID: instanceID)
    }

    /// How many suspended executions the cache holds.
    public var cachedExecutions: Int { self.cache?.count ?? 0 }

    /// Runs one turn: replays `history`, then delivers `messages` (appending them to the history) and
    /// lets the code decide.
    ///
    /// - Throws: `orchestrationNotRegistered` when this registry lacks the execution's name and
    ///   version; `nonDeterminism` when the code diverges from the history; `invalidInput` when the
    ///   history does not start with `executionStarted`.
    public func runTurn(
        instanceID: String,
        history: [HistoryEvent],
        messages: [HistoryEvent.Kind],
        now: Date
    ) throws(DurableError) -> TurnResult {
        var messages = messages
        let start: HistoryEvent.ExecutionStarted
        if case .executionStarted(let recorded) = history.first?.kind {
            start = recorded
        } else if history.isEmpty, let index = messages.firstIndex(where: { if case .executionStarted = $0 { true } else { false } }),
            case .executionStarted(var requested) = messages.remove(at: index)
        {
            if requested.version.isEmpty {
                requested.version = self.registry.versionForNewStart(of: requested.name) ?? ""
            }
            start = requested
            messages.insert(.executionStarted(requested), at: 0)
        } else {
            throw DurableError(
                .invalidInput,
                "the history of instance '\(instanceID)' does not begin with executionStarted",
                instanceID: instanceID
            )
        }

        let now = now.roundedToMilliseconds
        if let cache = self.cache, !history.isEmpty,
            let execution = cache.take(instanceID: instanceID, executionID: start.executionID, historyCount: history.count, lastEvent: history.last)
        {
            return try self.finish(execution, instanceID: instanceID, historyCount: history.count, lastEvent: history.last) { () throws(DurableError) in
                try execution.process(messages, now: now)
            }
        }

        guard let handler = self.registry.orchestration(name: start.name, version: start.version) else {
            throw Self.notRegistered(instanceID: instanceID, name: start.name, version: start.version, registry: self.registry)
        }

        let context = OrchestrationContext(
            instanceID: instanceID,
            start: start,
            history: history,
            now: now,
            registry: self.registry,
            logger: self.logger,
            metricsFactory: self.metricsFactory
        )
        let execution = OrchestrationExecution(context: context, handler: handler)
        return try self.finish(execution, instanceID: instanceID, historyCount: history.count, lastEvent: history.last) { () throws(DurableError) in
            try execution.replay()
            try execution.process(messages, now: now)
        }
    }

    /// Runs one turn on the execution this engine kept from the instance's previous turn, given only
    /// the end of the history: `historyTail` holds its events from sequence `historyOffset` on.
    /// Returns `nil`, changing nothing, when the kept execution does not continue exactly that
    /// history (none kept, another execution, other events): then run ``runTurn(instanceID:history:messages:now:)``
    /// with the whole history.
    public func continueTurn(
        instanceID: String,
        executionID: String,
        historyTail: [HistoryEvent],
        historyOffset: Int,
        messages: [HistoryEvent.Kind],
        now: Date
    ) throws(DurableError) -> TurnResult? {
        guard let cache = self.cache, !historyTail.isEmpty,
            let execution = cache.take(
                instanceID: instanceID, executionID: executionID, historyCount: historyOffset + historyTail.count, lastEvent: historyTail.last
            )
        else { return nil }
        let now = now.roundedToMilliseconds
        return try self.finish(execution, instanceID: instanceID, historyCount: historyOffset + historyTail.count, lastEvent: historyTail.last) {
            () throws(DurableError) in
            try execution.process(messages, now: now)
        }
    }

    /// Runs one turn delivering an activity's result to the execution this engine keeps, when that
    /// activity is the only one the execution waits for: the turn a node can commit together with the
    /// result, before any claim. The turn's first new event (the result) continues the history the
    /// kept execution ended with; the commit must check that the stored history still ends there, and
    /// the caller must ``evict(instanceID:)`` when the turn is not committed. Returns `nil`, changing
    /// nothing, when no execution is kept for the instance or it waits for other activities too.
    public func continueWithResult(
        instanceID: String,
        executionID: String,
        operationID: Int,
        result message: HistoryEvent.Kind,
        now: Date
    ) throws(DurableError) -> TurnResult? {
        guard let cache = self.cache,
            let (execution, historyCount, lastEvent) = cache.take(instanceID: instanceID, executionID: executionID, awaitingOnly: operationID)
        else { return nil }
        // The caller's estimate of the provider's clock must not run behind the history.
        let now = max(now, lastEvent?.timestamp ?? now).roundedToMilliseconds
        return try self.finish(execution, instanceID: instanceID, historyCount: historyCount, lastEvent: lastEvent) { () throws(DurableError) in
            try execution.process([message], now: now)
        }
    }

    /// The number of history events of the instance's execution this engine keeps, if it keeps one.
    public func cachedHistoryCount(instanceID: String, executionID: String) -> Int? {
        self.cache?.historyCount(instanceID: instanceID, executionID: executionID)
    }

    /// How the instance's kept execution started (its name, its trace), if this engine keeps one.
    func cachedStart(instanceID: String) -> HistoryEvent.ExecutionStarted? {
        self.cache?.start(instanceID: instanceID)
    }

    /// Runs the turn; then keeps the suspended execution in the cache, or unloads it.
    private func finish(
        _ execution: OrchestrationExecution,
        instanceID: String,
        historyCount: Int,
        lastEvent: HistoryEvent?,
        _ turn: () throws(DurableError) -> Void
    ) throws(DurableError) -> TurnResult {
        do {
            try turn()
        } catch {
            execution.unload()
            throw error
        }
        let result = execution.result
        guard let cache = self.cache, result.outcome == nil else {
            execution.unload()
            return result
        }
        execution.endTurn()
        cache.put(
            instanceID: instanceID,
            executionID: execution.context.executionID,
            execution: execution,
            historyCount: historyCount + result.newEvents.count,
            lastEvent: result.newEvents.last ?? lastEvent
        )
        return result
    }

    static func notRegistered(instanceID: String?, name: String, version: String, registry: Registry) -> DurableError {
        let versions = registry.versions(of: name)
        let has = versions.isEmpty ? "no version of '\(name)'" : "versions \(versions.joined(separator: ", ")) of '\(name)'"
        return DurableError(
            .orchestrationNotRegistered,
            "orchestration '\(name)' version \(version.isEmpty ? "(any)" : version) is not registered on this node, which has \(has); registered: \(registry.summary)",
            instanceID: instanceID,
            name: name,
            version: version
        )
    }
}
