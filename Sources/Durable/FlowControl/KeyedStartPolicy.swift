/// How starts that share a key behave (``DurableClient/start(_:input:key:policy:version:queue:)``).
public enum KeyedStartPolicy: Sendable, Hashable, Codable {
    /// Each call restarts a quiet period; once the calls stop for `quiet`, one instance starts, with
    /// the last call's input. A burst of "document changed" events starts one instance.
    case debounce(quiet: Duration)
    /// At most one instance of the key runs at a time; a call while one runs is skipped or queued
    /// to start after it (in call order).
    case singleton(whenRunning: WhenRunning)

    public enum WhenRunning: String, Sendable, Hashable, Codable, CaseIterable {
        case skip
        case queue
    }
}
