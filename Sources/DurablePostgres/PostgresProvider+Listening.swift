import Durable
import Logging
import PostgresNIO

extension PostgresProvider {
    /// Keeps one connection LISTENing on the schema's channel. After every (re)connect it wakes all
    /// subscribers so they catch up on what was notified while it was down.
    func listen() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try self.configuration.connectionConfiguration(),
                    id: 0,
                    logger: self.logger
                )
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: self.configuration.channel) { notifications in
                    failures = 0
                    self.logger.debug("listening", metadata: ["durable.channel": .string(self.configuration.channel)])
                    self.hub.postAll()
                    for try await notification in notifications {
                        self.hub.post(payload: notification.payload)
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
