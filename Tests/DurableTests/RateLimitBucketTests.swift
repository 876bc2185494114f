import Durable
import Foundation
import Testing

/// The rate limit's arithmetic (the generic cell rate algorithm), without a database.
@Suite struct RateLimitBucketTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func aBurstStartsAtOnceThenTheRateSpacesTheRest() throws {
        let limit = try RateLimit(name: "payments", limit: 10, per: .seconds(1), burst: 3)
        var bucket = RateLimitBucket()
        let slots = (0..<6).map { _ in bucket.admit(now: self.start, limit: limit).timeIntervalSince(self.start) }
        #expect(slots.map { ($0 * 1000).rounded() } == [0, 0, 0, 100, 200, 300])
    }

    @Test func aQuietSpellRefillsTheBurstButNoMore() throws {
        let limit = try RateLimit(name: "payments", limit: 2, per: .seconds(1), burst: 2)
        var bucket = RateLimitBucket()
        _ = bucket.admit(now: self.start, limit: limit)
        _ = bucket.admit(now: self.start, limit: limit)
        // Ten seconds later: two at once again, the third waits half a second.
        let later = self.start.addingTimeInterval(10)
        let slots = (0..<3).map { _ in bucket.admit(now: later, limit: limit).timeIntervalSince(later) }
        #expect(slots.map { ($0 * 1000).rounded() } == [0, 0, 500])
    }

    @Test func theSustainedRateIsNeverExceeded() throws {
        let limit = try RateLimit(name: "api", limit: 20, per: .seconds(1))
        var bucket = RateLimitBucket()
        var now = self.start
        var slots: [Date] = []
        // Arrivals far faster than the rate, at uneven times.
        for step in 0..<200 {
            now = now.addingTimeInterval(Double(step % 7) / 1000)
            slots.append(bucket.admit(now: now, limit: limit))
        }
        for (earlier, later) in zip(slots, slots.dropFirst()) {
            #expect(later.timeIntervalSince(earlier) >= 0.05 - 1e-6, "Date keeps about a microsecond at this epoch")
        }
    }

    @Test func badLimitsAreRejected() {
        #expect(throws: DurableError.self) { try RateLimit(name: "", limit: 1, per: .seconds(1)) }
        #expect(throws: DurableError.self) { try RateLimit(name: "x", limit: 0, per: .seconds(1)) }
        #expect(throws: DurableError.self) { try RateLimit(name: "x", limit: 1, per: .zero) }
        #expect(throws: DurableError.self) { try RateLimit(name: "x", limit: 1, per: .seconds(1), burst: 0) }
    }
}
