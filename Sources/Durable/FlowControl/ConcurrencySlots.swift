/// The slots of one concurrency key (``KeyedStartPolicy/concurrency(limit:)``), pure: at most
/// `limit` of the key's instances run at once; calls beyond that wait, oldest first, and take the
/// slots of instances that end. A call's instance is `<key>#<n>`, `n` counting the key's calls.
/// The in-memory provider keeps one per key; PostgreSQL runs the same decisions on a
/// `concurrency_keys` row under its lock (migration 0019).
struct ConcurrencySlots<Call: Sendable>: Sendable {
    /// How many may run at once: the latest call's.
    private(set) var limit: Int
    /// Instances of the key that run (started and not ended).
    private(set) var running = 0
    /// Calls waiting for a slot, oldest first, with their instance ids.
    private(set) var waiting: [Waiting] = []
    /// Calls so far: the next instance is `<key>#<started>` (or later, past ids in use).
    private(set) var started = 0

    struct Waiting: Sendable {
        var instanceID: String
        var call: Call
    }

    init(limit: Int) {
        self.limit = limit
    }

    /// A call under `limit`: its instance id, the first `<key>#<n>` that `inUse` does not
    /// refuse, and whether it runs now (a free slot and nobody waiting before it) or waits.
    mutating func call(key: String, limit: Int, _ call: Call, inUse: (String) -> Bool) -> (instanceID: String, runs: Bool) {
        self.limit = limit
        var instanceID: String
        repeat {
            instanceID = "\(key)#\(self.started)"
            self.started += 1
        } while inUse(instanceID)
        guard self.waiting.isEmpty, self.running < limit else {
            self.waiting.append(Waiting(instanceID: instanceID, call: call))
            return (instanceID, false)
        }
        self.running += 1
        return (instanceID, true)
    }

    /// A running instance of the key ended (however it ended): the waiting calls that take the
    /// freed slot (or more, when the limit was raised since), oldest first. Each is running once
    /// returned: a caller that cannot start one (its id was taken meanwhile) calls ``ended()``
    /// again for it.
    mutating func ended() -> [Waiting] {
        self.running = max(0, self.running - 1)
        let free = max(0, self.limit - self.running)
        let next = Array(self.waiting.prefix(free))
        self.waiting.removeFirst(next.count)
        self.running += next.count
        return next
    }

    /// An ended instance of the key runs again (a reset): it counts, over the limit if need be.
    mutating func restarted() {
        self.running += 1
    }
}
