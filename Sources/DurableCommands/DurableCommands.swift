public import ArgumentParser
public import Durable

/// Where the commands of a worker executable of your own get its orchestrations: the registry the
/// worker runs, so that `replay` checks recorded histories against this very build.
public protocol DurableCommandRegistry {
    static func makeRegistry() throws -> Registry
}

/// The operator commands (`durable instances`, `why`, `pause`, …) as a library, for a worker
/// executable of your own, plus `replay`, which needs your registry:
///
/// ```swift
/// enum Shop: DurableCommandRegistry {
///     static func makeRegistry() throws -> Registry { ... }
/// }
/// @main struct Worker: AsyncParsableCommand {
///     static let configuration = CommandConfiguration(subcommands: [Run.self, DurableOperations<Shop>.self])
/// }
/// ```
///
/// `worker ops replay --since 24h` then replays the histories of the instances updated in the last
/// day against the build's registry and exits non-zero on a divergence: run it in CI against
/// production before a deploy.
///
/// The command that runs your node can conform to ``WorkerCommand``; started through
/// ``ArgumentParser/AsyncParsableCommand/mainInstallingExecutor()`` from your `main`, it chooses what
/// runs the process's tasks (``WorkerExecutor``).
public struct DurableOperations<Registry: DurableCommandRegistry>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "ops",
            abstract: "Operate the deployment through its database, and check recorded histories against this build.",
            subcommands: DurableCommands.registryFree + [Replay<Registry>.self]
        )
    }

    public init() {}
}

/// The operator commands that need no registry: the `durable` tool's, and a part of
/// ``DurableOperations``.
public enum DurableCommands {
    public static var registryFree: [any ParsableCommand.Type] {
        [
            Migrate.self, Instances.self, History.self, Start.self, Raise.self, Cancel.self, Terminate.self, Pause.self, Resume.self, Reset.self,
            Query.self, Update.self, Publish.self, Purge.self, Bulk.self, Nodes.self, Queues.self, Why.self, Schedule.self, RateLimits.self,
        ]
    }
}
