import Durable

/// The claim order of ready items in SQL (``Priority``): the ready time in epoch seconds, moved
/// ``Priority/aging`` per level from the default (earlier for higher levels). Built of immutable
/// built-in operators only, so an index can hold it and computing it calls no function; migration
/// 0018's ready indexes spell it exactly so, which the planner needs to match them.
enum ClaimRank {
    /// The rank of an item whose ready time is the expression `ready` and level the column `priority`.
    static func of(ready: String, priority: String) -> String {
        "date_part('epoch', \(ready) - timestamptz 'epoch') + \(Int(Priority.aging.seconds)) * (\(priority) - \(Priority.default))"
    }

    /// Now, as a rank of the default level.
    static let now = "date_part('epoch', now() - timestamptz 'epoch')"
}
