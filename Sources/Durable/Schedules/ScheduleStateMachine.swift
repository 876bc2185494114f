public import Foundation

/// The decisions of one schedule, without I/O: given its state, the time and whether the instance of
/// its last firing still runs, which instances to start, cancel or terminate, which firings to
/// skip and why, and when to look again. The provider stores the state and the runtime executes the
/// actions under the schedule's lease, so several nodes never decide the same firing twice; the
/// instance ids are deterministic (``instanceID(scheduleID:nominal:)``), so a decision executed
/// twice after a crash starts one instance.
public struct ScheduleStateMachine: Sendable, Hashable, Codable {
    public enum Action: Sendable, Hashable {
        case start(nominal: Date, instanceID: String)
        case skip(nominal: Date, reason: SkipReason)
        case cancel(instanceID: String)
        case terminate(instanceID: String)
    }

    public enum SkipReason: String, Sendable, Hashable, Codable {
        /// Older than the catch-up window allows, or not on time with `catchUp: .none`.
        case missed
        /// A later missed time fires instead (`catchUp: .latest`).
        case superseded
        /// An earlier firing still runs (`overlap: .skip`).
        case overlap
        /// An earlier firing still runs and another one is buffered already (`overlap: .bufferOne`).
        case bufferFull
    }

    /// What to do and when to decide again.
    public struct Decision: Sendable, Hashable {
        public var actions: [Action]
        /// The time of the next firing (its jitter included); `nil` when the schedule has ended or
        /// waits for the running instance (``waitsForRunning``).
        public var wakeAt: Date?
        /// Buffered firings wait for the running instance to end.
        public var waitsForRunning: Bool
    }

    public let scheduleID: String
    public var spec: ScheduleSpec
    public var policy: SchedulePolicy
    /// The next nominal time not yet decided.
    public private(set) var next: Date?
    /// Nominal times waiting for the running instance (``SchedulePolicy/Overlap/bufferOne``,
    /// ``SchedulePolicy/Overlap/bufferAll``).
    public private(set) var buffered: [Date] = []
    /// The instance of the latest firing started.
    public private(set) var latest: String?

    /// A schedule created at `now`: it fires from its first nominal time after `now`.
    public init(scheduleID: String, spec: ScheduleSpec, policy: SchedulePolicy, now: Date) throws(DurableError) {
        self.scheduleID = scheduleID
        self.spec = spec
        self.policy = policy
        self.next = try spec.nominalTime(after: now)
    }

    /// The id of the instance a firing starts: the schedule's id and the nominal time (UTC, to the
    /// second).
    public static func instanceID(scheduleID: String, nominal: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "\(scheduleID)@\(formatter.string(from: nominal))"
    }

    /// The nominal time of a firing's instance id (``instanceID(scheduleID:nominal:)``), if it is one.
    public static func nominal(ofInstance instanceID: String) -> Date? {
        guard let at = instanceID.lastIndex(of: "@") else { return nil }
        return ISO8601DateFormatter().date(from: String(instanceID[instanceID.index(after: at)...]))
    }

    /// Decides at `now`; `running` says whether the instance of the latest firing still runs.
    public mutating func decide(now: Date, running: Bool) throws(DurableError) -> Decision {
        var actions: [Action] = []
        var running = running && self.latest != nil
        // The buffer drains once the running instance ended, oldest first, one at a time.
        if !running, !self.buffered.isEmpty {
            let nominal = self.buffered.removeFirst()
            actions.append(self.start(nominal))
            running = true
        }
        let due = try self.due(now: now)
        for (nominal, late) in due {
            if let reason = self.catchUpSkip(late: late, isLast: nominal == due.last?.0) {
                actions.append(.skip(nominal: nominal, reason: reason))
                continue
            }
            guard running, let current = self.latest else {
                actions.append(self.start(nominal))
                running = true
                continue
            }
            switch self.policy.overlap {
            case .allowAll:
                actions.append(self.start(nominal))
            case .skip:
                actions.append(.skip(nominal: nominal, reason: .overlap))
            case .bufferOne:
                if let dropped = self.buffered.first {
                    actions.append(.skip(nominal: dropped, reason: .bufferFull))
                }
                self.buffered = [nominal]
            case .bufferAll:
                self.buffered.append(nominal)
            case .cancelRunning:
                actions.append(.cancel(instanceID: current))
                actions.append(self.start(nominal))
            case .terminateRunning:
                actions.append(.terminate(instanceID: current))
                actions.append(self.start(nominal))
            }
        }
        let waits = running && !self.buffered.isEmpty
        let wakeAt = self.next.map { $0.addingTimeInterval(self.spec.jitterDelay(scheduleID: self.scheduleID, nominal: $0).seconds) }
        return Decision(actions: actions, wakeAt: wakeAt, waitsForRunning: waits)
    }

