public import ArgumentParser
public import Durable
import Foundation

/// `replay --since 24h`: replays recent histories against the build's registry; exits non-zero on a
/// divergence, printing each (instance, sequence, what the history has, what the code did).
public struct Replay<Registry: DurableCommandRegistry>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "replay",
            abstract: "Replay recent histories against this build's orchestrations; exit 1 on a divergence.",
            discussion: "Reads the instances updated within --since (current executions) and replays each against the registry of this executable. Instances of orchestrations or versions this build does not have are counted as skipped."
        )
    }

    @OptionGroup var connection: Connection
    @Option(help: "Instances updated within this long: 90s, 10m, 24h, 7d.") var since: CommandDuration
    @Option(help: "Only this orchestration name.") var name: String?
    @Option(help: "At most this many instances.") var limit = 1000

    public init() {}

    public func run() async throws {
        let registry = try Registry.makeRegistry()
        let report = try await self.connection.withProvider { provider in
            try await ReplayCheck(registry: registry).run(
                DurableClient(provider: provider), updatedWithin: self.since.duration, name: self.name, limit: self.limit
            )
        }
        for line in report.lines { print(line) }
        if !report.divergences.isEmpty { throw ExitCode(1) }
    }
}

/// What `replay` found.
public struct ReplayReport: Sendable, Hashable {
    public struct Divergence: Sendable, Hashable {
        public var instanceID: String
        public var name: String
        public var version: String
        public var sequenceNumber: Int?
        /// The engine's account: what the history has and what the code did.
        public var message: String
    }

    public var replayed = 0
    /// Instances of orchestrations (or versions) this build does not have.
    public var skipped = 0
    public var divergences: [Divergence] = []

    public var lines: [String] {
        self.divergences.map { d in
            "DIVERGES \(d.instanceID) (\(d.name)@\(d.version))" + (d.sequenceNumber.map { " at sequence \($0)" } ?? "") + ": \(d.message)"
        } + ["replayed \(self.replayed), diverged \(self.divergences.count), skipped \(self.skipped) (not registered in this build)"]
    }
}

/// Replays recorded histories against a registry (``ReplayTester``), for `replay`.
public struct ReplayCheck: Sendable {
    let registry: Durable.Registry

    public init(registry: Durable.Registry) {
        self.registry = registry
    }

    public func run(_ client: DurableClient, updatedWithin: Duration, name: String?, limit: Int) async throws -> ReplayReport {
        let since = Date().addingTimeInterval(-updatedWithin.seconds)
        let tester = ReplayTester(registry: self.registry)
        var report = ReplayReport()
        var cursor: String?
        repeat {
            let page = try await client.list(InstanceQuery(name: name, limit: min(500, limit - report.replayed - report.skipped), cursor: cursor, updatedSince: since))
            for info in page.instances {
                let history = try await client.history(instanceID: info.id)
                guard case .executionStarted(let start)? = history.first?.kind,
                    self.registry.orchestration(name: start.name, version: start.version) != nil
                else {
                    report.skipped += 1
                    continue
                }
                report.replayed += 1
                do {
                    try tester.check(history: history, instanceID: info.id)
                } catch {
                    report.divergences.append(
                        .init(instanceID: info.id, name: start.name, version: start.version, sequenceNumber: error.sequenceNumber, message: error.message)
                    )
                }
            }
            cursor = page.nextCursor
        } while cursor != nil && report.replayed + report.skipped < limit
        return report
    }
}
