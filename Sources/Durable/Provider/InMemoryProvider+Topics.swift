import Foundation

// Topics: publications delivered to the subscriptions committed turns made.
extension InMemoryProvider {
    public func publish(topic: String, data: Payload) async throws -> Int {
        let envelope = try ProviderValidation.publication(topic: topic, data: data, limit: self.maxPayloadBytes)
        let now = self.now()
        let delivered = self.state.withLock { state -> Int in
            var delivered = 0
            for pattern in TopicPattern.candidates(for: topic) {
                for subscriber in state.subscriptions[pattern] ?? [] {
                    guard let instance = state.instances[subscriber.instanceID], !instance.info.status.isTerminal,
                        instance.info.executionID == subscriber.executionID
                    else {
                        state.subscriptions[pattern]?.remove(subscriber)
                        continue
                    }
                    let event = HistoryEvent.Kind.eventRaised(name: TopicSubscription.eventName(pattern), input: envelope)
                    state.enqueue(subscriber.instanceID, executionID: subscriber.executionID, event, visibleAt: now)
                    delivered += 1
                }
            }
            return delivered
        }
        if delivered > 0 { self.notify(.orchestrations) }
        return delivered
    }
}
