import Foundation
import Metrics

/// The runtime's metrics, named and typed the Prometheus way; docs/observability.md lists each with
/// its meaning. Labels are bounded: node, queue, orchestration and activity names, outcomes and
/// reasons; never instance ids or payloads.
///
/// Created from the `MetricsFactory` the runtime is given (by default the one bootstrapped in
/// `MetricsSystem`). Handles with fixed labels are made once; those labelled by a name are made on
/// first use and kept (``MetricHandles``).
final class DurableMetrics: Sendable {
    /// Which of the two work queues a metric is about.
    enum Queue: String, Sendable {
        case orchestrations
        case activities
    }

    /// How a turn ended.
    enum TurnOutcome: String, Sendable {
        /// Its commit was applied.
        case committed
        /// It failed and the instance was handed back (a storage error, a history nobody can read).
        case failed
        /// Its work was thrown away: see ``TurnDiscard``.
        case discarded
    }

    /// Why a turn's work was thrown away.
    enum TurnDiscard: String, Sendable {
        case leaseLost = "lease_lost"
        case stale
        case hung
        case missingHandler = "missing_handler"
    }

    /// How an activity attempt ended.
    enum AttemptOutcome: String, Sendable {
        case completed
        case failed
        /// Failed, with another attempt to come.
        case retried
        case cancelled
        case leaseLost = "lease_lost"
        case hung
        /// Handed back at shutdown.
        case interrupted
    }

    private let handles: MetricHandles

    let turnsInFlight: Gauge
    let startToFirstTurn: Metrics.Timer
    let wakeLatency: [Queue: Metrics.Timer]
    let timerLag: Metrics.Timer
    let stickyHits: Counter
    let stickyMisses: Counter
    let stickyEvictions: Counter
    let heartbeats: Counter
    let heartbeatFailures: Counter
    let nodesAlive: Gauge
    let readyDepth: [Queue: Gauge]
    let oldestReadyAge: [Queue: Gauge]

    init(factory: any MetricsFactory, node: String) {
        self.handles = MetricHandles(factory: factory, fixed: [("node", node)])
        let dimensions = [("node", node)]
        self.turnsInFlight = Gauge(label: "durable_turns_in_flight", dimensions: dimensions, factory: factory)
        self.startToFirstTurn = Metrics.Timer(label: "durable_start_to_first_turn_seconds", dimensions: dimensions, factory: factory)
        self.wakeLatency = [
            .orchestrations: Metrics.Timer(label: "durable_wake_latency_seconds", dimensions: dimensions + [("queue", "orchestrations")], factory: factory),
            .activities: Metrics.Timer(label: "durable_wake_latency_seconds", dimensions: dimensions + [("queue", "activities")], factory: factory),
        ]
        self.timerLag = Metrics.Timer(label: "durable_timer_lag_seconds", dimensions: dimensions, factory: factory)
        self.stickyHits = Counter(label: "durable_sticky_cache_hits_total", dimensions: dimensions, factory: factory)
        self.stickyMisses = Counter(label: "durable_sticky_cache_misses_total", dimensions: dimensions, factory: factory)
        self.stickyEvictions = Counter(label: "durable_sticky_cache_evictions_total", dimensions: dimensions, factory: factory)
        self.heartbeats = Counter(label: "durable_heartbeats_total", dimensions: dimensions, factory: factory)
        self.heartbeatFailures = Counter(label: "durable_heartbeat_failures_total", dimensions: dimensions, factory: factory)
        self.nodesAlive = Gauge(label: "durable_nodes_alive", dimensions: dimensions, factory: factory)
        func perQueue(_ label: String) -> [Queue: Gauge] {
            [
                .orchestrations: Gauge(label: label, dimensions: dimensions + [("queue", "orchestrations")], factory: factory),
                .activities: Gauge(label: label, dimensions: dimensions + [("queue", "activities")], factory: factory),
            ]
        }
        self.readyDepth = perQueue("durable_ready_depth")
        self.oldestReadyAge = perQueue("durable_ready_oldest_age_seconds")
    }

    /// Metrics that report nothing (for an engine used without a runtime).
    static let none = DurableMetrics(factory: NOOPMetricsHandler.instance, node: "")

    // MARK: Events

    func turn(orchestration: String, _ outcome: TurnOutcome, duration: Duration? = nil) {
        self.counter("durable_turns_total", ("orchestration", orchestration), ("outcome", outcome.rawValue)).increment()
        if let duration {
            self.timer("durable_turn_duration_seconds", ("orchestration", orchestration)).record(duration: duration)
        }
    }

    func turnDiscarded(orchestration: String, _ reason: TurnDiscard) {
        self.turn(orchestration: orchestration, .discarded)
        self.counter("durable_turns_discarded_total", ("reason", reason.rawValue)).increment()
    }

