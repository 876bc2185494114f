import PostgresNIO

/// Several ``CreateInstanceStatement``s as one statement: what group commit runs when starts arrive
/// together (a burst of orders), so that a group costs one round trip and one plan execution
/// instead of a `BEGIN`, one round trip per start and a `COMMIT`.
///
/// Each start keeps its own outcome: an id that exists already creates nothing and queues no
/// message, as it would alone. Returns one row per start, in order, with the columns of
/// ``CreateInstanceStatement``: `created` (1 or 0), `notified`, and for an eager start that created
/// its instance the start message's id (`message_id`), `now` and the instance's columns (NULL
/// otherwise). The ids must differ (``CreateInstanceStatement/merged(_:)``): two
/// starts of one id would both count the one row created.
struct CreateInstancesStatement: PreparedQuery {
    var instanceIDs: [String] = []
    var names: [String] = []
    var versions: [String] = []
    var executionIDs: [String] = []
    var inputs: [String] = []
    var starts: [String] = []
    var queues: [String] = []
    var priorities: [Int16] = []
    /// Per start, the owner an eager start claims the first turn for ('' for none).
    var owners: [String] = []
    var leaseSeconds = 0.0
    var channel = ""

    static let placeholder = CreateInstancesStatement()
    static let sql = placeholder.query.sql

    init() {}

    init(_ statements: [CreateInstanceStatement]) {
        self.instanceIDs = statements.map(\.instanceID)
        self.names = statements.map(\.name)
        self.versions = statements.map(\.version)
        self.executionIDs = statements.map(\.executionID)
        self.inputs = statements.map(\.input)
        self.starts = statements.map(\.start)
        self.queues = statements.map(\.queue)
        self.priorities = statements.map { Int16($0.priority) }
        self.owners = statements.map(\.owner)
        self.leaseSeconds = statements.first?.leaseSeconds ?? 0
        self.channel = statements.first?.channel ?? ""
    }

    var query: PostgresQuery {
        """
        WITH input AS (
            SELECT * FROM unnest(
                \(self.instanceIDs)::text[], \(self.names)::text[], \(self.versions)::text[], \(self.executionIDs)::text[],
                \(self.inputs)::text[], \(self.starts)::text[], \(self.queues)::text[], \(self.priorities)::int2[], \(self.owners)::text[]
            ) WITH ORDINALITY AS x(id, name, version, execution_id, input, start, queue, priority, owner, k)
        ), created AS (
            -- In id order (byte order), as every multi-row writer takes instance rows.
            INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority, lock_owner, lock_epoch, locked_until, deliveries)
            SELECT id, name, version, execution_id, 'pending', input, queue, priority,
                   \(unescaped: Self.leaseColumns(owner: "owner", leaseSeconds: "e.lease"))
            FROM input, (SELECT \(self.leaseSeconds)::float8 AS lease) e ORDER BY id COLLATE "C"
            ON CONFLICT (id) DO NOTHING
            RETURNING *
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT x.id, x.execution_id, x.start FROM created c JOIN input x ON x.id = c.id
            RETURNING id, instance_id
        ), wake AS (
            -- Eagerly claimed starts wake nobody: their turns are their starters'.
            SELECT count(*) AS n FROM (SELECT pg_notify(\(self.channel), 'o')
                                       WHERE EXISTS (SELECT 1 FROM queued q JOIN input x ON x.id = q.instance_id WHERE x.owner = '')) n
        )
        SELECT (SELECT count(*) FROM queued q WHERE q.instance_id = x.id)::int8 AS created, (SELECT n FROM wake)::int8 AS notified,
               (SELECT q.id FROM queued q WHERE q.instance_id = i.id) AS message_id, now(),
               \(unescaped: PostgresProvider.instanceColumns("i"))
        FROM input x
        LEFT JOIN created i ON i.id = x.id AND i.lock_owner IS NOT NULL
        ORDER BY x.k
        """
    }

    /// The values of the lease columns (`lock_owner`, `lock_epoch`, `locked_until`, `deliveries`)
    /// of a new instance: its first claim for an eager start's `owner`, none for ''.
    static func leaseColumns(owner: String, leaseSeconds: String) -> String {
        """
        NULLIF(\(owner), ''), CASE WHEN \(owner) = '' THEN 0 ELSE 1 END,
                   CASE WHEN \(owner) = '' THEN NULL ELSE now() + make_interval(secs => \(leaseSeconds)) END, CASE WHEN \(owner) = '' THEN 0 ELSE 1 END
        """
    }
}
