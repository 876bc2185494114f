import Synchronization

/// Outputs of the executions this node completed, handed to this node's own clients that wait for
/// them (``DurableRuntime/client``): such a client learns of the completion when the commit returns,
/// without the completion notification's hop and the status read after it.
///
/// Only completions are handed over: the node committed them durably, so the output is what any
/// read would return. Failures and cancellations are read, so their errors carry the stored details.
///
/// While this node commits a turn of a watched instance, the waiter does not read: the commit's
/// own completion notification would otherwise start a read that races the output handed over
/// here, and costs the commit's connection and CPU. Every commit settles (committed, rejected or
/// failed) and wakes the waiter, who then reads unless the output was handed over.
final class LocalOutcomes: Sendable {
    /// One client's wait for one instance.
    final class Watch: Sendable {
        let instanceID: String
        private let wake: WakeSignal
        private let delivered = Mutex<Payload?>(nil)
        private let outcomes: LocalOutcomes

        fileprivate init(instanceID: String, wake: WakeSignal, outcomes: LocalOutcomes) {
            self.instanceID = instanceID
            self.wake = wake
            self.outcomes = outcomes
        }

        /// The completed execution's output, once this node committed it.
        var output: Payload? { self.delivered.withLock { $0 } }

        /// Whether this node is committing a turn of the instance now; when it settles, the watch
        /// is woken.
        var isCommittingHere: Bool { self.outcomes.isCommitting(self.instanceID) }

        fileprivate func deliver(_ output: Payload) {
            self.delivered.withLock { $0 = output }
            self.wake.signal()
        }

        fileprivate func settled() { self.wake.signal() }
    }

    private struct State {
        var watches: [String: [ObjectIdentifier: Watch]] = [:]
        /// Instances with a turn being committed by this node, and how many such commits.
        var committing: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Starts watching `instanceID`; `wake` is signalled when this node completes it. Pair with
    /// ``stopWatching(_:)``.
    func watch(_ instanceID: String, wake: WakeSignal) -> Watch {
        let watch = Watch(instanceID: instanceID, wake: wake, outcomes: self)
        self.state.withLock { $0.watches[instanceID, default: [:]][ObjectIdentifier(watch)] = watch }
        return watch
    }

    func stopWatching(_ watch: Watch) {
        self.state.withLock { state in
            state.watches[watch.instanceID]?[ObjectIdentifier(watch)] = nil
            if state.watches[watch.instanceID]?.isEmpty == true { state.watches[watch.instanceID] = nil }
        }
    }

    /// Runs `commit`, a commit of a turn of `instanceID` by this node that calls ``completed(_:output:)``
    /// when it completes the execution; the instance's watches are woken when it settles, however.
    func committing<T>(_ instanceID: String, _ commit: () async throws -> T) async rethrows -> T {
        self.state.withLock { $0.committing[instanceID, default: 0] += 1 }
        defer {
            let waiting = self.state.withLock { state -> [Watch] in
                if let count = state.committing[instanceID], count > 1 {
                    state.committing[instanceID] = count - 1
                } else {
                    state.committing[instanceID] = nil
                }
                return state.watches[instanceID].map { Array($0.values) } ?? []
            }
            for watch in waiting { watch.settled() }
        }
        return try await commit()
    }

    fileprivate func isCommitting(_ instanceID: String) -> Bool {
        self.state.withLock { $0.committing[instanceID] != nil }
    }

    /// Called once a turn that completed `instanceID` with `output` is committed.
    func completed(_ instanceID: String, output: Payload) {
        // Most completions have no local waiter: one lookup under the lock.
        guard let waiting = self.state.withLock({ $0.watches[instanceID].map { Array($0.values) } }) else { return }
        for watch in waiting { watch.deliver(output) }
    }
}