    func attempt(activity: String, _ outcome: AttemptOutcome, duration: Duration) {
        self.counter("durable_activity_attempts_total", ("activity", activity), ("outcome", outcome.rawValue)).increment()
        self.timer("durable_activity_duration_seconds", ("activity", activity)).record(duration: duration)
        if outcome == .retried {
            self.counter("durable_activity_retries_total", ("activity", activity)).increment()
        }
    }

    /// A schedule's firing started, `lag` after its nominal time (its jitter included).
    func scheduleFired(lagFrom nominal: Date, to now: Date) {
        self.counter("durable_schedule_firings_total").increment()
        self.record(self.timer("durable_schedule_firing_lag_seconds"), from: nominal, to: now)
    }

    /// An attempt its rate limit made wait `delay` for its slot.
    func rateLimited(_ rateLimit: String, delay: Duration) {
        self.counter("durable_rate_limited_total", ("rate_limit", rateLimit)).increment()
        self.timer("durable_rate_limit_delay_seconds", ("rate_limit", rateLimit)).record(duration: delay)
    }

    /// Activities of one task queue running on the node now.
    func activitiesInFlight(queue: String) -> Gauge {
        self.handles.gauge("durable_activities_in_flight", [("task_queue", queue)])
    }

    /// An interrupted attempt whose code did not return within the grace period.
    func abandoned(activity: String) {
        self.counter("durable_activity_abandoned_total", ("activity", activity)).increment()
    }

    func claim(_ queue: Queue, items: Int, duration: Duration) {
        self.counter("durable_claims_total", ("queue", queue.rawValue)).increment()
        self.counter("durable_claimed_items_total", ("queue", queue.rawValue)).increment(by: items)
        if items == 0 { self.counter("durable_claims_empty_total", ("queue", queue.rawValue)).increment() }
        self.timer("durable_claim_duration_seconds", ("queue", queue.rawValue)).record(duration: duration)
    }

    /// A start through the runtime's client whose first turn this node claimed as it created it.
    func eagerStart() {
        self.counter("durable_eager_starts_total").increment()
    }

    func claimFailed(_ queue: Queue) {
        self.counter("durable_claim_failures_total", ("queue", queue.rawValue)).increment()
    }

    func takeover(_ queue: Queue) {
        self.counter("durable_takeovers_total", ("queue", queue.rawValue)).increment()
    }

    func leaseLost(_ queue: Queue) {
        self.counter("durable_leases_lost_total", ("queue", queue.rawValue)).increment()
    }

    func missingHandler(kind: String, name: String) {
        self.counter("durable_missing_handler_total", ("kind", kind), ("name", name)).increment()
    }

    func poisoned(_ queue: Queue, name: String) {
        self.counter("durable_poisoned_total", ("queue", queue.rawValue), ("name", name)).increment()
    }

    func finished(orchestration: String, status: String) {
        self.counter("durable_instances_finished_total", ("orchestration", orchestration), ("status", status)).increment()
    }

    /// The fleet as the last heartbeat saw it.
    func fleet(_ snapshot: FleetSnapshot) {
        self.nodesAlive.record(snapshot.aliveNodes)
        self.readyDepth[.orchestrations]?.record(snapshot.readyTurns)
        self.readyDepth[.activities]?.record(snapshot.readyActivities)
        self.oldestReadyAge[.orchestrations]?.record(snapshot.oldestReadyTurn.map(\.seconds) ?? 0)
        self.oldestReadyAge[.activities]?.record(snapshot.oldestReadyActivity.map(\.seconds) ?? 0)
        for (queue, depth) in snapshot.activityQueues {
            self.handles.gauge("durable_task_queue_depth", [("task_queue", queue)]).record(depth.ready)
            self.handles.gauge("durable_task_queue_oldest_age_seconds", [("task_queue", queue)]).record(depth.oldestReady.map(\.seconds) ?? 0)
        }
        for (queue, depth) in snapshot.turnQueues {
            self.handles.gauge("durable_turn_queue_depth", [("task_queue", queue)]).record(depth.ready)
            self.handles.gauge("durable_turn_queue_oldest_age_seconds", [("task_queue", queue)]).record(depth.oldestReady.map(\.seconds) ?? 0)
        }
    }

    func messageDiscarded(reason: String) {
        self.counter("durable_messages_discarded_total", ("reason", reason)).increment()
    }

    /// Records a delay measured between two dates (clocks of different machines may disagree a
    /// little: a negative delay counts as none).
    func record(_ timer: Metrics.Timer, from start: Date, to end: Date) {
        timer.recordNanoseconds(Int64(max(0, end.timeIntervalSince(start)) * 1e9))
    }

    private func counter(_ label: String, _ dimensions: (String, String)...) -> Counter {
        self.handles.counter(label, dimensions)
    }

    private func timer(_ label: String, _ dimensions: (String, String)...) -> Metrics.Timer {
        self.handles.timer(label, dimensions)
    }
}
