public import Durable
import Foundation
import Synchronization

/// Wraps a provider and records the claims and hand-backs made through it, for tests that assert
/// backoff delays or count wasted claims.
public final class RecordingProvider: DurableProvider {
    public struct Abandon: Sendable, Hashable {
        public var id: String
        public var delay: Duration
        public var reason: AbandonReason
        public var at: ContinuousClock.Instant
    }

    public let base: any DurableProvider
    private let records = Mutex<(claims: [(String, ContinuousClock.Instant)], abandons: [Abandon])>(([], []))
    private let completionHold = Mutex<(@Sendable () async -> Void)?>(nil)
    private let commitHold = Mutex<(@Sendable () async -> Void)?>(nil)
    private let reads = Mutex<[String: Int]>([:])
    private let completionsMuted = Atomic(false)

    public init(_ base: any DurableProvider) {
        self.base = base
    }

    /// Hand-backs of orchestrations and activities, in order.
    public var abandons: [Abandon] { self.records.withLock { $0.abandons } }

    /// When each instance or task was claimed, in order.
    public func claims(of id: String) -> [ContinuousClock.Instant] {
        self.records.withLock { $0.claims.filter { $0.0 == id }.map(\.1) }
    }

    /// Runs `hold` before every write of activity outcomes (alone or with a turn), so that a test
    /// can keep outcomes waiting for their write; `nil` writes them at once again.
    public func holdCompletions(_ hold: (@Sendable () async -> Void)?) {
        self.completionHold.withLock { $0 = hold }
    }

    /// Runs `hold` after every turn commit, before it returns, as when a commit's notification has
    /// arrived and its confirmation has not; `nil` returns at once again.
    public func holdCommits(_ hold: (@Sendable () async -> Void)?) {
        self.commitHold.withLock { $0 = hold }
    }

    /// How often the instance was read (``DurableProvider/instance(id:)``) through this provider.
    public func instanceReads(of id: String) -> Int {
        self.reads.withLock { $0[id, default: 0] }
    }

    /// Completion notifications subscribed from now on never arrive: a waiting client learns of a
    /// completion only some other way.
    public func muteCompletionNotifications() {
        self.completionsMuted.store(true, ordering: .relaxed)
    }

    private func record(claimed ids: [String]) {
        let now = ContinuousClock.now
        self.records.withLock { $0.claims += ids.map { ($0, now) } }
    }

    private func record(_ lease: Lease, _ delay: Duration, _ reason: AbandonReason) {
        let abandon = Abandon(id: lease.id, delay: delay, reason: reason, at: ContinuousClock.now)
        self.records.withLock { $0.abandons.append(abandon) }
    }

