public import Foundation

/// The state of one ``RateLimit``: the generic cell rate algorithm (a token bucket written as one
/// timestamp). `theoreticalArrival` is when the next attempt would be due at the sustained rate;
/// an admission moves it one emission interval on. An attempt that arrives too early is not
/// refused but given a slot: the time it may start, which its task waits for as a known due time
/// (no polling), and which no other attempt gets. So a burst of a thousand tasks is spread at the
/// rate across the fleet, each claimed twice. PostgreSQL runs the same arithmetic in SQL on the
/// `rate_limits` row; the in-memory provider runs this.
public struct RateLimitBucket: Sendable, Hashable, Codable {
    public var theoreticalArrival: Date

    public init(theoreticalArrival: Date = .distantPast) {
        self.theoreticalArrival = theoreticalArrival
    }

    /// Admits one attempt arriving at `now` under `limit`: returns when it may start (`now` or
    /// later) and reserves that slot.
    public mutating func admit(now: Date, limit: RateLimit) -> Date {
        let slot = max(self.theoreticalArrival, now)
        self.theoreticalArrival = slot.addingTimeInterval(limit.emissionInterval.seconds)
        return max(now, slot.addingTimeInterval(-limit.burstTolerance.seconds))
    }
}
