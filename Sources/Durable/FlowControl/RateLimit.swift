import Foundation

/// A named rate limit shared by the whole fleet: at most `limit` activity attempts per `interval`
/// start, with bursts of up to `burst` at once. Activities opt in by name
/// (`context.activity(Charge.self, card, rateLimit: "payments")`, or ``Activity/rateLimit``); the
/// limit is kept in the database, so every node respects it (``RateLimitBucket``).
public struct RateLimit: Sendable, Hashable, Codable {
    public var name: String
    /// Attempts per `interval`.
    public var limit: Int
    public var interval: Duration
    /// How many attempts may start at once after a quiet spell; 1 spaces every attempt evenly.
    public var burst: Int

    /// - Throws: `invalidInput` for an empty or over-long name, a limit or burst below 1, or an
    ///   interval that is not positive.
    public init(name: String, limit: Int, per interval: Duration, burst: Int = 1) throws(DurableError) {
        guard !name.isEmpty, name.count <= 200 else {
            throw DurableError(.invalidInput, "a rate limit's name must have 1 to 200 characters", name: name)
        }
        guard limit >= 1, burst >= 1, interval >= .milliseconds(1) else {
            throw DurableError(.invalidInput, "rate limit '\(name)' needs a limit and a burst of at least 1 and an interval of at least 1 ms", name: name)
        }
        self.name = name
        self.limit = limit
        self.interval = interval
        self.burst = burst
    }

    /// The time between two attempts at the sustained rate.
    public var emissionInterval: Duration { self.interval / self.limit }
    /// How far ahead of the sustained rate a burst may run.
    public var burstTolerance: Duration { self.emissionInterval * (self.burst - 1) }
}