    public func createInstance(_ request: StartRequest) async throws -> StartResult { try await self.base.createInstance(request) }
    public func createInstance(_ request: StartRequest, claimingFirstTurnFor owner: String) async throws -> (StartResult, OrchestrationWorkItem?) {
        let (result, turn) = try await self.base.createInstance(request, claimingFirstTurnFor: owner)
        self.record(claimed: turn.map { [$0.lease.id] } ?? [])
        return (result, turn)
    }
    public func createInstance(
        _ request: StartRequest,
        claimingFirstTurnFor owner: String,
        committing firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> (StartResult, FirstTurn) {
        let (result, first) = try await self.base.createInstance(request, claimingFirstTurnFor: owner, committing: firstTurn)
        switch first {
        case .none: break
        case .claimed(let item): self.record(claimed: [item.lease.id])
        case .committed(let item, _, let prefetched): self.record(claimed: [item.lease.id] + prefetched.map(\.lease.id))
        }
        return (result, first)
    }
    public func signalWithStart(_ request: StartRequest, event: HistoryEvent.Kind) async throws -> StartResult {
        try await self.base.signalWithStart(request, event: event)
    }
    public func sendMessage(instanceID: String, _ message: HistoryEvent.Kind) async throws {
        try await self.base.sendMessage(instanceID: instanceID, message)
    }
    public func claimOrchestrations(_ request: ClaimRequest) async throws -> ClaimResult<OrchestrationWorkItem> {
        let result = try await self.base.claimOrchestrations(request)
        self.record(claimed: result.items.map(\.lease.id))
        return result
    }
    public func commitTurn(_ lease: Lease, _ commit: TurnCommit) async throws -> [ActivityWorkItem] {
        let prefetched = try await self.base.commitTurn(lease, commit)
        if let hold = self.commitHold.withLock({ $0 }) { await hold() }
        self.record(claimed: prefetched.map(\.lease.id))
        return prefetched
    }
    public func abandonOrchestration(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        self.record(lease, delay, reason)
        try await self.base.abandonOrchestration(lease, delay: delay, reason: reason)
    }
    public func renewOrchestration(_ lease: Lease) async throws { try await self.base.renewOrchestration(lease) }
    public func claimActivities(_ request: ClaimRequest) async throws -> ClaimResult<ActivityWorkItem> {
        let result = try await self.base.claimActivities(request)
        self.record(claimed: result.items.map(\.lease.id))
        return result
    }
    public func completeActivities(_ completions: [ActivityCompletion], claim: ClaimRequest?) async throws -> ActivityCompletionResult {
        await self.completionHold.withLock { $0 }?()
        let result = try await self.base.completeActivities(completions, claim: claim)
        self.record(claimed: result.claimed.map(\.lease.id))
        return result
    }
    public func completeActivity(_ completion: ActivityCompletion, committing turn: TurnCommit) async throws -> CompletionCommit {
        await self.completionHold.withLock { $0 }?()
        let result = try await self.base.completeActivity(completion, committing: turn)
        if case .committed(let prefetched) = result { self.record(claimed: prefetched.map(\.lease.id)) }
        return result
    }
    public func abandonActivity(_ lease: Lease, delay: Duration, reason: AbandonReason) async throws {
        self.record(lease, delay, reason)
        try await self.base.abandonActivity(lease, delay: delay, reason: reason)
    }
    public func renewActivity(_ lease: Lease) async throws -> Bool { try await self.base.renewActivity(lease) }
    public func heartbeatActivity(_ lease: Lease, details: Payload?, extendBy: Duration?) async throws -> Bool {
        try await self.base.heartbeatActivity(lease, details: details, extendBy: extendBy)
    }
    public func instance(id: String) async throws -> InstanceInfo? {
        self.reads.withLock { $0[id, default: 0] += 1 }
        return try await self.base.instance(id: id)
    }
    public func history(instanceID: String) async throws -> [HistoryEvent] { try await self.base.history(instanceID: instanceID) }
    public func listInstances(_ query: InstanceQuery) async throws -> InstancePage { try await self.base.listInstances(query) }
    public func purgeInstances(_ query: PurgeQuery) async throws -> Int { try await self.base.purgeInstances(query) }
    public func queueDepths() async throws -> QueueDepths { try await self.base.queueDepths() }
    public func activities(instanceID: String) async throws -> [ActivityTaskInfo] { try await self.base.activities(instanceID: instanceID) }
    public func pauseInstance(_ request: PauseRequest) async throws -> PauseOutcome { try await self.base.pauseInstance(request) }
    public func resumeInstance(_ request: ResumeRequest) async throws -> ResumeOutcome { try await self.base.resumeInstance(request) }
    public func resetInstance(_ request: ResetRequest) async throws -> ResetOutcome { try await self.base.resetInstance(request) }
    public func history(instanceID: String, executionID: String) async throws -> [HistoryEvent] {
        try await self.base.history(instanceID: instanceID, executionID: executionID)
    }
    public func registerNode(_ node: NodeRegistration) async throws -> Int { try await self.base.registerNode(node) }
    public func heartbeat(_ node: NodeRegistration, staleAfter: Duration) async throws -> HeartbeatResult {
        try await self.base.heartbeat(node, staleAfter: staleAfter)
    }
    public func deregisterNode(_ node: NodeRegistration) async throws { try await self.base.deregisterNode(node) }
    public func listNodes(staleAfter: Duration) async throws -> [NodeInfo] { try await self.base.listNodes(staleAfter: staleAfter) }
    public func notifications(_ channel: NotificationChannel) -> AsyncStream<Void> { self.base.notifications(channel) }
    public func completionNotifications(instanceID: String) -> AsyncStream<Void> {
        guard !self.completionsMuted.load(ordering: .relaxed) else { return AsyncStream { _ in } }
        return self.base.completionNotifications(instanceID: instanceID)
    }
    public func activityCancellations() -> AsyncStream<String> { self.base.activityCancellations() }
}
