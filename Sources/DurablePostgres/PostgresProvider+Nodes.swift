public import Durable
import Foundation
import Logging
import PostgresNIO

extension PostgresProvider {
    public func registerNode(_ node: NodeRegistration) async throws -> Int {
        let capabilities = try DurableJSON.encode(node.capabilities)
        return try await self.transaction("registering node '\(node.id)'", statement: "register_node") { connection in
            try await connection.query(
                """
                INSERT INTO nodes (id, incarnation, host, pid, build_version, capabilities)
                VALUES (\(node.id), \(node.incarnation), \(node.host), \(node.pid), \(node.buildVersion), \(capabilities))
                ON CONFLICT (id) DO UPDATE SET
                    incarnation = EXCLUDED.incarnation, host = EXCLUDED.host, pid = EXCLUDED.pid,
                    build_version = EXCLUDED.build_version, capabilities = EXCLUDED.capabilities,
                    started_at = now(), heartbeat_at = now(), stopped_at = NULL
                """,
                logger: self.logger
            )
            // Leases of earlier incarnations of this node id: that process is gone.
            let released = try await self.releaseLeases(connection, node: node.id, except: node.leaseOwner)
            return released
        }
    }

    public func heartbeat(_ node: NodeRegistration, staleAfter: Duration) async throws -> HeartbeatResult {
        let queues = node.capabilities.servedQueues
        let turnQueues = node.capabilities.orchestrationQueues ?? [TaskQueue.defaultName]
        let rows = try await self.withRetry("heartbeat of node '\(node.id)'", statement: "heartbeat") {
            // Not confirmed (`PostgresClient.write`): what it reads acts on nothing it wrote, and a
            // beat rolled back after its rows arrived is only a missed beat, the next one 10 s on.
            // An idle node's heartbeats so cost one statement each.
            try await self.client.query(
                """
                WITH beat AS (
                    UPDATE nodes SET heartbeat_at = now() WHERE id = \(node.id) AND incarnation = \(node.incarnation) RETURNING 1
                ), holders AS (
                    SELECT lock_owner FROM instances WHERE locked_until > now()
                    UNION SELECT lock_owner FROM activity_tasks WHERE locked_until > now()
                ), others AS (
                    SELECT n.id, n.heartbeat_at + make_interval(secs => \(staleAfter.seconds)) AS stale_at
                    FROM nodes n JOIN holders h ON h.lock_owner = n.id || '#' || n.incarnation
                    WHERE n.id <> \(node.id) AND n.stopped_at IS NULL
                )
                SELECT (SELECT count(*) FROM beat)::int8,
                       coalesce((SELECT bool_or(stale_at <= now()) FROM others), false),
                       (SELECT EXTRACT(EPOCH FROM (min(stale_at) - now())) FROM others WHERE stale_at > now())::float8,
                       (SELECT incarnation FROM nodes WHERE id = \(node.id)),
                       coalesce((SELECT array_agg(DISTINCT id) FROM others WHERE stale_at <= now()), '{}'),
                       (SELECT count(*) FROM nodes WHERE stopped_at IS NULL
                          AND heartbeat_at + make_interval(secs => \(staleAfter.seconds)) > now())::int8,
                       -- Per turn queue the node serves, through the queue's ready indexes; -1: none ready.
                       ARRAY(SELECT \(unescaped: ReadyIndex.turns.count)
                             FROM unnest(\(turnQueues)::text[]) WITH ORDINALITY AS u(q, n) ORDER BY u.n)::int8[],
                       ARRAY(SELECT coalesce(EXTRACT(EPOCH FROM (now() - \(unescaped: ReadyIndex.turns.oldest))), -1)
                             FROM unnest(\(turnQueues)::text[]) WITH ORDINALITY AS u(q, n) ORDER BY u.n)::float8[],
                       -- Per activity queue the node serves, likewise.
                       ARRAY(SELECT \(unescaped: ReadyIndex.activities.count)
                             FROM unnest(\(queues)::text[]) WITH ORDINALITY AS u(q, n) ORDER BY u.n)::int8[],
                       ARRAY(SELECT coalesce(EXTRACT(EPOCH FROM (now() - \(unescaped: ReadyIndex.activities.oldest))), -1)
                             FROM unnest(\(queues)::text[]) WITH ORDINALITY AS u(q, n) ORDER BY u.n)::float8[]
                """,
                logger: self.logger
            ).collect()
        }
        let (beats, orphans, next, incarnation, stale, alive, turns, oldestTurn, ready, oldest) = try rows[0].decode(
            (Int64, Bool, Double?, String?, [String], Int64, [Int64], [Double], [Int64], [Double]).self
        )
        guard beats == 1 else {
            throw DurableError(
                .invalidInput,
                "node id '\(node.id)' was registered by another process (incarnation \(incarnation ?? "none")); give each node its own id"
            )
        }
        func depths(_ queues: [String], _ ready: [Int64], _ oldest: [Double]) -> [String: QueueDepth] {
            Dictionary(
                zip(queues, zip(ready, oldest)).map { queue, depth in
                    (queue, QueueDepth(ready: Int(depth.0), oldestReady: depth.1 < 0 ? nil : .milliseconds(Int64(depth.1 * 1000))))
                },
                uniquingKeysWith: { first, _ in first }
            )
        }
        let fleet = FleetSnapshot(aliveNodes: Int(alive), turnQueues: depths(turnQueues, turns, oldestTurn), activityQueues: depths(queues, ready, oldest))
        return HeartbeatResult(orphansNow: orphans, nextOrphanIn: next.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) }, staleNodes: stale, fleet: fleet)
    }

    public func deregisterNode(_ node: NodeRegistration) async throws {
        try await self.transaction("deregistering node '\(node.id)'", statement: "deregister_node") { connection in
            let stopped = try await connection.query(
                "UPDATE nodes SET stopped_at = now() WHERE id = \(node.id) AND incarnation = \(node.incarnation) RETURNING 1",
                logger: self.logger
            ).collect()
            guard !stopped.isEmpty else { return }
            _ = try await self.releaseLeases(connection, node: node.id, only: node.leaseOwner)
        }
    }

    public func listNodes(staleAfter: Duration) async throws -> [NodeInfo] {
        try await self.withRetry("listing nodes", statement: "list_nodes") {
            let rows = try await self.client.query(
                """
                SELECT n.id, n.incarnation, n.host, n.pid, n.build_version, n.capabilities, n.started_at, n.heartbeat_at, n.stopped_at,
                       (n.stopped_at IS NULL AND n.heartbeat_at > now() - make_interval(secs => \(staleAfter.seconds))) AS alive,
                       coalesce((SELECT array_agg(i.id ORDER BY i.id) FROM instances i
                                 WHERE i.lock_owner = n.id || '#' || n.incarnation AND i.locked_until > now()), '{}') AS leases,
                       (SELECT count(*) FROM activity_tasks t WHERE t.lock_owner = n.id || '#' || n.incarnation AND t.locked_until > now())::int8
                FROM nodes n ORDER BY n.id
                """,
                logger: self.logger
            )
            var nodes: [NodeInfo] = []
            for try await (id, incarnation, host, pid, build, capabilities, started, heartbeat, stopped, alive, leases, tasks)
                in rows.decode((String, String, String, Int, String, String, Date, Date, Date?, Bool, [String], Int64).self)
            {
                let registration = NodeRegistration(
                    id: id, incarnation: incarnation, host: host, pid: pid, buildVersion: build,
                    capabilities: try DurableJSON.decode(Capabilities.self, from: capabilities)
                )
                nodes.append(
                    NodeInfo(
                        registration: registration, startedAt: started, heartbeatAt: heartbeat, stoppedAt: stopped,
                        isAlive: alive, instanceLeases: leases, activityLeases: Int(tasks)
                    )
                )
            }
            return nodes
        }
    }

    /// Releases the leases of node `id` held by `only` (one incarnation) or by anyone but `except`;
    /// notifies when something became claimable. Returns how many were released.
    private func releaseLeases(_ connection: PostgresConnection, node id: String, only: String? = nil, except: String? = nil) async throws -> Int {
        let rows = try await connection.query(
            """
            WITH i AS (
                UPDATE instances SET lock_owner = NULL, locked_until = NULL
                WHERE lock_owner IS NOT NULL AND split_part(lock_owner, '#', 1) = \(id)
                  AND (\(only)::text IS NULL OR lock_owner = \(only)) AND (\(except)::text IS NULL OR lock_owner <> \(except))
                RETURNING 1
            ), t AS (
                UPDATE activity_tasks SET lock_owner = NULL, locked_until = NULL, visible_at = now()
                WHERE lock_owner IS NOT NULL AND split_part(lock_owner, '#', 1) = \(id)
                  AND (\(only)::text IS NULL OR lock_owner = \(only)) AND (\(except)::text IS NULL OR lock_owner <> \(except))
                RETURNING 1
            )
            SELECT ((SELECT count(*) FROM i) + (SELECT count(*) FROM t))::int8
            """,
            logger: self.logger
        ).collect()
        let released = Int(try rows[0].decode(Int64.self))
        if released > 0 {
            try await connection.query("SELECT pg_notify(\(self.configuration.channel), 'ao')", logger: self.logger)
        }
        return released
    }
}

