/// How starts that share a key behave (``DurableClient/start(_:input:key:policy:version:queue:)``).
public enum KeyedStartPolicy: Sendable, Hashable, Codable {
    /// Each call restarts a quiet period; once the calls stop for `quiet`, one instance starts, with
    /// the last call's input. A burst of "document changed" events starts one instance.
    case debounce(quiet: Duration)
    /// At most one instance of the key runs at a time; a call while one runs is skipped or queued
    /// to start after it (in call order).
    case singleton(whenRunning: WhenRunning)
    /// At most `limit` instances of the key run at once, across the fleet; the calls beyond it wait
    /// and start in call order as running ones end (however they end). Keys do not wait for each
    /// other: each has its own slots.
    case concurrency(limit: Int)

    public enum WhenRunning: String, Sendable, Hashable, Codable, CaseIterable {
        case skip
        case queue
    }

    /// How many instances of the key may run at once; `nil` for a debounce, which does not count them.
    var runningLimit: Int? {
        switch self {
        case .debounce: nil
        case .singleton: 1
        case .concurrency(let limit): limit
        }
    }
}
