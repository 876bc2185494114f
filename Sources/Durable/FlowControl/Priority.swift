/// Claim order within a task queue: a ready turn or activity task of a higher priority is claimed
/// before those of lower ones, oldest first within a priority. Levels go from ``highest`` (1) to
/// ``lowest`` (5); ``default`` is 3. Starvation is bounded by aging: in a claim's order, every
/// `priorityAging` (`DurableRuntime.Configuration`, 60 s by default) a ready item has waited counts
/// as one level higher, so a ready item of level `p` waits at most `(p - 1) × priorityAging` behind
/// work of higher levels that arrives after it.
///
/// An instance gets its priority from its start (else the default), a child and an activity from
/// their call, else from the instance that calls them.
public enum Priority {
    public static let highest = 1
    public static let lowest = 5
    public static let `default` = 3

    static func validate(_ priority: Int) throws(DurableError) {
        guard (Self.highest...Self.lowest).contains(priority) else {
            throw DurableError(.invalidInput, "priority \(priority) is not between \(Self.highest) (highest) and \(Self.lowest) (lowest)")
        }
    }

    /// `nil` for the default (left out of histories, as before priorities existed).
    static func recorded(_ priority: Int) -> Int? { priority == Self.default ? nil : priority }
}
