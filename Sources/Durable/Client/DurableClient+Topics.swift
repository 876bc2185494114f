extension DurableClient {
    /// Publishes `data` to `topic`: every running execution subscribed at this moment to a pattern
    /// that matches (``OrchestrationContext/subscribe(to:)``) receives it, in one atomic step.
    /// Returns how many subscriptions it reached.
    ///
    /// - Throws: `invalidInput` for a malformed topic (wildcards, empty levels, more than
    ///   ``TopicPattern/maxLevels`` levels), `payloadTooLarge` for data over the provider's limit.
    @discardableResult
    public func publish<T: Encodable>(topic: String, _ data: T) async throws -> Int {
        try await self.provider.publish(topic: topic, data: try Payload(encoding: data))
    }
}
