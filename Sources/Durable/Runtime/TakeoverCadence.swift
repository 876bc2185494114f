/// When a dispatcher's claims search for the leases of silent nodes (``ClaimRequest/searchesOrphans``).
///
/// The search reads the leases in flight across the fleet: in PostgreSQL it cost a busy claim more
/// than its ready-index walk (0.2–1 ms of a 0.5–1.5 ms claim, with ~60 turns in flight). The node's
/// heartbeat already learns when a silent node holds leases, so claims search
/// - after a heartbeat reported orphans (a new `reports` count),
/// - while their searches keep taking work over (there may be more than one claim's worth),
/// - and otherwise once per `interval`, for what heartbeats do not report (leases of an earlier
///   incarnation of a live node); the first claim always searches.
///
/// A pure decision, executed by the dispatcher's claim.
struct TakeoverCadence: Sendable {
    let interval: Duration
    private var lastSearch: ContinuousClock.Instant?
    private var seenReports = 0
    private var tookOver = false

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether the claim made at `now` searches, given the count of heartbeats that reported orphans.
    func searches(at now: ContinuousClock.Instant, reports: Int) -> Bool {
        guard let lastSearch else { return true }
        return reports != self.seenReports || self.tookOver || now - lastSearch >= self.interval
    }

    /// Records a claim that searched: `reports` as read before it, and whether it took work over.
    mutating func searched(at now: ContinuousClock.Instant, reports: Int, tookOver: Bool) {
        self.lastSearch = now
        self.seenReports = reports
        self.tookOver = tookOver
    }
}
