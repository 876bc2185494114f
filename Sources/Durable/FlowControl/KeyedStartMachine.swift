public import Foundation

/// The decisions of starts that share a key (``KeyedStartPolicy``), pure: it takes the calls, the
/// end of its quiet period and the end of the instance it started, and says what to start. The
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
    /// Singleton: the instance that runs.
    public private(set) var running: String?
    /// Singleton, queue: the inputs of the calls waiting for it, oldest first.
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
        case .singleton(let whenRunning):
            guard self.running != nil else { return [self.start(input)] }
            switch whenRunning {
            case .skip: return [.skip]
            case .queue:
                self.queued.append(input)
                return []
            }
        }
    }

    /// The wake-up at `now`: a debounce whose calls stopped for its quiet period starts.
    public mutating func wake(now: Date) -> [Action] {
        guard let quietUntil = self.quietUntil, quietUntil <= now, let input = self.pending else { return [] }
        self.pending = nil
        self.quietUntil = nil
        return [self.start(input)]
    }

    /// The instance `instanceID` ended: the next queued call starts.
    public mutating func finished(_ instanceID: String) -> [Action] {
        guard self.running == instanceID else { return [] }
        self.running = nil
        guard !self.queued.isEmpty else { return [] }
        return [self.start(self.queued.removeFirst())]
    }

    private mutating func start(_ input: Payload) -> Action {
        let id = Self.instanceID(key: self.key, number: self.started)
        self.started += 1
        if case .singleton = self.policy { self.running = id }
        return .start(input: input, instanceID: id)
    }
}
