import PostgresNIO

/// Several ``CreateInstanceStatement``s as one statement: what group commit runs when starts arrive
/// together (a burst of orders), so that a group costs one round trip and one plan execution
/// instead of a `BEGIN`, one round trip per start and a `COMMIT`.
///
/// Each start keeps its own outcome: an id that exists already creates nothing and queues no
/// message, as it would alone. Returns one row per start, in order, with the columns of
/// ``CreateInstanceStatement``. The ids must differ (``CreateInstanceStatement/merged(_:)``): two
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
        self.channel = statements.first?.channel ?? ""
    }

    var query: PostgresQuery {
        """
        WITH input AS (
            SELECT * FROM unnest(
                \(self.instanceIDs)::text[], \(self.names)::text[], \(self.versions)::text[], \(self.executionIDs)::text[],
                \(self.inputs)::text[], \(self.starts)::text[], \(self.queues)::text[], \(self.priorities)::int2[]
            ) WITH ORDINALITY AS x(id, name, version, execution_id, input, start, queue, priority, k)
        ), created AS (
            -- In id order (byte order), as every multi-row writer takes instance rows.
            INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority)
            SELECT id, name, version, execution_id, 'pending', input, queue, priority FROM input ORDER BY id COLLATE "C"
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), queued AS (
            INSERT INTO messages (instance_id, execution_id, kind)
            SELECT x.id, x.execution_id, x.start FROM created c JOIN input x ON x.id = c.id
            RETURNING instance_id
        ), wake AS (
            SELECT count(*) AS n FROM (SELECT pg_notify(\(self.channel), 'o') WHERE EXISTS (SELECT 1 FROM queued)) n
        )
        SELECT (SELECT count(*) FROM queued q WHERE q.instance_id = x.id)::int8, (SELECT n FROM wake)::int8
        FROM input x
        ORDER BY x.k
        """
    }
}
