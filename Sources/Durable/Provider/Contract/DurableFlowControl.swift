public import Foundation

/// Flow control the fleet shares: named rate limits for activity attempts (docs/flow-control.md).
/// A requirement group of ``DurableProvider``.
public protocol DurableFlowControl: Sendable {
    /// Creates the limit, or changes the one of that name; its bucket carries on, so a change
    /// applies from the next admission. Conformance: "a rate limit spaces admissions at its rate".
    func defineRateLimit(_ limit: RateLimit) async throws

    /// Every defined limit, by name.
    func rateLimits() async throws -> [RateLimit]

    /// Deletes a limit; activities that name it are no longer limited. Returns whether it existed.
    func deleteRateLimit(name: String) async throws -> Bool

    /// Admits the attempt that holds `lease` under rate limit `name`, in one atomic step with the
    /// bucket's update (``RateLimitBucket``): `nil` when it may start now (also when no such limit
    /// is defined); otherwise the time of its slot, which it keeps: the task is handed back (its
    /// lease released, no delivery or attempt counted) visible at that time, and the claim that
    /// takes it then hands it out with ``ActivityWorkItem/rateAdmitted`` set, so it starts without
    /// another admission. No two admissions get the same slot, on any node.
    ///
    /// - Throws: `leaseLost` when the lease is no longer current (nothing changes).
    func admitActivity(_ lease: Lease, rateLimit name: String) async throws -> Date?
}
