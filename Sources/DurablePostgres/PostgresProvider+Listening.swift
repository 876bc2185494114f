public import Durable
import Logging
import PostgresNIO

extension PostgresProvider {
    /// What one LISTEN connection hears: the schema's work, or its finished instances. A provider
    /// listens only for what its subscribers want: a process that only waits for results is not
    /// woken by every turn and activity of the schema, and a node not by every completion.
    enum ListenGroup: Sendable, Hashable {
        case work
        case completions

        init(_ channel: NotificationChannel) {
            self = channel == .completions ? .completions : .work
        }

        var channels: [NotificationChannel] {
            switch self {
            case .work: [.orchestrations, .activities]
            case .completions: [.completions]
            }
        }
    }

    public func notifications(_ channel: NotificationChannel) -> AsyncStream<Void> {
        let stream = self.hub.subscribe(channel)
        self.startListening(ListenGroup(channel))
        return stream
    }

    public func activityCancellations() -> AsyncStream<String> {
        let stream = self.hub.subscribeCancellations()
        self.startListening(.work)
        return stream
    }

    public func completionNotifications(instanceID: String) -> AsyncStream<Void> {
        let stream = self.hub.subscribe(completionOf: instanceID)
        self.startListening(.completions)
        return stream
    }

    func startListening(_ group: ListenGroup) {
        if self.listening.withLock({ $0.insert(group).inserted }) {
            self.listenRequests.continuation.yield(group)
        }
    }

    /// Keeps one connection LISTENing for `group`. After every (re)connect it wakes the group's
    /// subscribers so they catch up on what was notified while it was not listening.
    func listen(_ group: ListenGroup) async {
        let channel = group == .work ? self.configuration.channel : self.configuration.completionChannel
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    on: self.configuration.eventLoopGroup.next(),
                    configuration: try self.configuration.connectionConfiguration(),
                    id: 0,
                    logger: self.logger
                )
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: channel) { notifications in
                    failures = 0
                    self.logger.debug("listening", metadata: ["durable.channel": .string(channel)])
                    for subscribed in group.channels { self.hub.post(subscribed) }
                    for try await notification in notifications {
                        let payload = notification.payload
                        // The completions channel's payload is the id of the instance that finished,
                        // or a query's answer (after a unit separator, never in an id); the work
                        // channel's names the queues, or is a query ("q{…}").
                        if group == .completions {
                            if payload.first == "\u{1F}" {
                                self.postAnswerHint(payload.dropFirst())
                            } else {
                                self.hub.postCompletion(of: payload)
                            }
                        } else if payload.hasPrefix("q{") {
                            self.postQueryHint(payload.dropFirst())
                        } else if payload.hasPrefix("x|") {
                            self.hub.postCancellation(ofTask: String(payload.dropFirst(2)))
                        } else {
                            self.hub.post(payload: payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                self.logger.warning("LISTEN connection lost; reconnecting", metadata: ["error": "\(error)", "durable.attempt": "\(failures)"])
            }
            let delay = RetryPolicy(maxAttempts: .max, initialInterval: .milliseconds(50), maximumInterval: .seconds(5)).backoff(afterAttempt: max(1, failures))
            try? await Task.sleep(for: delay)
        }
    }
}
