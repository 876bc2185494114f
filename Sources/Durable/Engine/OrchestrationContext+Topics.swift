import Foundation

extension OrchestrationContext {
    /// Subscribes this execution to a topic pattern (``TopicPattern``: `orders/#`, `region/+/flags`,
    /// an exact topic): from the turn that commits the subscription on, every
    /// ``DurableClient/publish(topic:_:)`` whose topic matches delivers a publication, buffered until
    /// the code asks for it with ``TopicSubscription/next(as:timeout:)``. Publications before the
    /// subscription are not delivered. The subscription ends with the execution (after a
    /// continue-as-new the code subscribes again) or with ``unsubscribe(from:)``.
    ///
    /// - Throws: `invalidInput` for a malformed pattern.
    public func subscribe(to pattern: String) throws(DurableError) -> TopicSubscription {
        try TopicPattern.validate(pattern: pattern)
        try self.state.withLock { state throws(DurableError) in try state.record(.topicSubscribed(pattern: pattern)) }
        return TopicSubscription(context: self, pattern: pattern)
    }

    /// Ends a subscription: later publications are not delivered (those delivered already stay
    /// buffered).
    public func unsubscribe(from pattern: String) throws(DurableError) {
        try self.state.withLock { state throws(DurableError) in try state.record(.topicUnsubscribed(pattern: pattern)) }
    }
}

/// A subscription of an execution to a topic pattern (``OrchestrationContext/subscribe(to:)``).
public struct TopicSubscription: Sendable {
    let context: OrchestrationContext
    public let pattern: String

    /// The name of the events its publications arrive as: `topic PATTERN` (shown by `durable why`
    /// as the event a wait is for).
    public static func eventName(_ pattern: String) -> String { "topic \(pattern)" }

    /// Waits for the next publication that matches, in publishing order.
    public func next<T: Decodable & Sendable>(as type: T.Type = T.self, timeout: Duration? = nil) async throws -> Publication<T> {
        try await self.context.event(Self.eventName(self.pattern), as: Publication<T>.self, timeout: timeout)
    }
}

/// A publication as a subscriber receives it: the topic it was published to and its data.
public struct Publication<T: Sendable>: Sendable {
    public var topic: String
    public var data: T
}

extension Publication: Decodable where T: Decodable {}
extension Publication: Encodable where T: Encodable {}
