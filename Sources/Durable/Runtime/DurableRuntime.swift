public import Foundation
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization
public import Tracing

/// Runs orchestrations and activities from a provider: an orchestration dispatcher and an activity
/// dispatcher, each with bounded concurrency, sleeping until a notification, the next due time or
/// a long safety poll.
///
/// Run it in a ServiceLifecycle `ServiceGroup`; on graceful shutdown it stops claiming, lets
/// in-flight work finish within ``Configuration/shutdownGracePeriod`` and hands back (releases the
/// leases of) what did not finish, so another node continues at once.
public final class DurableRuntime: Service, Sendable {
    public struct Configuration: Sendable {
        /// Identifies this node in leases and logs.
        public var nodeID: String
        /// Turns processed at once (256 by default). A turn holds its slot until its commit lands, so
        /// the slots bound how many turns a node has between claim and commit: with few of them, a
        /// burst of cheap turns (timers coming due together) waits for slots while the cores idle.
        public var orchestrationConcurrency: Int
        /// Activities whose code runs at once (of the default task queue, unless `activityQueues`
        /// says otherwise). An activity's slot is freed when its code ends, while its outcome waits
        /// for its write; up to four outcomes per slot may wait so, beyond that it keeps its slot.
        public var activityConcurrency: Int
        /// The task queues this node takes activities from (``TaskQueue``), each with its
        /// concurrency limit. Defaults to the default queue with `activityConcurrency`; a node meant
        /// only for GPU work serves `["gpu": 2]`. Every node also serves its session queue
        /// (``ActivitySession``) with `activityConcurrency`.
        public var activityQueues: [String: Int]
        /// The task queues this node takes turns from (``Orchestration/queue``), sharing
        /// `orchestrationConcurrency`. Defaults to the default queue.
        public var orchestrationQueues: [String]
        /// How often held leases are renewed; keep it well under the provider's lease duration.
        public var leaseRenewalInterval: Duration
        /// The longest a dispatcher sleeps without a notification or a known due time.
        public var safetyPollInterval: Duration
        /// How long in-flight work may run on after a graceful shutdown began.
        public var shutdownGracePeriod: Duration
        /// Backoff for work this node has no handler for: the first delay...
        public var missingHandlerBackoffBase: Duration
        /// ...doubling up to this cap.
        public var missingHandlerBackoffCap: Duration
        /// Claim only orchestrations and activities this node has handlers for.
        public var capabilityAwareClaims: Bool
        /// How often the node records that it is alive. Default 10 s: an idle node then issues about
        /// 10 statements a minute, and a crashed node's work is taken over 10–20 s after its last
        /// heartbeat; lower it for faster takeover.
        public var heartbeatInterval: Duration
        /// Leases of a node whose heartbeat is older than this are taken over without waiting for
        /// them to expire. Defaults to two heartbeat intervals.
        public var staleNodeAfter: Duration
        /// The release this node runs, shown in the node registry.
        public var buildVersion: String
        /// Instances listed per query when resuming in-progress work at startup.
        public var resumeBatchSize: Int
        /// A turn or activity delivered more often than this without completing (its node crashed,
        /// hung or lost the lease each time) is failed with a `poisoned` error.
        public var poisonLimit: Int
        /// Fail work after this many claims found no handler; `nil` (the default) waits for a
        /// handler forever, with backoff.
        public var missingHandlerLimit: Int?
        /// With capability-aware claims: claim work no live node can run after it waited this long,
        /// so it is handed back with backoff and shows what it waits for; `nil` never claims it.
        public var claimUnrunnableAfter: Duration?
        /// The longest a turn may run; past it the turn counts as hung (its lease is left to expire).
        public var maxTurnDuration: Duration
        /// Suspended orchestrations kept in memory between turns on this node (the sticky cache), so
        /// that a turn that continues where this node's last one ended costs its new messages only;
        /// least recently used evicted. 0 replays every turn.
        public var stickyCacheCapacity: Int
        /// The longest an activity attempt may hold its lease; `nil` renews as long as it runs. Past
        /// it the attempt is cancelled and counts as hung (its lease is left to expire), unlike an
        /// activity's own `timeout`, which fails the attempt and follows the retry policy.
        public var maxActivityDuration: Duration?
        /// How long an interrupted activity attempt (cancelled by its orchestration, past its
        /// heartbeat timeout, its lease lost, or hung) may run on before the node stops waiting for
        /// it: the attempt is then given up (a cancelled one is reported cancelled, so an
        /// orchestration waiting for the cancellation goes on) and its slot freed. Swift cannot stop
        /// code that ignores cancellation, so such code may still be running afterwards.
        public var activityGracePeriod: Duration
        /// Whether starts made through this runtime's ``DurableRuntime/client`` claim their first
        /// turn for this node as they create the instance, when it can run it and has a free slot
        /// (an eager start): the turn starts without a notification or a claim (docs/architecture.md,
        /// "The runtime").
        public var eagerStarts: Bool

