public import Durable
public import Foundation

// Queries, updates, publications and rate limits pass through unrecorded.
extension RecordingProvider {
    public func publish(topic: String, data: Payload) async throws -> Int { try await self.base.publish(topic: topic, data: data) }

    public func submitQuery(id: String, instanceID: String, name: String, input: Payload, expiresAfter: Duration) async throws -> QueryRequest {
        try await self.base.submitQuery(id: id, instanceID: instanceID, name: name, input: input, expiresAfter: expiresAfter)
    }

    public func queryRequests() -> AsyncStream<QueryRequest> { self.base.queryRequests() }

    public func claimQuery(id: String, owner: String, for duration: Duration) async throws -> Bool {
        try await self.base.claimQuery(id: id, owner: owner, for: duration)
    }

    public func claimQueries(owner: String, capabilities: Capabilities?, olderThan: Duration, limit: Int, for duration: Duration) async throws -> [QueryRequest] {
        try await self.base.claimQueries(owner: owner, capabilities: capabilities, olderThan: olderThan, limit: limit, for: duration)
    }

    public func answerQuery(id: String, _ answer: QueryAnswer) async throws { try await self.base.answerQuery(id: id, answer) }

    public func queryAnswers(id: String) -> AsyncStream<QueryAnswer?> { self.base.queryAnswers(id: id) }

    public func queryAnswer(id: String) async throws -> QueryAnswer? { try await self.base.queryAnswer(id: id) }

    public func sendUpdate(_ update: UpdateRequest) async throws -> Bool { try await self.base.sendUpdate(update) }

    public func updateWithStart(_ start: StartRequest, _ update: UpdateRequest) async throws -> StartResult {
        try await self.base.updateWithStart(start, update)
    }

    public func updateOutcome(id: String) async throws -> UpdateOutcome? { try await self.base.updateOutcome(id: id) }

    public func updateOutcomes(id: String) -> AsyncStream<Void> { self.base.updateOutcomes(id: id) }

    public func defineRateLimit(_ limit: RateLimit) async throws { try await self.base.defineRateLimit(limit) }

    public func rateLimits() async throws -> [RateLimit] { try await self.base.rateLimits() }

    public func deleteRateLimit(name: String) async throws -> Bool { try await self.base.deleteRateLimit(name: name) }

    public func admitActivity(_ lease: Lease, rateLimit name: String) async throws -> Date? { try await self.base.admitActivity(lease, rateLimit: name) }

    public func startUnderConcurrencyLimit(_ request: StartRequest, key: String, limit: Int) async throws -> ConcurrencyStart {
        try await self.base.startUnderConcurrencyLimit(request, key: key, limit: limit)
    }

    public func concurrencyKey(_ key: String) async throws -> ConcurrencyKeyInfo? { try await self.base.concurrencyKey(key) }
}
