public import Foundation

/// Flow control the fleet shares: named rate limits for activity attempts, and concurrency limits
/// per key for starts (docs/flow-control.md). A requirement group of ``DurableProvider``.
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

    /// Starts `request` under concurrency key `key` (``KeyedStartPolicy/concurrency(limit:)``): at
    /// most `limit` instances started so run at once, across the fleet. The call's instance is
    /// `<key>#<n>`, `n` counting the key's calls (ids in use skipped; `request.instanceID` is not
    /// used). It is created now when the key has a free slot and no call waits before it;
    /// otherwise the call waits, and its instance is created when a running one of the key ends
    /// (completed, failed, cancelled or terminated), in the same transaction as that end, which
    /// wakes the fleet as any start does: no call is lost or started twice, none waits for a
    /// poll, and the calls of a key start in call order. `limit` is the key's from then on. An
    /// ended instance reset to run again counts, over the limit if need be. Conformance: "a
    /// concurrency key runs at most its limit, in call order, each ending freeing a slot".
    func startUnderConcurrencyLimit(_ request: StartRequest, key: String, limit: Int) async throws -> ConcurrencyStart

    /// Concurrency key `key`'s slots: its limit, how many of its instances run and which calls
    /// wait, oldest first; `nil` for a key never used. For `durable why` of a waiting call.
    func concurrencyKey(_ key: String) async throws -> ConcurrencyKeyInfo?
}
