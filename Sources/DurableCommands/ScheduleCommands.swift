public import ArgumentParser
import Durable
import Foundation

/// `durable schedule create|update|pause|resume|delete|list|describe|trigger|backfill`.
public struct Schedule: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Manage schedules: orchestrations started on a cron or interval calendar, exactly once across the fleet.",
        subcommands: [Create.self, Update.self, Pause.self, Resume.self, Delete.self, List.self, Describe.self, Trigger.self, Backfill.self]
    )

    public init() {}

    /// What `create` and `update` take.
    struct Definition: ParsableArguments {
        @Argument(help: "The schedule id.") var id: String
        @Argument(help: "The orchestration to start, by name.") var orchestration: String
        @Option(help: "A cron expression (5 or 6 fields, or @daily, …).") var cron: String?
        @Option(help: "Or a fixed interval in seconds.") var every: Double?
        @Option(help: "With --every: the offset in seconds.") var offset = 0.0
        @Option(help: "The IANA time zone cron expressions are evaluated in.") var timeZone = "UTC"
        @Option(help: "The orchestration's input as JSON.") var input = "null"
        @Option(help: "The orchestration's version (default: the newest at each firing).") var version: String?
        @Option(help: "skip, bufferOne, bufferAll, cancelRunning, terminateRunning or allowAll.") var overlap = "skip"
        @Option(help: "Missed firings after downtime: all (within --catch-up-window), latest or none.") var catchUp = "all"
        @Option(help: "With --catch-up all: how old a missed firing may be, in seconds.") var catchUpWindow = 3600.0
        @Option(help: "Each firing starts up to this many seconds late (spread).") var jitter: Double?
        @Option(help: "No firing before this ISO 8601 time.") var startAt: String?
        @Option(help: "No firing after this ISO 8601 time.") var endAt: String?

        func make() throws -> ScheduleDefinition {
            let calendar: ScheduleSpec.Calendar
            switch (self.cron, self.every) {
            case (let cron?, nil): calendar = .cron(cron)
            case (nil, let every?): calendar = .every(.milliseconds(Int64(every * 1000)), offset: .milliseconds(Int64(self.offset * 1000)))
            default: throw ValidationError("give either --cron or --every")
            }
            guard let overlap = SchedulePolicy.Overlap(rawValue: self.overlap) else {
                throw ValidationError("--overlap takes one of \(SchedulePolicy.Overlap.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let catchUp: SchedulePolicy.CatchUp
            switch self.catchUp {
            case "all": catchUp = .all(within: .milliseconds(Int64(self.catchUpWindow * 1000)))
            case "latest": catchUp = .latest
            case "none": catchUp = .none
            default: throw ValidationError("--catch-up takes all, latest or none")
            }
            func date(_ text: String?, _ option: String) throws -> Date? {
                guard let text else { return nil }
                guard let date = ISO8601DateFormatter().date(from: text) else { throw ValidationError("\(option) takes an ISO 8601 time like 2027-01-01T00:00:00Z") }
                return date
            }
            let spec = ScheduleSpec(
                calendar, timeZone: self.timeZone, startAt: try date(self.startAt, "--start-at"), endAt: try date(self.endAt, "--end-at"),
                jitter: self.jitter.map { .milliseconds(Int64($0 * 1000)) }
            )
            return ScheduleDefinition(
                orchestration: self.orchestration, version: self.version, input: Payload(json: self.input), spec: spec,
                policy: SchedulePolicy(overlap: overlap, catchUp: catchUp)
            )
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a schedule.")
        @OptionGroup var connection: Connection
        @OptionGroup var definition: Definition

        func run() async throws {
            let definition = try self.definition.make()
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).createSchedule(self.definition.id, definition)
                print("created schedule \(self.definition.id)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a schedule's definition; it goes on from the next time after now.")
        @OptionGroup var connection: Connection
        @OptionGroup var definition: Definition

        func run() async throws {
            let definition = try self.definition.make()
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).updateSchedule(self.definition.id, definition)
                print("updated schedule \(self.definition.id)")
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a schedule, with a note.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option(help: "Why, shown by describe.") var note = ""

        func run() async throws {
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).pauseSchedule(self.id, note: self.note)
                print("paused schedule \(self.id)")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused schedule (missed firings follow its catch-up policy).")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).resumeSchedule(self.id)
                print("resumed schedule \(self.id)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a schedule; the instances it started run on.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).deleteSchedule(self.id)
                print("deleted schedule \(self.id)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the schedules.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await self.connection.withProvider { provider in
                for id in try await DurableClient(provider: provider).schedules() { print(id) }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a schedule: its definition, the next 10 firing times, the last runs and their outcomes.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            try await self.connection.withProvider { provider in
                let description = try await DurableClient(provider: provider).describeSchedule(self.id)
                let definition = description.definition
                let formatter = ISO8601DateFormatter()
                print("schedule \(description.scheduleID): starts \(definition.orchestration)\(definition.version.map { "@\($0)" } ?? "") with \(definition.input.json)")
                switch definition.spec.calendar {
                case .cron(let cron): print("calendar: cron '\(cron)' in \(definition.spec.timeZone)")
                case .every(let interval, let offset): print("calendar: every \(interval), offset \(offset)")
                }
                print("policy: overlap \(definition.policy.overlap.rawValue), catch-up \(definition.policy.catchUp)")
                if let note = description.pausedNote { print("paused: \(note.isEmpty ? "(no note)" : note)") }
                print("next: " + description.next.map(formatter.string(from:)).joined(separator: ", "))
                if !description.buffered.isEmpty { print("buffered: " + description.buffered.map(formatter.string(from:)).joined(separator: ", ")) }
                for run in description.recent { print("ran \(formatter.string(from: run.nominal))\t\(run.instanceID)\t\(run.outcome)") }
            }
        }
    }

    struct Trigger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fire a schedule now, under its overlap policy.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).triggerSchedule(self.id)
                print("triggered schedule \(self.id)")
            }
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the firings of a past range (each nominal time once).")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Argument(help: "From this ISO 8601 time.") var from: String
        @Argument(help: "Through this ISO 8601 time.") var through: String

        func run() async throws {
            guard let from = ISO8601DateFormatter().date(from: self.from), let through = ISO8601DateFormatter().date(from: self.through) else {
                throw ValidationError("give the range as ISO 8601 times like 2026-12-01T00:00:00Z")
            }
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).backfillSchedule(self.id, from: from, through: through)
                print("backfilling schedule \(self.id) from \(self.from) through \(self.through)")
            }
        }
    }
}
