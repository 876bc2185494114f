/// A concurrency key's slots as the provider keeps them (``DurableFlowControl/concurrencyKey(_:)``).
public struct ConcurrencyKeyInfo: Sendable, Hashable, Codable {
    public var key: String
    /// How many of its instances may run at once: its latest call's limit.
    public var limit: Int
    /// How many of its instances run.
    public var running: Int
    /// The instance ids of the calls waiting for a slot, oldest first (at most 1,000).
    public var waiting: [String]

    public init(key: String, limit: Int, running: Int, waiting: [String]) {
        self.key = key
        self.limit = limit
        self.running = running
        self.waiting = waiting
    }
}
