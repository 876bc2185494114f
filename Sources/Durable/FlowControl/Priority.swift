public import Foundation

/// Claim order within a task queue: a ready turn or activity task of a higher priority is claimed
/// before those of lower ones, oldest first within a priority. Levels go from ``highest`` (1) to
/// ``lowest`` (5); ``default`` is 3.
///
/// Starvation is bounded by aging: in claim order, every ``aging`` (60 s) a ready item has waited
/// counts as one level higher, so a ready item of level `p` waits at most `(p - 1) × aging` behind
/// work of higher levels that arrives after it, and a lower level than the default is claimed at
/// once when nothing of a higher level is ready. The aging is part of the schema's ready indexes
/// (PostgreSQL), so it is the same for the whole fleet.
///
/// An instance gets its priority from its start (else the default), a child and an activity from
/// their call, else from the instance that calls them.
public enum Priority {
    public static let highest = 1
    public static let lowest = 5
    public static let `default` = 3
    /// The wait that counts as one level.
    public static let aging = Duration.seconds(60)

    static func validate(_ priority: Int) throws(DurableError) {
        guard (Self.highest...Self.lowest).contains(priority) else {
            throw DurableError(.invalidInput, "priority \(priority) is not between \(Self.highest) (highest) and \(Self.lowest) (lowest)")
        }
    }

    /// `nil` for the default (left out of histories, as before priorities existed).
    static func recorded(_ priority: Int) -> Int? { priority == Self.default ? nil : priority }

    /// A ready item's place in claim order, lower first (PostgreSQL walks the same order through
    /// its indexes): items whose ``rankTime(readyAt:priority:)`` has come, by that time; then the
    /// ready items of lower levels than the default that have not waited long enough for theirs,
    /// by level, oldest first.
    public struct ClaimRank: Comparable, Sendable {
        let aged: Bool
        let time: Date
        let level: Int

        public init(priority: Int, readyAt: Date, now: Date) {
            let rank = Priority.rankTime(readyAt: readyAt, priority: priority)
            self.aged = rank <= now
            self.level = self.aged ? 0 : priority
            self.time = self.aged ? rank : readyAt
        }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.aged ? 0 : 1, lhs.level, lhs.time) < (rhs.aged ? 0 : 1, rhs.level, rhs.time)
        }
    }

    /// When a ready item takes its place among the default level's: its ready time moved by
    /// ``aging`` for each level from the default (earlier for higher levels).
    public static func rankTime(readyAt: Date, priority: Int) -> Date {
        readyAt.addingTimeInterval(Double(priority - Self.default) * Self.aging.seconds)
    }
}
