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

    init(queue: String, concurrency: Int, metrics: DurableMetrics) {
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.inFlight = InFlightCount(reportingTo: metrics.activitiesInFlight(queue: queue))
    }

    /// Slots neither running nor promised to local work.
    var free: Int { max(0, self.concurrency - self.inFlight.value - self.local.count) }
}
