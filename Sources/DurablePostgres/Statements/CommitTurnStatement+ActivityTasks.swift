import PostgresNIO

extension PostgresQuery.StringInterpolation {
    /// The insert of a turn's scheduled activities as tasks of the instance row that `source` (a CTE
    /// with `id` and `execution_id`) returns: leased to the turn's prefetch owner where `leased` says
    /// so, otherwise visible at once. Shared by the turn commit and the start that commits its first
    /// turn, so both lease tasks alike. Returns the tasks' ids, operation ids and whether leased.
    mutating func appendInterpolation(activityTasksOf turn: CommitTurnStatement, from source: String) {
        self.appendLiteral(
            """
            INSERT INTO activity_tasks (id, instance_id, execution_id, operation_id, name, queue, request, priority,
                                        lock_owner, lock_epoch, deliveries, locked_until, visible_at)
            SELECT s.id || '|' || s.execution_id || '|' || t.op, s.id, s.execution_id, t.op, t.n, t.q, t.r, t.p,
                   CASE WHEN t.l THEN 
            """
        )
        self.appendInterpolation(turn.prefetchOwner)
        self.appendLiteral(
            """
             END, CASE WHEN t.l THEN 1 ELSE 0 END, CASE WHEN t.l THEN 1 ELSE 0 END,
                   CASE WHEN t.l THEN now() + make_interval(secs => 
            """
        )
        self.appendInterpolation(turn.leaseSeconds)
        self.appendLiteral(") END,\n       CASE WHEN t.l THEN now() + make_interval(secs => ")
        self.appendInterpolation(turn.leaseSeconds)
        self.appendLiteral(") ELSE now() END\nFROM \(source) s CROSS JOIN unnest(")
        self.appendInterpolation(turn.operationIDs)
        self.appendLiteral("::int[], ")
        self.appendInterpolation(turn.activityNames)
        self.appendLiteral("::text[], ")
        self.appendInterpolation(turn.activityQueues)
        self.appendLiteral("::text[], ")
        self.appendInterpolation(turn.requests)
        self.appendLiteral("::text[], ")
        self.appendInterpolation(turn.activityPriorities)
        self.appendLiteral("::int2[], ")
        self.appendInterpolation(turn.leased)
        self.appendLiteral(
            """
            ::bool[]) AS t(op, n, q, r, p, l)
            ON CONFLICT (id) DO NOTHING
            RETURNING id, operation_id, lock_owner IS NOT NULL AS leased
            """
        )
    }
}
