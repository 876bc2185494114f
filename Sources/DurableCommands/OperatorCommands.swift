public import ArgumentParser
import Durable
public import DurablePostgres
import Foundation
import Logging

/// Where the database is; shared by the operator commands.
public struct Connection: ParsableArguments {
    @Option(help: "The database URL (or DURABLE_DATABASE_URL).")
    public var databaseURL: String?

    @Option(help: "The schema holding Durable's tables (or DURABLE_SCHEMA).")
    public var schema = ProcessInfo.processInfo.environment["DURABLE_SCHEMA"] ?? "durable"

    /// Runs `body` with a running provider.
    public init() {}

    public func withProvider<T>(_ body: (PostgresProvider) async throws -> T) async throws -> T {
        let url = try requireDatabaseURL(self.databaseURL)
        var logger = Logger(label: "durable") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let provider = PostgresProvider(configuration: try .init(url: url, schema: self.schema), logger: logger)
        let running = Task { try await provider.run() }
        defer { running.cancel() }
        return try await body(provider)
    }
}

public struct Migrate: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations.")
    @OptionGroup var connection: Connection

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let applied = try await provider.migrate()
            print(applied.isEmpty ? "up to date" : "applied \(applied.map(String.init).joined(separator: ", "))")
        }
    }
}

public struct Instances: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "List instances, newest id order, with status and what they wait for.")
    @OptionGroup var connection: Connection
    @Option(help: "pending, running, completed, failed or cancelled (repeatable).") var status: [String] = []
    @Option(help: "Only this orchestration name.") var name: String?
    @Option(help: "At most this many.") var limit = 100

    public init() {}

    public func run() async throws {
        let statuses = try self.status.map { text in
            guard let status = InstanceStatus(rawValue: text) else { throw ValidationError("unknown status '\(text)'") }
            return status
        }
        try await self.connection.withProvider { provider in
            let page = try await DurableClient(provider: provider).list(
                InstanceQuery(statuses: statuses.isEmpty ? nil : Set(statuses), name: self.name, limit: self.limit)
            )
            for info in page.instances {
                let paused = info.pause.map { " paused by \($0.by)" + ($0.reason.isEmpty ? "" : ": \($0.reason)") } ?? ""
                let queue = (info.queue == TaskQueue.defaultName ? "" : " on task queue \(info.queue)")
                    + (info.priority == Priority.default ? "" : " priority \(info.priority)")
                let extra = queue + paused + (info.waitingFor.map { " waiting for \($0)" } ?? info.failure.map { " \($0.message)" } ?? "")
                print("\(info.id)\t\(info.name) \(info.version)\t\(info.status.rawValue)\(extra)")
            }
            if page.nextCursor != nil { print("… more (raise --limit)") }
        }
    }
}

public struct History: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Print an instance's history (current execution).")
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Flag(help: "Print the events as JSON, e.g. for ReplayTester.") var json = false
    @Option(help: "An execution that ended with a reset, instead of the current one.") var execution: String?

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let client = DurableClient(provider: provider)
            let history = if let execution = self.execution {
                try await client.history(instanceID: self.instanceID, executionID: execution)
            } else {
                try await client.history(instanceID: self.instanceID)
            }
            if self.json {
                print(try DurableJSON.encode(history))
            } else {
                for event in history { print("\(event.sequenceNumber)\t\(event.timestamp)\t\(event.kind)") }
            }
        }
    }
}

public struct Start: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Start an orchestration by name with a JSON input.")
    @OptionGroup var connection: Connection
    @Argument var name: String
    @Argument(help: "The input as JSON.") var input: String
    @Option(help: "The instance id (default: a random UUID).") var id: String?
    @Option(help: "The version (default: the newest on the node that runs the first turn).") var version: String?
    @Option(help: "The task queue its turns go to (default: the default queue).") var queue: String?
    @Option(help: "Its priority, 1 (highest) to 5 (lowest); default 3.") var priority: Int?
    @Option(help: "Start by key: with --debounce, --singleton or --concurrency; prints the call's instance <key>#<n> (--concurrency) or the key's instance, which starts <key>#0, #1, ….") var key: String?
    @Option(help: "With --key: start once the calls stop for this many seconds, with the last input.") var debounce: Double?
    @Option(help: "With --key: at most one instance of the key at a time; a call while one runs is skipped or queued (skip, queue).") var singleton: String?
    @Option(help: "With --key: at most this many instances of the key at a time, across the fleet; the calls beyond wait, in order.") var concurrency: Int?

    public init() {}

    public func run() async throws {
        let policy: KeyedStartPolicy?
        switch (self.key, self.debounce, self.singleton, self.concurrency) {
        case (nil, nil, nil, nil): policy = nil
        case (_?, let quiet?, nil, nil): policy = .debounce(quiet: .milliseconds(Int64(quiet * 1000)))
        case (_?, nil, let mode?, nil):
            guard let whenRunning = KeyedStartPolicy.WhenRunning(rawValue: mode) else { throw ValidationError("--singleton takes skip or queue") }
            policy = .singleton(whenRunning: whenRunning)
        case (_?, nil, nil, let limit?): policy = .concurrency(limit: limit)
        default: throw ValidationError("--key takes one of --debounce, --singleton or --concurrency, and they need --key")
        }
        try await self.connection.withProvider { provider in
            let client = DurableClient(provider: provider)
            if let key = self.key, let policy {
                print(try await client.start(
                    name: self.name, input: Payload(json: self.input), key: key, policy: policy, version: self.version, queue: self.queue, priority: self.priority
                ))
            } else {
                print(try await client.start(
                    name: self.name, input: Payload(json: self.input), instanceID: self.id, version: self.version, queue: self.queue, priority: self.priority
                ))
            }
        }
    }
}

