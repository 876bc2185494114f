import Synchronization

/// One task queue a node serves (``TaskQueue``): its own dispatcher, with a concurrency limit,
/// wake-up signal, in-flight count and local work of its own, so that one queue's backlog never
/// takes the slots of another.
final class ActivityLane: Sendable {
    let queue: String
    let concurrency: Int
    let wake = WakeSignal()
    let inFlight: InFlightCount
    /// Activities a turn commit leased to this node on this queue, waiting for a free slot.
    let local = LocalWork<ActivityWorkItem>()
    /// Outcomes waiting for their write whose activities gave their slots up (``handOver()``).
    private let recording = Atomic(0)

    init(queue: String, concurrency: Int, metrics: DurableMetrics) {
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.inFlight = InFlightCount(reportingTo: metrics.activitiesInFlight(queue: queue))
    }

    /// How many outcomes per slot may wait for their write after their activities gave the slot up.
    static let outcomesPerSlot = 4

    /// Whether an activity whose code has ended may give its slot to the next one while its
    /// outcome waits for its write: while fewer than ``outcomesPerSlot`` per slot wait, so that a
    /// slow database slows the lane down again instead of letting outcomes pile up. Balanced by
    /// ``recorded()``.
    func handOver() -> Bool {
        if self.recording.add(1, ordering: .relaxed).newValue <= Self.outcomesPerSlot * self.concurrency { return true }
        self.recording.subtract(1, ordering: .relaxed)
        return false
    }

    /// An outcome ``handOver()`` admitted was written (or given up).
    func recorded() {
        self.recording.subtract(1, ordering: .relaxed)
    }

    /// Slots neither running nor promised to local work.
    var free: Int { max(0, self.concurrency - self.inFlight.value - self.local.count) }
}