        public init(
            nodeID: String = "node-\(UUID().uuidString.prefix(8).lowercased())",
            orchestrationConcurrency: Int = 256,
            activityConcurrency: Int = 32,
            leaseRenewalInterval: Duration = .seconds(10),
            safetyPollInterval: Duration = .seconds(30),
            shutdownGracePeriod: Duration = .seconds(10),
            missingHandlerBackoffBase: Duration = .seconds(1),
            missingHandlerBackoffCap: Duration = .seconds(60),
            capabilityAwareClaims: Bool = true,
            heartbeatInterval: Duration = .seconds(10),
            staleNodeAfter: Duration? = nil,
            buildVersion: String = "dev",
            resumeBatchSize: Int = 500,
            poisonLimit: Int = 10,
            missingHandlerLimit: Int? = nil,
            claimUnrunnableAfter: Duration? = .seconds(10),
            maxTurnDuration: Duration = .seconds(60),
            maxActivityDuration: Duration? = nil,
            stickyCacheCapacity: Int = 1_000,
            activityGracePeriod: Duration = .seconds(30),
            activityQueues: [String: Int]? = nil,
            orchestrationQueues: [String] = [TaskQueue.defaultName],
            eagerStarts: Bool = true
        ) {
            self.nodeID = nodeID
            self.orchestrationConcurrency = max(1, orchestrationConcurrency)
            self.activityConcurrency = max(1, activityConcurrency)
            self.leaseRenewalInterval = leaseRenewalInterval
            self.safetyPollInterval = safetyPollInterval
            self.shutdownGracePeriod = shutdownGracePeriod
            self.missingHandlerBackoffBase = missingHandlerBackoffBase
            self.missingHandlerBackoffCap = missingHandlerBackoffCap
            self.capabilityAwareClaims = capabilityAwareClaims
            self.heartbeatInterval = heartbeatInterval
            self.staleNodeAfter = staleNodeAfter ?? heartbeatInterval * 2
            self.buildVersion = buildVersion
            self.resumeBatchSize = max(1, resumeBatchSize)
            self.poisonLimit = max(1, poisonLimit)
            self.missingHandlerLimit = missingHandlerLimit
            self.claimUnrunnableAfter = claimUnrunnableAfter
            self.maxTurnDuration = maxTurnDuration
            self.maxActivityDuration = maxActivityDuration
            self.stickyCacheCapacity = max(0, stickyCacheCapacity)
            self.activityGracePeriod = max(.zero, activityGracePeriod)
            self.activityQueues = activityQueues ?? [TaskQueue.defaultName: self.activityConcurrency]
            self.orchestrationQueues = Array(Set(orchestrationQueues)).sorted()
            self.eagerStarts = eagerStarts
        }
    }

    public let provider: any DurableProvider
    public let registry: Registry
    public let configuration: Configuration
    let engine: OrchestrationEngine
    let logger: Logger
    let isStopping = Atomic(false)
    private let registered = Atomic(false)
    let orchestrationWake: WakeSignal
    let heartbeatWake = WakeSignal()
    /// This process as the node registry knows it; its lease owner is `<nodeID>#<incarnation>`.
    public let registration: NodeRegistration
    let tracer: any Tracer
    let resume = Mutex(ResumeTracker())
    let counters = Mutex(Statistics())
    let turnsInFlight: InFlightCount
    /// Heartbeats that reported a silent node holding leases: each makes the next claims search
    /// for them (``TakeoverCadence``).
    let orphanReports = Atomic(0)
    /// The task queues this node serves, by name.
    let lanes: [String: ActivityLane]
    /// The queue whose activities a turn commit leases to this node right away: the default queue
    /// when served, else the first by name.
    let prefetchLane: ActivityLane?
    let metrics: DurableMetrics
    /// Turns claimed by an activity completion and activities leased by a turn commit: work this
    /// node took in passing, waiting for a free slot.
    let localTurns: LocalWork<OrchestrationWorkItem>
    let completions: CompletionBatcher
    /// Completions this node committed, for its own clients that wait for them.
    let localOutcomes = LocalOutcomes()
    /// The provider's clock minus this node's, as of the last claimed turn: the `now` of turns this
    /// node commits with an activity outcome, without a claim that would read the provider's clock.
    let providerClockOffset = Mutex<TimeInterval>(0)
    /// The running activity attempts by task id, each with what renews its lease at once.
    let runningActivities = Mutex<[String: @Sendable () -> Void]>([:])