public struct Raise: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Raise an external event with JSON data; with --start, start the instance first if it does not exist, atomically.")
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Argument var event: String
    @Argument(help: "The data as JSON.") var data = "null"
    @Option(help: "Signal-with-start: start this orchestration (by name) first if the instance does not exist.") var start: String?
    @Option(help: "With --start: the input as JSON.") var input = "null"
    @Option(help: "With --start: the version.") var version: String?

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let event = HistoryEvent.Kind.eventRaised(name: self.event, input: Payload(json: self.data))
            guard let name = self.start else {
                try await provider.sendMessage(instanceID: self.instanceID, event)
                return
            }
            let request = StartRequest(instanceID: self.instanceID, name: name, version: self.version, input: Payload(json: self.input))
            switch try await provider.signalWithStart(request, event: event) {
            case .created: print("started \(self.instanceID) and raised \(self.event)")
            case .alreadyExists: print("raised \(self.event) to the existing \(self.instanceID)")
            }
        }
    }
}

public struct Cancel: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Cancel an instance cooperatively: its waits fail, it may clean up, then it ends cancelled.",
        discussion: "Its pending activities, timers and children are cancelled (children cooperatively). `terminate` ends an instance at once."
    )
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Option var reason = "cancelled by an operator"
    @Option(help: "Who cancels (recorded in the history; default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            try await DurableClient(provider: provider).cancel(instanceID: self.instanceID, reason: self.reason, by: self.by)
        }
    }
}

public struct Terminate: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Terminate an instance: it ends cancelled at once, running no more of its code; activities and children are cancelled.")
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Option var reason = "terminated by an operator"
    @Option(help: "Who terminates (recorded in the history; default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            try await DurableClient(provider: provider).terminate(instanceID: self.instanceID, reason: self.reason, by: self.by)
        }
    }
}

public struct Purge: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Delete finished instances and their history.")
    @OptionGroup var connection: Connection
    @Option(help: "Only those finished more than this many days ago.") var olderThanDays: Double = 0

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let before = Date().addingTimeInterval(-self.olderThanDays * 86_400)
            print("purged \(try await DurableClient(provider: provider).purge(PurgeQuery(completedBefore: before)))")
        }
    }
}

public struct Nodes: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "List the registered nodes with what they run and hold.")
    @OptionGroup var connection: Connection

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            for node in try await DurableClient(provider: provider).nodes() {
                let registration = node.registration
                let runs = registration.capabilities.orchestrations.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value.joined(separator: "|"))" }
                print(
                    "\(registration.id)\t\(node.isAlive ? "alive" : node.stoppedAt == nil ? "silent" : "stopped")\t\(registration.buildVersion)\t"
                        + "\(node.instanceLeases.count) turns, \(node.activityLeases) activities held\t\(runs.joined(separator: ", "))\t"
                        + "task queues: \(registration.capabilities.servedQueues.joined(separator: ", "))\t"
                        + "turn queues: \((registration.capabilities.orchestrationQueues ?? ["all"]).joined(separator: ", "))"
                )
            }
        }
    }
}

public struct Queues: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Show how much work is waiting.")
    @OptionGroup var connection: Connection

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let depths = try await provider.queueDepths()
            print("messages: \(depths.readyMessages) ready, \(depths.delayedMessages) delayed")
            print("activities: \(depths.readyActivities) ready, \(depths.delayedActivities) delayed, \(depths.runningActivities) running")
            for (queue, ready) in depths.readyActivitiesByQueue.sorted(by: { $0.key < $1.key }) {
                print("  task queue \(queue): \(ready) ready")
            }
        }
    }
}

/// The database URL from the option, else from DURABLE_DATABASE_URL.
public func requireDatabaseURL(_ option: String?, alternative: String = "") throws -> String {
    guard let url = option ?? ProcessInfo.processInfo.environment["DURABLE_DATABASE_URL"] else {
        throw ValidationError("no database: pass --database-url or set DURABLE_DATABASE_URL\(alternative)")
    }
    return url
}

public struct Why: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Explain why an instance is where it is: what it waits for, who holds it, what is missing.")
    @OptionGroup var connection: Connection
    @Argument(help: "The instance id.") var id: String
    @Flag(help: "Print the explanation as JSON.") var json = false

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let explanation = try await DurableClient(provider: provider).explain(instanceID: self.id)
            if self.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(explanation), as: UTF8.self))
            } else {
                for line in explanation.lines { print(line) }
            }
        }
    }
}
