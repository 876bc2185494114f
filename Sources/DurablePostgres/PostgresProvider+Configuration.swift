public import Durable
import Foundation
public import NIOCore
import NIOPosix
import NIOSSL
public import PostgresNIO

extension PostgresProvider {
    /// Where the database is and how the provider uses it.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        /// `sslmode` of the URL: `disable` (default), `prefer` or `require`.
        public var tlsMode: String
        public var connectTimeout: Duration
        /// The schema that holds Durable's tables; several apps or test runs can share a database.
        public var schema: String
        /// How long a claim holds an instance or activity task before another node may take it.
        public var leaseDuration: Duration
        /// The largest payload accepted, in bytes.
        public var maxPayloadBytes: Int
        /// Connections in the pool (the LISTEN connection comes on top). Two stay open; the others
        /// are opened on demand and closed after 10 s idle.
        public var maxConnections: Int
        /// The event loops the provider's connections run on. By default one loop of NIO's shared
        /// group (`MultiThreadedEventLoopGroup.singleton`), the group's next loop for each
        /// configuration made: a node's traffic is many small messages on a few connections, which one loop thread
        /// carries, while spread over every loop each hop between a task and its connection woke
        /// another thread. With three worker processes on 2 cores that cost a quarter of fanout5's
        /// throughput (docs/performance.md, session 24). Give a group of several loops to spread a
        /// busy node's connections over more threads.
        public var eventLoopGroup: any EventLoopGroup

        /// - Throws: `invalidInput` for a malformed URL or schema name.
        public init(
            url: String,
            schema: String = "durable",
            leaseDuration: Duration = .seconds(30),
            maxPayloadBytes: Int = 2 << 20,
            maxConnections: Int = 10,
            connectTimeout: Duration = .seconds(10),
            eventLoopGroup: (any EventLoopGroup)? = nil
        ) throws(DurableError) {
            (self.host, self.port, self.username, self.password, self.database, self.tlsMode) = try Self.parse(url: url)
            self.connectTimeout = connectTimeout
            guard schema.range(of: "^[a-z_][a-z0-9_]{0,39}$", options: .regularExpression) != nil else {
                throw DurableError(.invalidInput, "the schema name '\(schema)' must be 1 to 40 characters of a-z, 0-9 and _, not starting with a digit")
            }
            self.schema = schema
            self.leaseDuration = leaseDuration
            self.maxPayloadBytes = maxPayloadBytes
            self.maxConnections = max(2, maxConnections)
            self.eventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton.next()
        }

        /// The notification channel of this schema's work: `o` (turns ready), `a` (activities ready).
        var channel: String { "durable_\(self.schema)" }
        /// The notification channel of this schema's finished instances (`c`): only processes that
        /// wait for results LISTEN on it, and nodes are not woken by it.
        var completionChannel: String { "durable_\(self.schema)_done" }

        /// Generic plans for every prepared statement on the pooled connections, made with the
        /// indexes. Left to choose, PostgreSQL re-planned the turn commit at nearly every call once
        /// a schema held a few thousand instances (1.0 ms of planning against 0.32 ms of execution
        /// at 50,000); every hot statement reads by key or walks a ready index, which a generic
        /// plan does as well. But a generic plan is made once per connection, maybe while a table
        /// is still small: one made at 110 instances kept scanning all 10,000 (a commit of 1.4 ms
        /// instead of 0.24), so sequential scans are off where an index can answer; and JIT is off,
        /// since that choice's price enters the plans' costs and would cross JIT's thresholds.
        /// Reads that depend on which filters are given run in a transaction with `customPlans`
        /// (`PostgresProvider.transaction(_:statement:deadline:customPlans:)`).
        /// See docs/postgres.md, "Generic plans for the hot statements".
        static let plannerSettings = [("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off"), ("jit", "off")]

        /// Parses `postgres://user:password@host:port/database?sslmode=...`.
        static func parse(url text: String) throws(DurableError) -> (String, Int, String, String?, String, String) {
            let hidden = text.replacingOccurrences(of: #":[^:@/]*@"#, with: ":***@", options: .regularExpression)
            guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
                throw DurableError(.invalidInput, "'\(hidden)' is not a database URL; expected postgres://user:password@host:port/database")
            }
            guard let host = url.host, !host.isEmpty else {
                throw DurableError(.invalidInput, "the database URL '\(hidden)' names no host")
            }
            guard let user = url.user, !user.isEmpty else {
                throw DurableError(.invalidInput, "the database URL '\(hidden)' names no user")
            }
            let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
            let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
            guard ["disable", "prefer", "allow", "require", "verify-ca", "verify-full"].contains(mode) else {
                throw DurableError(.invalidInput, "unknown sslmode '\(mode)' in '\(hidden)'")
            }
            return (host, url.port ?? 5432, user, url.password?.removingPercentEncoding, database.isEmpty ? user : database, mode)
        }
    }
}

extension PostgresProvider.Configuration {
    var clientTLS: PostgresClient.Configuration.TLS {
        switch self.tlsMode {
        case "disable": .disable
        case "prefer", "allow": .prefer(.makeClientConfiguration())
        default: .require(.makeClientConfiguration())
        }
    }

    var connectionTLS: PostgresConnection.Configuration.TLS {
        get throws {
            switch self.tlsMode {
            case "disable": .disable
            case "prefer", "allow": .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        }
    }

    /// A configuration for a single connection outside the pool (the LISTEN connection, the
    /// migrations runner, measurements), working in the configured schema.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: try self.connectionTLS
        )
        let (seconds, attoseconds) = self.connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = [("search_path", self.schema)]
        return configuration
    }
}

extension PostgresProvider.Configuration: CustomStringConvertible {
    /// The connection as it can be logged: never the password.
    public var description: String {
        "postgres://\(self.username)\(self.password == nil ? "" : ":***")@\(self.host):\(self.port)/\(self.database) (schema \(self.schema))"
    }
}