    /// A changed spec or policy: the calendar goes on from the first nominal time after `now`.
    public mutating func update(spec: ScheduleSpec, policy: SchedulePolicy, now: Date) throws(DurableError) {
        self.spec = spec
        self.policy = policy
        self.next = try spec.nominalTime(after: now)
    }

    /// Fires now, outside the calendar (`durable schedule trigger`), under the overlap policy.
    public mutating func trigger(now: Date, running: Bool) -> [Action] {
        guard running, let current = self.latest, self.policy.overlap != .allowAll else { return [self.start(now)] }
        switch self.policy.overlap {
        case .cancelRunning: return [.cancel(instanceID: current), self.start(now)]
        case .terminateRunning: return [.terminate(instanceID: current), self.start(now)]
        case .skip, .bufferOne, .bufferAll, .allowAll: return [.skip(nominal: now, reason: .overlap)]
        }
    }

    /// The firings over a past range (a backfill): each nominal time in it, started regardless of
    /// overlap (each is an instance of its own); the calendar's own state is untouched.
    public func backfill(from start: Date, through end: Date, limit: Int = 10_000) throws(DurableError) -> [Action] {
        var actions: [Action] = []
        var from = start.addingTimeInterval(-1)
        while actions.count < limit, let nominal = try self.spec.nominalTime(after: from), nominal <= end {
            actions.append(.start(nominal: nominal, instanceID: Self.instanceID(scheduleID: self.scheduleID, nominal: nominal)))
            from = nominal
        }
        return actions
    }

    // MARK: Steps

    /// The nominal times due at `now` (their jitter passed), each with how late it is; advances
    /// `next` past them. Bounded: an outage of years does not produce millions of decisions.
    private mutating func due(now: Date) throws(DurableError) -> [(Date, Duration)] {
        var due: [(Date, Duration)] = []
        while let nominal = self.next, nominal.addingTimeInterval(self.spec.jitterDelay(scheduleID: self.scheduleID, nominal: nominal).seconds) <= now {
            due.append((nominal, .milliseconds(Int64(now.timeIntervalSince(nominal) * 1000))))
            self.next = try self.spec.nominalTime(after: nominal)
            if due.count > 10_000 { due.removeFirst() }
        }
        return due
    }

    private func catchUpSkip(late: Duration, isLast: Bool) -> SkipReason? {
        guard late > SchedulePolicy.onTime + (self.spec.jitter ?? .zero) else { return nil }
        switch self.policy.catchUp {
        case .all(let window): return late <= window ? nil : .missed
        case .latest: return isLast ? nil : .superseded
        case .none: return .missed
        }
    }

    private mutating func start(_ nominal: Date) -> Action {
        let id = Self.instanceID(scheduleID: self.scheduleID, nominal: nominal)
        self.latest = id
        return .start(nominal: nominal, instanceID: id)
    }
}

extension ScheduleStateMachine.Action: CustomStringConvertible {
    public var description: String {
        switch self {
        case .start(let nominal, let id): "start \(id) (nominal \(nominal))"
        case .skip(let nominal, let reason): "skip the firing of \(nominal): \(reason.rawValue)"
        case .cancel(let id): "cancel \(id)"
        case .terminate(let id): "terminate \(id)"
        }
    }
}