    /// What this runtime did so far.
    public var statistics: Statistics { self.counters.withLock { $0 } }

    /// - Parameters:
    ///   - tracer: where spans go; defaults to the bootstrapped `InstrumentationSystem`.
    ///   - metricsFactory: where metrics go (docs/observability.md lists them); defaults to the
    ///     bootstrapped `MetricsSystem`.
    public init(
        provider: any DurableProvider,
        registry: Registry,
        configuration: Configuration = .init(),
        logger: Logger,
        tracer: (any Tracer)? = nil,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        let metricsFactory = metricsFactory ?? MetricsSystem.factory
        let metrics = DurableMetrics(factory: metricsFactory, node: configuration.nodeID)
        self.metrics = metrics
        self.turnsInFlight = InFlightCount(reportingTo: metrics.turnsInFlight)
        var lanes = Dictionary(uniqueKeysWithValues: configuration.activityQueues.map { ($0.key, ActivityLane(queue: $0.key, concurrency: $0.value, metrics: metrics)) })
        self.prefetchLane = lanes[TaskQueue.defaultName] ?? lanes.keys.sorted().first.flatMap { lanes[$0] }
        let session = TaskQueue.session(of: configuration.nodeID)
        lanes[session] = ActivityLane(queue: session, concurrency: configuration.activityConcurrency, metrics: metrics)
        self.lanes = lanes
        self.provider = provider
        // Schedules and starts by key run as orchestrations that every node has, and sessions open
        // with an activity that every node has.
        var registry = registry
        if registry.orchestration(name: DurableSchedule.name, version: DurableSchedule.version) == nil {
            try? registry.register(DurableSchedule())
        }
        if registry.orchestration(name: DurableKeyedStart.name, version: DurableKeyedStart.version) == nil {
            try? registry.register(DurableKeyedStart())
        }
        if !registry.activityNames.contains(SessionOpening.name) {
            try? registry.register(SessionOpening(nodeID: configuration.nodeID))
        }
        self.registry = registry
        self.configuration = configuration
        // The results it writes are ready for turns: wake this node's turn dispatcher at once, not
        // only when the notification comes back through the LISTEN connection.
        let orchestrationWake = WakeSignal()
        self.orchestrationWake = orchestrationWake
        let localTurns = LocalWork<OrchestrationWorkItem>()
        self.localTurns = localTurns
        self.completions = CompletionBatcher(provider: provider) { result in
            localTurns.push(result.claimed)
            if result.readyForTurn || !result.claimed.isEmpty {
                orchestrationWake.signal(claim: result.readyForTurn)
            }
        }
        self.registration = NodeRegistration(
            id: configuration.nodeID,
            incarnation: UUID().uuidString.prefix(13).lowercased(),
            host: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier),
            buildVersion: configuration.buildVersion,
            capabilities: Capabilities(registry, activityQueues: lanes.keys.sorted(), orchestrationQueues: configuration.orchestrationQueues)
        )
        var logger = logger
        logger[metadataKey: "durable.node"] = .string(configuration.nodeID)
        self.logger = logger
        self.tracer = tracer ?? InstrumentationSystem.tracer
        self.engine = OrchestrationEngine(registry: registry, logger: logger, cacheCapacity: configuration.stickyCacheCapacity, metrics: metrics, metricsFactory: metricsFactory)
    }

    /// Registers the node, resumes in-progress instances and runs until a graceful shutdown (or
    /// cancellation) and the hand-back of unfinished work.
    ///
    /// - Throws: the provider's error when the node cannot register (database unreachable, schema not
    ///   migrated).
    public func run() async throws {
        for queue in self.configuration.activityQueues.keys { try TaskQueue.validate(queue, served: true) }
        for queue in self.configuration.orchestrationQueues { try TaskQueue.validate(queue, served: true) }
        let released = try await self.provider.registerNode(self.registration)
        self.registered.store(true, ordering: .releasing)
        self.logger.info(
            "runtime starting",
            metadata: [
                "durable.incarnation": .string(self.registration.incarnation),
                "durable.registry": .string(self.registry.summary),
                "durable.releasedLeases": "\(released)",
            ]
        )
        let heartbeats = Task { await self.runHeartbeats() }
        // Discovery first, so that every resumed instance logs discover before attach.
        await self.discoverInProgressInstances(releasedLeases: released)
        let queries = Task { await self.runQueries() }
        let cancellations = Task { await self.runCancellationListener() }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.runOrchestrationDispatcher() }
                group.addTask { await self.runActivityDispatchers() }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        queries.cancel()
        cancellations.cancel()
        await queries.value
        heartbeats.cancel()
        await heartbeats.value
        let registration = self.registration
        self.registered.store(false, ordering: .releasing)
        await self.attempt(self.logger) { try await self.provider.deregisterNode(registration) }
        self.logger.info("runtime stopped")
    }

    /// Whether the node is registered and taking work: from its registration in ``run()`` until it
    /// begins to deregister (for readiness probes).
    public var isRegistered: Bool {
        self.registered.load(ordering: .acquiring) && !self.isStopping.load(ordering: .acquiring)
    }

    /// Stops claiming new work; in-flight work gets the grace period. `run()` returns when done.
    public func beginShutdown() {
        guard !self.isStopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        self.logger.info("runtime shutting down", metadata: ["durable.grace": .string("\(self.configuration.shutdownGracePeriod)")])
        self.orchestrationWake.signal()
        self.wakeActivityLanes()
        self.heartbeatWake.signal()
    }

    /// Every activity dispatcher claims (leases may have lapsed, a node went stale).
    func wakeActivityLanes() {
        for lane in self.lanes.values { lane.wake.signal() }
    }

    var stopping: Bool {
        self.isStopping.load(ordering: .acquiring) || Task.isCancelled
    }

    var capabilities: Capabilities? {
        self.configuration.capabilityAwareClaims ? self.registration.capabilities : nil
    }

    /// The delay before work this node lacks a handler for is offered again, after `misses`
    /// handler misses (this one included).
    func missingHandlerDelay(misses deliveryCount: Int) -> Duration {
        RetryPolicy(
            maxAttempts: .max,
            initialInterval: self.configuration.missingHandlerBackoffBase,
            backoffCoefficient: 2,
            maximumInterval: self.configuration.missingHandlerBackoffCap
        ).backoff(afterAttempt: deliveryCount)
    }

    /// The claim loop shared by both dispatchers: local work first, then claims for the free slots;
    /// sleeps until a notification, a freed slot, local work or the next due time.
    func dispatch<Item: Sendable>(
        _ channel: NotificationChannel,
        wake: WakeSignal,
        concurrency: Int,
        inFlight: InFlightCount,
        local: LocalWork<Item>,
        claim: @escaping @Sendable (_ limit: Int, _ searchesOrphans: Bool) async throws -> ClaimResult<Item>,
        takesOver: (Item) -> Bool,
        process: @escaping @Sendable (Item, DispatchSlot) async -> Void,
        handBack: @escaping @Sendable (Item) async -> Void
    ) async {
        // Subscribed before the first claim: a notification sent in between must not be lost.
        let notifications = self.provider.notifications(channel)
        let queue: DurableMetrics.Queue = channel == .orchestrations ? .orchestrations : .activities
        // When the oldest notification not yet followed by a claim arrived: the wake latency.
        let notifiedAt = Mutex<ContinuousClock.Instant?>(nil)
        let listener = Task {
            for await _ in notifications {
                notifiedAt.withLock { $0 = $0 ?? .now }
                wake.signal()
            }
        }
        defer { listener.cancel() }
        var failures = 0
        // Discarding: a plain task group keeps every finished child (its async stack included) until
        // the group ends, so a long-running node's memory would grow with all the work it ever ran.
        await withDiscardingTaskGroup { group in
            func start(_ item: Item) {
                inFlight.add(1)
                group.addTask {
                    let slot = DispatchSlot {
                        // A freed slot matters only when the dispatcher was full (work may be waiting
                        // unclaimed); otherwise notifications wake it for new work, and a claim now
                        // would most likely find nothing and delay the next wake-up. The count after
                        // this slot's own decrement tells: of slots freed together exactly one sees
                        // the dispatcher go from full to not full (reading the count afterwards, both
                        // could miss it, and the full dispatcher slept until the safety poll).
                        let remaining = inFlight.add(-1)
                        if remaining == concurrency - 1 || self.stopping { wake.signal() }
                    }
                    await process(item, slot)
                    slot.free()
                }
            }
            // Whether there may be work to claim: not after a wake-up that only handed over local
            // work, which a claim would most likely not find.
            var claimWanted = true
            // When to claim even without a signal: the safety poll or the next due time.
            var deadline = ContinuousClock.now
            var takeovers = TakeoverCadence(interval: self.configuration.heartbeatInterval)
            while !self.stopping {
                var free = concurrency - inFlight.value
                if free > 0 {
                    for item in local.pop(free) {
                        start(item)
                        free -= 1
                    }
                }
                if free > 0, claimWanted || ContinuousClock.now >= deadline {
                    claimWanted = false
                    // Jittered by up to a tenth, so that nodes started together do not poll together.
                    var sleep = self.configuration.safetyPollInterval * Double.random(in: 0.9...1.0)
                    defer { deadline = ContinuousClock.now + sleep }
                    do {
                        if let notified = notifiedAt.withLock({ $0.take() }) {
                            self.metrics.wakeLatency[queue]?.record(duration: ContinuousClock.now - notified)
                        }
                        let started = ContinuousClock.now
                        let reports = self.orphanReports.load(ordering: .acquiring)
                        let searches = takeovers.searches(at: started, reports: reports)
                        let result = try await claim(free, searches)
                        if searches { takeovers.searched(at: started, reports: reports, tookOver: result.items.contains(where: takesOver)) }
                        self.metrics.claim(queue, items: result.items.count, duration: ContinuousClock.now - started)
                        failures = 0
                        if channel == .orchestrations {
                            self.counters.withLock { $0.largestTurnClaim = max($0.largestTurnClaim, result.items.count) }
                        }
                        for item in result.items { start(item) }
                        if result.items.count == free {
                            claimWanted = true
                            continue
                        }
                        if let next = result.nextVisibleIn { sleep = min(sleep, next) }
                    } catch {
                        self.metrics.claimFailed(queue)
                        failures += 1
                        sleep = RetryPolicy(maxAttempts: .max, initialInterval: .milliseconds(100), maximumInterval: .seconds(10))
                            .backoff(afterAttempt: failures)
                        self.logger.warning(
                            "claim failed; retrying",
                            metadata: ["durable.queue": .string(channel.rawValue), "error": .string("\(error)"), "durable.retryIn": .string("\(sleep)")]
                        )
                    }
                }
                // `free` was read before local work was started: look again (``maySleep``).
                if !Self.maySleep(inFlight: inFlight.value, concurrency: concurrency, claimWanted: claimWanted, localWork: local.count) { continue }
                // With no free slot, a freed one signals; with one, the deadline may already have come.
                let timeout = concurrency > inFlight.value ? max(.zero, deadline - ContinuousClock.now) : self.configuration.safetyPollInterval
                if await wake.wait(timeout: timeout) {
                    claimWanted = true
                }
            }
            // Shutting down: local work was never started, so it goes back at once; in-flight work
            // gets the grace period, then is interrupted.
            for item in local.pop(.max) { await handBack(item) }
            let graceEnd = ContinuousClock.now + self.configuration.shutdownGracePeriod
            while inFlight.value > 0, ContinuousClock.now < graceEnd {
                await wake.wait(timeout: graceEnd - ContinuousClock.now)
            }
            if inFlight.value > 0 {
                self.logger.info("interrupting unfinished work", metadata: ["durable.queue": .string(channel.rawValue), "durable.count": "\(inFlight.value)"])
                group.cancelAll()
            }
        }
    }
}

