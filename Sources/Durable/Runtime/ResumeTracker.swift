/// Follows the instances a runtime found in progress at startup through attach -> replay ->
/// complete, so that their resumption is logged and traced. Bounded: past `capacity` instances
/// they are counted but not followed.
struct ResumeTracker: Sendable {
    let capacity: Int
    private(set) var discovered = 0
    private(set) var attached = 0
    private(set) var completed = 0
    private var waiting: Set<String> = []
    private var running: Set<String> = []

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Records a discovered instance; returns whether it is followed.
    mutating func discover(_ id: String) -> Bool {
        self.discovered += 1
        guard self.waiting.count + self.running.count < self.capacity else { return false }
        self.waiting.insert(id)
        return true
    }

    /// Whether this claim is the first since the instance was discovered; it is then followed to its
    /// completion.
    mutating func attach(_ id: String) -> Bool {
        guard self.waiting.remove(id) != nil else { return false }
        self.attached += 1
        self.running.insert(id)
        return true
    }

    /// Whether a followed instance just completed.
    mutating func complete(_ id: String) -> Bool {
        guard self.running.remove(id) != nil else { return false }
        self.completed += 1
        return true
    }
}
