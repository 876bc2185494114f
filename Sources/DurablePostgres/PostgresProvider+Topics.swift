public import Durable
import PostgresNIO

// Topics: subscriptions written by turn commits, publications in one statement.
extension PostgresProvider {
    public func publish(topic: String, data: Payload) async throws -> Int {
        let envelope = try ProviderValidation.publication(topic: topic, data: data, limit: self.configuration.maxPayloadBytes)
        let statement = TopicStatements.publish(candidates: TopicPattern.candidates(for: topic), envelope: envelope.json, channel: self.configuration.channel)
        return try await self.withRetry("publishing to '\(topic)'", statement: "publish", deadline: .seconds(30)) {
            let rows = try await self.client.write(statement, logger: self.logger)
            guard let row = rows.first else { return 0 }
            let (count, _) = try row.decode((Int64, String?).self)
            return Int(count)
        }
    }

    /// Applies a committed turn's subscribe and unsubscribe actions, in the commit's transaction.
    func writeSubscriptions(_ actions: [TurnAction], instanceID: String, executionID: String, on connection: PostgresConnection) async throws {
        var patterns: [String] = []
        var subscribe: [Bool] = []
        for action in actions {
            switch action {
            case .subscribe(let pattern): patterns.append(pattern); subscribe.append(true)
            case .unsubscribe(let pattern): patterns.append(pattern); subscribe.append(false)
            default: continue
            }
        }
        guard !patterns.isEmpty else { return }
        try await connection.query(TopicStatements.write(instanceID: instanceID, executionID: executionID, patterns: patterns, subscribe: subscribe), logger: self.logger)
    }
}
