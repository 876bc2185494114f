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
        let columns: [(any PostgresDynamicTypeEncodable, String)] = [
            (turn.operationIDs, "int[]"), (turn.activityNames, "text[]"), (turn.activityQueues, "text[]"),
            (turn.requests, "text[]"), (turn.activityPriorities, "int2[]"), (turn.leased, "bool[]"),
        ]
        for (index, (values, type)) in columns.enumerated() {
            if index > 0 { self.appendLiteral(", ") }
            self.appendInterpolation(values)
            self.appendLiteral("::\(type)")
        }
        self.appendLiteral(
            """
            ) AS t(op, n, q, r, p, l)
            ON CONFLICT (id) DO NOTHING
            RETURNING id, operation_id, lock_owner IS NOT NULL AS leased
            """
        )
    }
}
