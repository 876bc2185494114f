public import ArgumentParser
import Durable
import Foundation

public struct Pause: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Pause an instance: it takes no turns until resumed; what arrives meanwhile waits.",
        discussion: "A turn in flight is discarded whole and runs again after the resume. Pausing a paused instance changes nothing."
    )
    @OptionGroup var connection: Connection
    @Argument(help: "The instance id.") var instanceID: String
    @Option(help: "Why (shown by `durable why` and recorded in the history).") var reason = ""
    @Option(name: .customLong("for"), help: "Resume by itself after this long: 90s, 10m, 2h, 1d.") var duration: CommandDuration?
    @Option(help: "Who pauses (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let outcome = try await DurableClient(provider: provider).pause(
                instanceID: self.instanceID, by: self.by, reason: self.reason, for: self.duration?.duration
            )
            switch outcome {
            case .paused(let record):
                print("paused \(self.instanceID)" + (record.until.map { " until \($0.formatted(.iso8601))" } ?? ""))
            case .alreadyPaused(let record):
                print("\(self.instanceID) was paused already, by \(record.by) at \(record.at.formatted(.iso8601)); nothing changed")
            }
        }
    }
}

public struct Resume: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Resume a paused instance: what arrived meanwhile is delivered in order.")
    @OptionGroup var connection: Connection
    @Argument(help: "The instance id.") var instanceID: String
    @Option(help: "Who resumes (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            switch try await DurableClient(provider: provider).resume(instanceID: self.instanceID, by: self.by) {
            case .resumed: print("resumed \(self.instanceID)")
            case .notPaused: print("\(self.instanceID) was not paused; nothing changed")
            }
        }
    }
}

/// A duration on the command line: a whole number with s, m, h or d (`90s`, `10m`, `24h`, `7d`).
public struct CommandDuration: ExpressibleByArgument, Sendable {
    public var duration: Duration

    public init?(argument: String) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = argument.last.flatMap({ units[$0] }), let count = Int64(argument.dropLast()), count > 0 else { return nil }
        self.duration = .seconds(count * unit)
    }
}

public struct Reset: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Rewind an instance and run it on from there in a new execution, optionally on another version.",
        discussion: "--to takes a sequence number of a message in its history (`durable history ID`), last-failure or start. What was pending there runs again; the old execution's history stays readable (`durable history ID --execution E`)."
    )
    @OptionGroup var connection: Connection
    @Argument(help: "The instance id.") var instanceID: String
    @Option(help: "A sequence number, last-failure or start.") var to: String
    @Option(help: "The version the new execution runs (a live node must have it).") var version: String?
    @Option(help: "An event to deliver at the reset point: its name.") var event: String?
    @Option(help: "That event's data as JSON.") var data = "null"
    @Option(help: "Why (recorded in the old execution's history).") var reason = ""
    @Option(help: "Who resets (default: $USER).") var by = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    public init() {}

    public func run() async throws {
        let point: ResetPoint
        switch self.to {
        case "start": point = .start
        case "last-failure": point = .lastFailure
        default:
            guard let sequence = Int(self.to) else { throw ValidationError("--to takes a sequence number, last-failure or start, not '\(self.to)'") }
            point = .sequence(sequence)
        }
        try await self.connection.withProvider { provider in
            let outcome = try await DurableClient(provider: provider).reset(
                instanceID: self.instanceID, to: point, version: self.version,
                event: self.event.map { ResetRequest.Event(name: $0, input: Payload(json: self.data)) }, by: self.by, reason: self.reason
            )
            print("reset \(self.instanceID): execution \(outcome.previousExecutionID) ended; \(outcome.executionID) goes on with \(outcome.keptEvents) events, \(outcome.rescheduled) operations run again")
        }
    }
}
