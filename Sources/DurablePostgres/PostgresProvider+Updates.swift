public import Durable
import Foundation
import PostgresNIO

// Updates (DurableUpdates): a row per update, its message in the inbox, its outcome written by the
// commit that ends it.
extension PostgresProvider {
    public func sendUpdate(_ update: UpdateRequest) async throws -> Bool {
        try ProviderValidation.update(update, limit: self.configuration.maxPayloadBytes)
        let kind = try DurableJSON.encode(update.message)
        return try await self.withRetry("sending update '\(update.name)' to '\(update.instanceID)'", statement: "send_update", deadline: .seconds(10)) {
            try await self.sendUpdate(update, kind: kind, on: nil)
        }
    }

    public func updateWithStart(_ start: StartRequest, _ update: UpdateRequest) async throws -> StartResult {
        try ProviderValidation.updateWithStart(start, update, limit: self.configuration.maxPayloadBytes)
        let executionID = UUID().uuidString.lowercased()
        let message = try Self.startMessage(start, executionID: executionID)
        let kind = try DurableJSON.encode(update.message)
        return try await self.transaction("updating '\(start.instanceID)' with start", statement: "update_with_start") { connection in
            // As signal-with-start: the second statement's snapshot has a concurrent creator's row.
            let created = CreateInstanceStatement(
                instanceID: start.instanceID, name: start.name, version: start.version ?? "", executionID: executionID, input: start.input.json,
                start: message, channel: self.configuration.channel, queue: start.queueName, priority: start.priority ?? Priority.default
            )
            let counts = try await connection.query(created.query, logger: self.logger).collect().first?.decode((Int64, Int64).self)
            _ = try await self.sendUpdate(update, kind: kind, on: connection)
            return (counts?.0 ?? 0) > 0 ? .created : .alreadyExists
        }
    }

    private func sendUpdate(_ update: UpdateRequest, kind: String, on connection: PostgresConnection?) async throws -> Bool {
        let statement = UpdateStatements.send(id: update.id, instanceID: update.instanceID, name: update.name, kind: kind, channel: self.configuration.channel)
        let rows = if let connection {
            try await connection.query(statement, logger: self.logger).collect()
        } else {
            try await self.client.write(statement, logger: self.logger)
        }
        guard let row = rows.first else { throw DurableError(.instanceNotFound, "no instance '\(update.instanceID)'", instanceID: update.instanceID) }
        let (status, sent, known, _) = try row.decode((String, Bool, Bool, Int64).self)
        if sent || known { return sent }
        throw DurableError(.instanceFinished, "instance '\(update.instanceID)' is \(status) and takes no updates", instanceID: update.instanceID)
    }

    public func updateOutcome(id: String) async throws -> UpdateOutcome? {
        try await self.withRetry("reading the outcome of update \(id)", statement: "read_update", deadline: .seconds(10)) {
            let rows = try await self.client.query(UpdateStatements.outcome(id: id), logger: self.logger)
            for try await outcome in rows.decode(String?.self) {
                return try outcome.map { outcome throws(DurableError) in try DurableJSON.decode(UpdateOutcome.self, from: outcome) }
            }
            return nil
        }
    }

    public func updateOutcomes(id: String) -> AsyncStream<Void> {
        let stream = self.hub.subscribe(updateOf: id)
        self.startListening(.completions)
        return stream
    }

    /// Writes the outcomes a committed turn's actions give, in the commit's transaction.
    func writeUpdateOutcomes(_ actions: [TurnAction], on connection: PostgresConnection) async throws {
        var ids: [String] = []
        var outcomes: [String] = []
        for case .answerUpdate(let id, let outcome) in actions {
            ids.append(id)
            outcomes.append(try DurableJSON.encode(outcome))
        }
        guard !ids.isEmpty else { return }
        try await connection.query(UpdateStatements.answer(ids: ids, outcomes: outcomes, channel: self.configuration.completionChannel), logger: self.logger)
    }
}
