public import Durable
public import Foundation
import PostgresNIO

// Flow control: rate limits, one row each, admitted in one statement with the task's hand-back;
// concurrency keys, one row each, a call decided and its instance created in one statement.
extension PostgresProvider {
    public func defineRateLimit(_ limit: RateLimit) async throws {
        try await self.withRetry("defining rate limit '\(limit.name)'", statement: "define_rate_limit") {
            _ = try await self.client.write(RateLimitStatements.define(limit), logger: self.logger)
        }
    }

    public func rateLimits() async throws -> [RateLimit] {
        try await self.withRetry("listing rate limits", statement: "rate_limits") {
            var limits: [RateLimit] = []
            for try await (name, limit, interval, burst) in try await self.client.query(RateLimitStatements.list, logger: self.logger)
                .decode((String, Int, Int64, Int).self)
            {
                limits.append(try RateLimit(name: name, limit: limit, per: .milliseconds(interval), burst: burst))
            }
            return limits
        }
    }

    public func deleteRateLimit(name: String) async throws -> Bool {
        try await self.withRetry("deleting rate limit '\(name)'", statement: "delete_rate_limit") {
            try await self.client.write(RateLimitStatements.delete(name: name), logger: self.logger).count == 1
        }
    }

    public func admitActivity(_ lease: Lease, rateLimit name: String) async throws -> Date? {
        try await self.withRetry("admitting activity \(lease) under rate limit '\(name)'", statement: "admit_activity") {
            let rows = try await self.client.write(RateLimitStatements.admit(lease, rateLimit: name), logger: self.logger)
            for (current, slot, now, _) in try rows.map({ try $0.decode((Bool, Date?, Date, Int64).self) }) {
                guard current else { throw Self.leaseLost(lease, what: "activity") }
                guard let slot, slot > now else { return nil }
                return slot
            }
            throw Self.leaseLost(lease, what: "activity")
        }
    }

    public func startUnderConcurrencyLimit(_ request: StartRequest, key: String, limit: Int) async throws -> ConcurrencyStart {
        try ProviderValidation.concurrencyStart(request, key: key, limit: limit, payloadLimit: self.configuration.maxPayloadBytes)
        let executionID = UUID().uuidString.lowercased()
        let statement = StartUnderConcurrencyLimitStatement(
            key: key, limit: limit, name: request.name, version: request.version ?? "", executionID: executionID, input: request.input.json,
            start: try Self.startMessage(request, executionID: executionID), queue: request.queueName,
            priority: request.priority ?? Priority.default
        )
        return try await self.withRetry("starting under concurrency key '\(key)'", statement: "start_under_concurrency_limit") {
            let (instanceID, runs) = try await self.write(statement)[0].decode((String, Bool).self)
            return ConcurrencyStart(instanceID: instanceID, waits: !runs)
        }
    }

    public func concurrencyKey(_ key: String) async throws -> ConcurrencyKeyInfo? {
        try await self.withRetry("reading concurrency key '\(key)'", statement: "concurrency_key") {
            let rows = try await self.client.query(ConcurrencyKeyStatement.query(key: key), logger: self.logger)
            for try await (limit, running, waiting) in rows.decode((Int, Int, [String]).self) {
                return ConcurrencyKeyInfo(key: key, limit: limit, running: running, waiting: waiting)
            }
            return nil
        }
    }
}
