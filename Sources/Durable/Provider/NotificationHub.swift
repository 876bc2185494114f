import Foundation
import Synchronization

/// Fans notifications out to subscribers, for providers implementing
/// ``DurableProvider/notifications(_:)`` and ``DurableProvider/completionNotifications(instanceID:)``.
/// A notification is a hint, so a subscriber's stream keeps at most one pending element: many
/// notifications while a dispatcher is busy coalesce into one.
public final class NotificationHub: Sendable {
    private struct Subscribers {
        var channels: [NotificationChannel: [UUID: AsyncStream<Void>.Continuation]] = [:]
        /// Waiters for one instance's completion, by instance id.
        var completions: [String: [UUID: AsyncStream<Void>.Continuation]] = [:]
    }

    private let subscribers = Mutex(Subscribers())

    struct QuerySubscribers {
        var requests: [UUID: AsyncStream<QueryRequest>.Continuation] = [:]
        /// Waiters for one query's answer, by query id.
        var answers: [String: [UUID: AsyncStream<QueryAnswer?>.Continuation]] = [:]
        var cancellations: [UUID: AsyncStream<String>.Continuation] = [:]
    }

    let queries = Mutex(QuerySubscribers())

    public init() {}

    public func subscribe(_ channel: NotificationChannel) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        self.subscribers.withLock { $0.channels[channel, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.channels[channel]?.removeValue(forKey: id) }
        }
        return stream
    }

    /// A stream that yields when the instance may have finished: its own completion, or a catch-up
    /// of every subscriber (``post(_:)`` of `completions`, ``postAll()``).
    public func subscribe(completionOf instanceID: String) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        self.subscribers.withLock { $0.completions[instanceID, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { subscribers in
                subscribers.completions[instanceID]?.removeValue(forKey: id)
                if subscribers.completions[instanceID]?.isEmpty == true { subscribers.completions[instanceID] = nil }
            }
        }
        return stream
    }

    public func post(_ channel: NotificationChannel) {
        let continuations = self.subscribers.withLock { subscribers in
            var continuations = Array((subscribers.channels[channel] ?? [:]).values)
            if channel == .completions { continuations += subscribers.completions.values.flatMap(\.values) }
            return continuations
        }
        for continuation in continuations { continuation.yield() }
        if channel == .completions { self.postAllAnswers() }
    }

    /// Posts that one instance finished: its waiters and the `completions` channel's subscribers.
    public func postCompletion(of instanceID: String) {
        let continuations = self.subscribers.withLock { subscribers in
            Array((subscribers.channels[.completions] ?? [:]).values) + Array((subscribers.completions[instanceID] ?? [:]).values)
        }
        for continuation in continuations { continuation.yield() }
    }

    /// Posts the channels named by a NOTIFY payload: `o` orchestrations, `a` activities, `c`
    /// completions.
    public func post(payload: String) {
        for channel in NotificationChannel.allCases where payload.contains(channel.letter) {
            self.post(channel)
        }
    }

    public func postAll() {
        for channel in NotificationChannel.allCases { self.post(channel) }
    }
}

extension NotificationChannel {
    var letter: Character {
        switch self {
        case .orchestrations: "o"
        case .activities: "a"
        case .completions: "c"
        }
    }
}
