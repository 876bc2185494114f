public import Foundation
import Synchronization

// Flow control: rate limits, each a bucket (``RateLimitBucket``), and concurrency keys, each its
// slots (``ConcurrencySlots``), updated under the state's lock.
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

    public func startUnderConcurrencyLimit(_ request: StartRequest, key: String, limit: Int) async throws -> ConcurrencyStart {
        try ProviderValidation.concurrencyStart(request, key: key, limit: limit, payloadLimit: self.maxPayloadBytes)
        let now = self.now()
        let start = self.state.withLock { state -> ConcurrencyStart in
            var slots = state.concurrencyKeys[key] ?? ConcurrencySlots(limit: limit)
            let (instanceID, runs) = slots.call(key: key, limit: limit, request) { state.instances[$0] != nil }
            state.concurrencyKeys[key] = slots
            if runs { state.createHolding(request, instanceID: instanceID, key: key, now: now) }
            return ConcurrencyStart(instanceID: instanceID, waits: !runs)
        }
        if !start.waits { self.notify(.orchestrations) }
        return start
    }

    public func concurrencyKey(_ key: String) async throws -> ConcurrencyKeyInfo? {
        self.state.withLock { state in
            state.concurrencyKeys[key].map { slots in
                ConcurrencyKeyInfo(key: key, limit: slots.limit, running: slots.running, waiting: slots.waiting.prefix(1000).map(\.instanceID))
            }
        }
    }
}

extension InMemoryProvider.State {
    /// Creates the instance of a call that holds a slot of concurrency key `key`.
    mutating func createHolding(_ request: StartRequest, instanceID: String, key: String, now: Date) {
        var request = request
        request.instanceID = instanceID
        self.create(request, now: now)
        self.instances[instanceID]?.concurrencyKey = key
    }

    /// A running instance of concurrency key `key` ended: the oldest waiting calls take the freed
    /// slot. Returns whether one started.
    mutating func releaseSlot(of key: String, now: Date) -> Bool {
        guard var slots = self.concurrencyKeys[key] else { return false }
        var next = slots.ended()
        var started = false
        while !next.isEmpty {
            let waiting = next.removeFirst()
            if self.instances[waiting.instanceID] == nil {
                self.createHolding(waiting.call, instanceID: waiting.instanceID, key: key, now: now)
                started = true
            } else {
                // Its id was taken meanwhile: the slot goes to the next call.
                next += slots.ended()
            }
        }
        self.concurrencyKeys[key] = slots
        return started
    }
}
