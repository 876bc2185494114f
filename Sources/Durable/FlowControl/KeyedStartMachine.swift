public import Foundation

/// The decisions of starts that share a key (``KeyedStartPolicy``), pure: it takes the calls, the
/// end of its quiet period and the ends of the instances it started, and says what to start. The
/// built-in orchestration that runs each key (`durable.keyed`) executes its actions, so they are
/// decided once under that instance's lease and replayed like any code.
public struct KeyedStartMachine: Sendable, Hashable, Codable {
    public enum Action: Sendable, Hashable {
        /// Start the instance `instanceID` with `input`.
        case start(input: Payload, instanceID: String)
        /// A call was dropped: an instance of the key runs (singleton, skip).
        case skip
    }

    public var key: String
    public var policy: KeyedStartPolicy
    /// Instances started so far: the next one is `<key>#<started>`.
    public private(set) var started = 0
    /// Debounce: the last call's input, waiting for the calls to stop.
    public private(set) var pending: Payload?
    /// Debounce: when the quiet period ends.
    public private(set) var quietUntil: Date?
    /// Singleton and concurrency: the instances that run, oldest first.
    public private(set) var running: [String] = []
    /// Singleton (queue) and concurrency: the inputs of the calls waiting for a slot, oldest first.
    public private(set) var queued: [Payload] = []

    public init(key: String, policy: KeyedStartPolicy) {
        self.key = key
        self.policy = policy
    }

    /// When a timer should wake the key: the end of its quiet period.
    public var wakeAt: Date? { self.quietUntil }

    /// The id of the `n`-th instance the key starts (from 0).
    public static func instanceID(key: String, number: Int) -> String { "\(key)#\(number)" }

    /// A call with `input`, at `now`.
    public mutating func call(_ input: Payload, now: Date) -> [Action] {
        switch self.policy {
        case .debounce(let quiet):
            self.pending = input
            self.quietUntil = now.addingTimeInterval(quiet.seconds)
            return []
        case .singleton(.skip) where !self.running.isEmpty:
            return [.skip]
        case .singleton, .concurrency:
            guard self.hasFreeSlot else {
                self.queued.append(input)
                return []
            }
            return [self.start(input)]
        }
    }

    /// The wake-up at `now`: a debounce whose calls stopped for its quiet period starts.
    public mutating func wake(now: Date) -> [Action] {
        guard let quietUntil = self.quietUntil, quietUntil <= now, let input = self.pending else { return [] }
        self.pending = nil
        self.quietUntil = nil
        return [self.start(input)]
    }

    /// The instance `instanceID` ended: the oldest queued call takes its slot.
    public mutating func finished(_ instanceID: String) -> [Action] {
        guard let index = self.running.firstIndex(of: instanceID) else { return [] }
        self.running.remove(at: index)
        guard self.hasFreeSlot, !self.queued.isEmpty else { return [] }
        return [self.start(self.queued.removeFirst())]
    }

    private var hasFreeSlot: Bool { self.running.count < (self.policy.runningLimit ?? .max) }

    private mutating func start(_ input: Payload) -> Action {
        let id = Self.instanceID(key: self.key, number: self.started)
        self.started += 1
        if self.policy.runningLimit != nil { self.running.append(id) }
        return .start(input: input, instanceID: id)
    }
}

extension KeyedStartMachine {
    private enum CodingKeys: String, CodingKey {
        case key, policy, started, pending, quietUntil, running, runningIDs, queued
    }

    // A singleton's running instance is stored as `running`, one id, as before concurrency limits
    // existed, so a node of that version can still read a singleton's record in a rolling upgrade.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.key = try container.decode(String.self, forKey: .key)
        self.policy = try container.decode(KeyedStartPolicy.self, forKey: .policy)
        self.started = try container.decode(Int.self, forKey: .started)
        self.pending = try container.decodeIfPresent(Payload.self, forKey: .pending)
        self.quietUntil = try container.decodeIfPresent(Date.self, forKey: .quietUntil)
        self.running = try container.decodeIfPresent([String].self, forKey: .runningIDs)
            ?? (try container.decodeIfPresent(String.self, forKey: .running)).map { [$0] } ?? []
        self.queued = try container.decode([Payload].self, forKey: .queued)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.key, forKey: .key)
        try container.encode(self.policy, forKey: .policy)
        try container.encode(self.started, forKey: .started)
        try container.encodeIfPresent(self.pending, forKey: .pending)
        try container.encodeIfPresent(self.quietUntil, forKey: .quietUntil)
        if self.running.count > 1 {
            try container.encode(self.running, forKey: .runningIDs)
        } else {
            try container.encodeIfPresent(self.running.first, forKey: .running)
        }
        try container.encode(self.queued, forKey: .queued)
    }
}
