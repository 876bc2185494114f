import Durable

/// A table's ready items of queue `u.q` as its two ready indexes hold them (``Priority``): the
/// one in claim order (``ClaimRank``), and the one of the levels other than the default. The fleet
/// snapshot of a heartbeat reads them.
struct ReadyIndex {
    var table: String
    /// The item's ready time, as the indexes hold it.
    var ready: String
    /// What else a ready item must be to count.
    var filter: String

    static let turns = ReadyIndex(table: "instances", ready: "greatest(inbox_at, locked_until)", filter: "inbox_at IS NOT NULL")
    static let activities = ReadyIndex(table: "activity_tasks", ready: "visible_at", filter: "NOT cancel_requested")

    /// An item's claim order, as the ready index holds it.
    private var rank: String { ClaimRank.of(ready: self.ready, priority: "priority") }

    /// How many items of queue `u.q` are ready, up to ``FleetSnapshot/countLimit``: those whose
    /// rank has come, and those of the lower levels waiting for theirs.
    var count: String {
        let limit = FleetSnapshot.countLimit
        return """
            least(\(limit), (SELECT count(*) FROM (SELECT 1 FROM \(self.table) WHERE queue = u.q AND \(self.filter)
                                AND \(self.rank) <= \(ClaimRank.now) AND \(self.ready) <= now() LIMIT \(limit)) aged)
                           + (SELECT count(*) FROM (SELECT 1 FROM \(self.table) WHERE queue = u.q AND \(self.filter) AND priority <> 3
                                AND priority IN (4, 5) AND \(self.ready) <= now() AND \(self.rank) > \(ClaimRank.now) LIMIT \(limit)) fresh))
            """
    }

    /// When the oldest ready item of queue `u.q` became ready: the default level's first in claim
    /// order, or another level's oldest.
    var oldest: String {
        """
        (SELECT min(o.at) FROM (
                (SELECT \(self.ready) AS at FROM \(self.table) WHERE queue = u.q AND \(self.filter) AND priority = 3
                   AND \(self.rank) <= \(ClaimRank.now) AND \(self.ready) <= now()
                 ORDER BY \(self.rank) LIMIT 1)
                UNION ALL
                SELECT x.at FROM (VALUES (1), (2), (4), (5)) p(level), LATERAL (
                    SELECT \(self.ready) AS at FROM \(self.table) WHERE queue = u.q AND \(self.filter) AND priority = p.level AND priority <> 3
                      AND \(self.ready) <= now()
                    ORDER BY \(self.ready) LIMIT 1) x) o)
        """
    }
}
