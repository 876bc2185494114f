public import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What runs a worker process's Swift tasks: chosen by the process, before its first task runs.
///
/// NIO's event loops, installed as Swift's global executor, keep a task on the loop it runs on. A
/// provider's connections share one loop (`PostgresProvider.Configuration.eventLoopGroup`), so a
/// worker's tasks and its database traffic then run on that one thread, without the hops to and
/// from Swift's cooperative pool. Where several worker processes share a few cores with
/// PostgreSQL, that is fewer threads to schedule and less handing over between them: three bench
/// worker processes on two cores went from about 0.85 of one in-process node's throughput to about
/// 1.0 (docs/performance.md, session 25). A process that runs a node and starts and waits for
/// instances through it gains too: the bench's start-to-result p50 fell by ~0.3 ms (session 26).
/// A worker on a machine with cores to spare may do better on Swift's pool: the choice belongs to
/// the executable, never to the library.
///
/// Nothing may block an event loop: work that blocks its thread (synchronous I/O, long computations)
/// would also hold up that loop's connections, and code that refuses to run on a loop stops the
/// process. swift-otel 1.6's OTLP/HTTP exporter is such code: released on a loop, it shuts its HTTP
/// client down synchronously, which AsyncHTTPClient traps. A process that exports over OTLP/HTTP
/// stays on Swift's pool.
public enum WorkerExecutor: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// NIO's event loops (its shared group) run the tasks.
    case eventLoops = "event-loops"
    /// Swift's default cooperative pool runs the tasks, and NIO's loops only the connections.
    case swift

    /// Makes this the process's executor. Call it before any task runs (``WorkerCommand`` does):
    /// returns `false` when it is too late, or an executor was installed already, and the tasks stay
    /// where they run.
    @discardableResult
    public func install() -> Bool {
        switch self {
        // NIO's installation may happen once per process; a second call would stop the process.
        case .eventLoops: !Self.installed.exchange(true, ordering: .relaxed) && NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        case .swift: true
        }
    }

    private static let installed = Atomic(false)

    /// What runs the calling task: NIO's event loops when it runs on one.
    public static var current: WorkerExecutor {
        MultiThreadedEventLoopGroup.currentEventLoop != nil ? .eventLoops : .swift
    }
}

/// A command that runs a worker node, and so chooses its process's executor (`--executor`).
public protocol WorkerCommand: AsyncParsableCommand {
    var executor: WorkerExecutor { get }
}

extension AsyncParsableCommand {
    /// Parses the process's arguments and runs the chosen command, first installing the executor a
    /// ``WorkerCommand`` asks for: call it from the executable's `static func main() async`, where
    /// no task has run yet.
    public static func mainInstallingExecutor() async {
        do {
            var command = try self.parseAsRoot()
            if let worker = command as? any WorkerCommand, !worker.executor.install() {
                FileHandle.standardError.write(Data("warning: could not install \(worker.executor.rawValue) as the executor; running on Swift's pool\n".utf8))
            }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            self.exit(withError: error)
        }
    }
}
