public import Durable
import Foundation
import PostgresNIO

// Operator control: pause and resume, as PauseStateMachine decides, in one transaction each.
extension PostgresProvider {
    public func pauseInstance(_ request: PauseRequest) async throws -> PauseOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        let id = request.instanceID
        return try await self.transaction("pausing '\(id)'", statement: "pause_instance") { connection in
            let (instance, now) = try await self.controlView(id, connection)
            let (action, outcome) = try PauseStateMachine(now: now).pause(instance, request)
            guard case .pause(let record, let interruptsTurn) = action else { return outcome }
            let deadline = try record.until.map { until throws(DurableError) in
                try DurableJSON.encode(HistoryEvent.Kind.instanceResumed(by: PauseRecord.deadline, at: until))
            }
            try await connection.query(
                PauseStatements.pause(
                    id, record: try DurableJSON.encode(record), until: record.until, releaseDelivery: interruptsTurn,
                    paused: try DurableJSON.encode(HistoryEvent.Kind.instancePaused(record)), resumed: deadline
                ),
                logger: self.logger
            )
            return outcome
        }
    }

    public func resumeInstance(_ request: ResumeRequest) async throws -> ResumeOutcome {
        try ProviderValidation.instanceID(request.instanceID)
        let id = request.instanceID
        return try await self.transaction("resuming '\(id)'", statement: "resume_instance") { connection in
            let (instance, now) = try await self.controlView(id, connection)
            let (action, outcome) = try PauseStateMachine(now: now).resume(instance, request)
            guard case .resume(let by, let at) = action else { return outcome }
            try await connection.query(
                PauseStatements.resume(id, resumed: try DurableJSON.encode(HistoryEvent.Kind.instanceResumed(by: by, at: at)), channel: self.configuration.channel),
                logger: self.logger
            )
            return outcome
        }
    }

    /// The instance as ``PauseStateMachine`` sees it, read under its row lock, and the
    /// transaction's time.
    private func controlView(_ id: String, _ connection: PostgresConnection) async throws -> (PauseStateMachine.Instance?, Date) {
        let rows = try await connection.query(PauseStatements.read(id), logger: self.logger).collect()
        guard let row = rows.first else {
            let now = try await connection.query("SELECT now()", logger: self.logger).collect().first?.decode(Date.self) ?? Date()
            return (nil, now)
        }
        let (status, pause, leased, now) = try row.decode((String, String?, Bool, Date).self)
        let instance = PauseStateMachine.Instance(
            id: id, status: InstanceStatus(rawValue: status) ?? .running,
            pause: try pause.map { text throws(DurableError) in try DurableJSON.decode(PauseRecord.self, from: text) }, leased: leased
        )
        return (instance, now)
    }
}
