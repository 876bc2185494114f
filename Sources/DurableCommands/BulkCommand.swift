public import ArgumentParser
import Durable
import Foundation

/// `durable bulk ACTION [filters]`: one operator action over many instances.
public struct Bulk: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Cancel, terminate, pause, resume or purge every instance a filter matches, in batches.",
        discussion: "Run with --dry-run first to count. Safe to interrupt and run again: each action is idempotent per instance."
    )

    public enum Action: String, ExpressibleByArgument, Sendable, CaseIterable {
        case cancel, terminate, pause, resume, purge
    }

    @OptionGroup var connection: Connection
    @Argument(help: "cancel, terminate, pause, resume or purge.") var action: Action
    @Option(help: "pending, running, completed, failed or cancelled (repeatable).") var status: [String] = []
    @Option(help: "Orchestration name.") var name: String?
    @Option(help: "Orchestration version.") var version: String?
    @Option(help: "Created within this long: 90s, 10m, 24h, 7d.") var createdWithin: CommandDuration?
    @Option(help: "Created longer ago than this.") var createdBefore: CommandDuration?
    @Option(help: "Finished longer ago than this (finished instances only).") var finishedBefore: CommandDuration?
    @Option(help: "Custom status (a string) starting with this.") var customStatus: String?
    @Option(help: "Children of this instance.") var parent: String?
    @Option(help: "Why (cancel, terminate, pause).") var reason = "bulk action by an operator"
    @Option(help: "Who (recorded in each history; default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"
    @Option(name: .customLong("for"), help: "Pause: resume by itself after this long.") var duration: CommandDuration?
    @Option(help: "Instances per batch.") var batchSize = 500
    @Flag(help: "Only count what matches.") var dryRun = false

    public init() {}

    public func run() async throws {
        let statuses = try self.status.map { text in
            guard let status = InstanceStatus(rawValue: text) else { throw ValidationError("unknown status '\(text)'") }
            return status
        }
        let now = Date()
        func ago(_ duration: CommandDuration?) -> Date? {
            duration.map { now.addingTimeInterval(-Double($0.duration.components.seconds)) }
        }
        let query = InstanceQuery(
            statuses: statuses.isEmpty ? nil : Set(statuses), name: self.name, version: self.version,
            createdAfter: ago(self.createdWithin), createdBefore: ago(self.createdBefore), completedBefore: ago(self.finishedBefore),
            customStatusPrefix: self.customStatus, parentInstanceID: self.parent
        )
        let action: BulkAction = switch self.action {
        case .cancel: .cancel(reason: self.reason, by: self.by)
        case .terminate: .terminate(reason: self.reason, by: self.by)
        case .pause: .pause(by: self.by, reason: self.reason, for: self.duration?.duration)
        case .resume: .resume(by: self.by)
        case .purge: .purge
        }
        let verb = self.dryRun ? "would \(self.action.rawValue)" : self.action.rawValue
        let result = try await self.connection.withProvider { provider in
            try await DurableClient(provider: provider).bulk(action, matching: query, dryRun: self.dryRun, batchSize: self.batchSize) { progress in
                FileHandle.standardError.write(Data("\r\(progress.matched) matched, \(progress.applied) \(verb)".utf8))
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print("matched \(result.matched): \(verb) \(result.applied), unchanged \(result.unchanged), failed \(result.failed)")
        for error in result.errors { print("  \(error)") }
        if result.failed > 0 { throw ExitCode(1) }
    }
}
