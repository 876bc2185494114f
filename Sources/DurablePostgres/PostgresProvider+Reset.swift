public import Durable
import Foundation
import PostgresNIO

// Reset, as ResetPlanner plans it, in one transaction; and the histories of reset executions.
extension PostgresProvider {
    public func resetInstance(_ request: ResetRequest) async throws -> ResetOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        if let event = request.event {
            try ProviderValidation.name(event.name)
            try ProviderValidation.payload(event.input, limit: self.configuration.maxPayloadBytes, what: "the event data", instanceID: request.instanceID)
        }
        let id = request.instanceID
        return try await self.transaction("resetting '\(id)'", statement: "reset_instance") { connection in
            let rows = try await connection.query(ResetStatements.read(id), logger: self.logger).collect()
            guard let row = rows.first else { throw DurableError(.instanceNotFound, "no instance '\(id)'", instanceID: id) }
            let (old, stored, now) = try row.decode((String, [String], Date).self)
            let history = try stored.map { event throws(DurableError) in try DurableJSON.decode(HistoryEvent.self, from: event) }
            let execution = UUID().uuidString.lowercased()
            let plan = try ResetPlanner.plan(request, history: history, newExecutionID: execution)
            let ended = HistoryEvent(sequenceNumber: history.count, timestamp: now.roundedToMilliseconds, kind: .executionReset(plan.record))
            try await connection.query(ResetStatements.endExecution(id, old, sequence: history.count, event: try DurableJSON.encode(ended)), logger: self.logger)
            let waiting = try await connection.query(ResetStatements.takeWaiting(id), logger: self.logger).collect()
                .map { try $0.decode((Int64, String).self) }.sorted { $0.0 < $1.0 }.map(\.1)
            try await connection.query(try ResetStatements.startExecution(id, execution, plan: plan, waiting: waiting), logger: self.logger)
            if !plan.childrenToCancel.isEmpty {
                let kind = try DurableJSON.encode(HistoryEvent.Kind.cancelRequested(reason: "its parent \(id) was reset"))
                try await connection.query(ResetStatements.cancelChildren(plan.childrenToCancel, kind: kind), logger: self.logger)
            }
            try await connection.query(ResetStatements.notify(self.configuration.channel), logger: self.logger)
            return ResetOutcome(previousExecutionID: old, executionID: execution, keptEvents: plan.history.count, rescheduled: plan.activities.count + plan.timers.count)
        }
    }

    public func history(instanceID: String, executionID: String) async throws -> [HistoryEvent] {
        let rows = try await self.withRetry("reading the history of '\(instanceID)'", statement: "read_execution_history", deadline: .seconds(30)) {
            try await self.client.query(
                """
                SELECT (SELECT true FROM instances WHERE id = \(instanceID)),
                       coalesce((SELECT array_agg(h.event ORDER BY h.seq) FROM history h
                                 WHERE h.instance_id = \(instanceID) AND h.execution_id = \(executionID)), '{}')
                """,
                logger: self.logger
            ).collect()
        }
        guard let row = rows.first, let (exists, events) = try? row.decode((Bool?, [String]).self), exists == true else {
            throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
        }
        return try events.map { event throws(DurableError) in try DurableJSON.decode(HistoryEvent.self, from: event) }
    }
}
