import Synchronization

/// Outputs of the executions this node completed, handed to this node's own clients that wait for
/// them (``DurableRuntime/client``): such a client learns of the completion when the commit returns,
/// without the completion notification's hop and the status read after it.
///
/// Only completions are handed over: the node committed them durably, so the output is what any
/// read would return. Failures and cancellations are read, so their errors carry the stored details.
final class LocalOutcomes: Sendable {
    /// One client's wait for one instance.
    final class Watch: Sendable {
        let instanceID: String
        private let wake: WakeSignal
        private let delivered = Mutex<Payload?>(nil)

        fileprivate init(instanceID: String, wake: WakeSignal) {
            self.instanceID = instanceID
            self.wake = wake
        }

        /// The completed execution's output, once this node committed it.
        var output: Payload? { self.delivered.withLock { $0 } }

        fileprivate func deliver(_ output: Payload) {
            self.delivered.withLock { $0 = output }
            self.wake.signal()
        }
    }

    private let watches = Mutex<[String: [ObjectIdentifier: Watch]]>([:])

    /// Starts watching `instanceID`; `wake` is signalled when this node completes it. Pair with
    /// ``stopWatching(_:)``.
    func watch(_ instanceID: String, wake: WakeSignal) -> Watch {
        let watch = Watch(instanceID: instanceID, wake: wake)
        self.watches.withLock { $0[instanceID, default: [:]][ObjectIdentifier(watch)] = watch }
        return watch
    }

    func stopWatching(_ watch: Watch) {
        self.watches.withLock { watches in
            watches[watch.instanceID]?[ObjectIdentifier(watch)] = nil
            if watches[watch.instanceID]?.isEmpty == true { watches[watch.instanceID] = nil }
        }
    }

    /// Called once a turn that completed `instanceID` with `output` is committed.
    func completed(_ instanceID: String, output: Payload) {
        // Most completions have no local waiter: one lookup under the lock.
        guard let waiting = self.watches.withLock({ $0[instanceID].map { Array($0.values) } }) else { return }
        for watch in waiting { watch.deliver(output) }
    }
}
