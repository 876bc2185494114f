import Synchronization

/// Suspended executions kept between turns on this node (the sticky cache), so that the next turn
/// costs its new messages only, not a replay of the whole history.
///
/// An entry is used only when the history the next claim brings ends exactly where the cached
/// execution ended (same execution, length and last event); anything else (another node ran turns
/// meanwhile, a commit failed) discards it and the turn replays as usual. Bounded: when it is full,
/// the least recently used tenth of its entries is evicted, and eviction unwinds their suspended
/// code.
final class ExecutionCache: Sendable {
    fileprivate struct Entry {
        var execution: OrchestrationExecution
        var executionID: String
        var historyCount: Int
        var lastEvent: HistoryEvent?
        var lastUse: UInt64
    }

    private let state = Mutex<(entries: [String: Entry], clock: UInt64)>(([:], 0))
    let capacity: Int
    private let metrics: DurableMetrics

    init(capacity: Int, metrics: DurableMetrics) {
        self.capacity = capacity
        self.metrics = metrics
    }

    /// Takes the cached execution out when it continues exactly a history of `historyCount` events
    /// ending with `lastEvent`; otherwise drops it.
    func take(instanceID: String, executionID: String, historyCount: Int, lastEvent: HistoryEvent?) -> OrchestrationExecution? {
        guard let entry = self.state.withLock({ $0.entries.removeValue(forKey: instanceID) }) else {
            self.metrics.stickyMisses.increment()
            return nil
        }
        guard entry.executionID == executionID, entry.historyCount == historyCount, entry.lastEvent == lastEvent else {
            self.metrics.stickyMisses.increment()
            entry.execution.unload()
            return nil
        }
        self.metrics.stickyHits.increment()
        return entry.execution
    }

    /// Keeps a suspended execution whose history now has `historyCount` events ending with
    /// `lastEvent`.
    func put(instanceID: String, executionID: String, execution: OrchestrationExecution, historyCount: Int, lastEvent: HistoryEvent?) {
        let evicted = self.state.withLock { state -> [OrchestrationExecution] in
            state.clock += 1
            var evicted: [OrchestrationExecution] = []
            if let replaced = state.entries[instanceID] { evicted.append(replaced.execution) }
            state.entries[instanceID] = Entry(
                execution: execution, executionID: executionID, historyCount: historyCount, lastEvent: lastEvent, lastUse: state.clock
            )
            if state.entries.count > self.capacity {
                // The least recently used tenth goes at once: finding it reads every entry, which at
                // every put of a full cache cost more than the rest of the put (fanout5 at n = 6,000).
                let excess = state.entries.count - self.capacity + self.capacity / 10
                let oldest = state.entries.map { (use: $0.value.lastUse, id: $0.key) }.sorted { $0.use < $1.use }.prefix(excess)
                for entry in oldest {
                    guard let removed = state.entries.removeValue(forKey: entry.id) else { continue }
                    self.metrics.stickyEvictions.increment()
                    evicted.append(removed.execution)
                }
            }
            return evicted
        }
        for execution in evicted { execution.unload() }
    }

    /// Takes the cached execution out when the only activity it waits for is `operationID`; returns
    /// it with the length and last event of the history it continues.
    func take(instanceID: String, executionID: String, awaitingOnly operationID: Int) -> (OrchestrationExecution, Int, HistoryEvent?)? {
        guard let entry = self.state.withLock({ $0.entries.removeValue(forKey: instanceID) }) else { return nil }
        guard entry.executionID == executionID, entry.execution.outstandingActivities == [operationID] else {
            // Not for this result: keep it for the turn that consumes it.
            self.state.withLock { state in
                if state.entries[instanceID] == nil { state.entries[instanceID] = entry }
            }
            return nil
        }
        self.metrics.stickyHits.increment()
        return (entry.execution, entry.historyCount, entry.lastEvent)
    }

    /// Takes the cached execution out, for a query, when it continues a history of exactly
    /// `historyCount` events of `executionID` (the committed history: a turn whose commit is in
    /// flight has put back a longer one); otherwise leaves the entry as it is. Give it back with
    /// ``restore(instanceID:_:)``.
    func borrow(instanceID: String, executionID: String, historyCount: Int) -> Borrowed? {
        self.state.withLock { state in
            guard let entry = state.entries[instanceID], entry.executionID == executionID, entry.historyCount == historyCount else { return nil }
            state.entries[instanceID] = nil
            return Borrowed(entry: entry)
        }
    }

    /// A borrowed entry, opaque to the borrower.
    struct Borrowed: Sendable {
        fileprivate let entry: Entry
        var execution: OrchestrationExecution { self.entry.execution }
    }

    /// Puts a borrowed execution back, unless a turn put a newer one meanwhile.
    func restore(instanceID: String, _ borrowed: Borrowed) {
        let kept = self.state.withLock { state -> Bool in
            guard state.entries[instanceID] == nil else { return false }
            state.entries[instanceID] = borrowed.entry
            return true
        }
        if !kept { borrowed.entry.execution.unload() }
    }

    /// The number of history events of the instance's cached execution, if there is one.
    func historyCount(instanceID: String, executionID: String) -> Int? {
        self.state.withLock { state in
            state.entries[instanceID].flatMap { $0.executionID == executionID ? $0.historyCount : nil }
        }
    }

    /// How the instance's cached execution started, if there is one.
    func start(instanceID: String) -> HistoryEvent.ExecutionStarted? {
        // Read outside the cache's lock: the execution's state has a lock of its own.
        let execution = self.state.withLock { $0.entries[instanceID]?.execution }
        return execution?.context.state.withLock { $0.start }
    }

    /// Drops an instance's entry (its commit failed, or it moved to another node).
    func evict(instanceID: String) {
        self.state.withLock { $0.entries.removeValue(forKey: instanceID) }?.execution.unload()
    }

    var count: Int { self.state.withLock { $0.entries.count } }
}