extension DurableRuntime {
    /// Whether a dispatcher may sleep until a signal or its deadline: only with no free slot, or
    /// with nothing to claim or start. Read just before sleeping: a task that finished while the
    /// dispatcher started local work frees a slot without a signal (only the one that ends a full
    /// dispatcher signals), and a sleep then left that slot idle until the safety poll, with ready
    /// work waiting (30 s runs of the scale workload).
    static func maySleep(inFlight: Int, concurrency: Int, claimWanted: Bool, localWork: Int) -> Bool {
        inFlight >= concurrency || (!claimWanted && localWork == 0)
    }
}

/// A shared count (work in flight) that escaping closures can hold, reported as a gauge.
final class InFlightCount: Sendable {
    private let atomic = Atomic(0)
    private let gauge: Gauge

    init(reportingTo gauge: Gauge) {
        self.gauge = gauge
    }

    var value: Int { self.atomic.load(ordering: .acquiring) }

    /// Adds `delta`; returns the new value.
    @discardableResult
    func add(_ delta: Int) -> Int {
        let value = self.atomic.add(delta, ordering: .acquiringAndReleasing).newValue
        self.gauge.record(value)
        return value
    }
}

/// Work handed to a dispatcher by another step (a commit that leased activities, a completion that
/// claimed the next turn) instead of by its own claim.
final class LocalWork<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])

    func push(_ new: [Item]) {
        self.items.withLock { $0 += new }
    }

    func pop(_ limit: Int) -> [Item] {
        self.items.withLock { items in
            let taken = Array(items.prefix(limit))
            items.removeFirst(taken.count)
            return taken
        }
    }

    var count: Int { self.items.withLock { $0.count } }
}
