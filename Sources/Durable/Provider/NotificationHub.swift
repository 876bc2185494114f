import Foundation
import Synchronization

/// Fans notifications out to subscribers, for providers implementing
/// ``DurableProvider/notifications(_:)``. A notification is a hint, so a subscriber's stream keeps at
/// most one pending element: many notifications while a dispatcher is busy coalesce into one.
public final class NotificationHub: Sendable {
    private let subscribers = Mutex<[NotificationChannel: [UUID: AsyncStream<Void>.Continuation]]>([:])

    public init() {}

    public func subscribe(_ channel: NotificationChannel) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        self.subscribers.withLock { $0[channel, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0[channel]?.removeValue(forKey: id) }
        }
        return stream
    }

    public func post(_ channel: NotificationChannel) {
        let continuations = self.subscribers.withLock { Array(($0[channel] ?? [:]).values) }
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
