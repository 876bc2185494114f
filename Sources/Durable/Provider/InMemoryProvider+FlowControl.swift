public import Foundation
import Synchronization

// Flow control: rate limits, each a bucket (``RateLimitBucket``) updated under the state's lock.
extension InMemoryProvider {
    public func defineRateLimit(_ limit: RateLimit) async throws {
        self.state.withLock { state in
            state.rateLimits[limit.name] = (limit, state.rateLimits[limit.name]?.bucket ?? RateLimitBucket())
        }
    }

    public func rateLimits() async throws -> [RateLimit] {
        self.state.withLock { $0.rateLimits.values.map(\.limit).sorted { $0.name < $1.name } }
    }

    public func deleteRateLimit(name: String) async throws -> Bool {
        self.state.withLock { $0.rateLimits.removeValue(forKey: name) != nil }
    }

    public func admitActivity(_ lease: Lease, rateLimit name: String) async throws -> Date? {
        let now = self.now()
        return try self.state.withLock { state throws(DurableError) -> Date? in
            var task = try Self.fenced(state.tasks[lease.id], lease)
            guard var entry = state.rateLimits[name] else { return nil }
            let slot = entry.bucket.admit(now: now, limit: entry.limit)
            state.rateLimits[name] = entry
            guard slot > now else { return nil }
            task.lease = nil
            task.visibleAt = slot
            task.deliveries = max(0, task.deliveries - 1)
            task.rateAdmitted = true
            state.tasks[lease.id] = task
            return slot
        }
    }
}
