import ArgumentParser
import Durable
import DurableCommands
import DurablePostgres
import DurableTesting
import Foundation
import Testing

/// `ops replay --since`: recorded histories against a build's registry, in a worker executable's
/// own command group.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ReplayCommandTests {
    struct Greet: Activity {
        func run(_ input: String, context: ActivityContext) async throws -> String { "hello \(input)" }
    }

    /// What production ran: one activity, then done.
    struct Welcome: Orchestration {
        static let name = "Welcome"
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            try await context.activity(Greet.self, input)
        }
    }

    /// The same name and version with a changed body: a timer before the activity.
    struct WelcomeChanged: Orchestration {
        static let name = "Welcome"
        func run(_ input: String, context: OrchestrationContext) async throws -> String {
            try await context.sleep(for: .seconds(1))
            return try await context.activity(Greet.self, input)
        }
    }

    enum Released: DurableCommandRegistry {
        static func makeRegistry() throws -> Registry {
            var registry = Registry()
            try registry.register(Welcome())
            try registry.register(Greet())
            return registry
        }
    }

    enum Changed: DurableCommandRegistry {
        static func makeRegistry() throws -> Registry {
            var registry = Registry()
            try registry.register(WelcomeChanged())
            try registry.register(Greet())
            return registry
        }
    }

    /// Parses and runs a command line of `root`, as its executable would.
    static func run(_ root: any ParsableCommand.Type, _ arguments: [String]) async throws {
        guard var command = try root.parseAsRoot(arguments) as? any AsyncParsableCommand else {
            Issue.record("\(arguments) is not an async command")
            return
        }
        try await command.run()
    }

    @Test func aPlantedDivergenceIsFoundAndExitsNonZero() async throws {
        let instance = try await PostgresTestDatabase.Instance(schema: PostgresTestDatabase.newSchema(), leaseDuration: .seconds(30))
        defer { Task { await PostgresTestDatabase.cleanUp([instance]) } }
        let client = DurableClient(provider: instance.provider)
        try await withRuntime(provider: instance.provider, registry: try Released.makeRegistry()) { _ in
            for name in ["ada", "bob"] {
                let id = try await client.start(Welcome.self, input: name, instanceID: "welcome-\(name)")
                #expect(try await client.result(of: Welcome.self, instanceID: id, timeout: .seconds(30)) == "hello \(name)")
            }
        }
        _ = try await client.start(name: "NotInThisBuild", input: .null, instanceID: "other")

        let arguments = ["--database-url", PostgresTestDatabase.url!, "--schema", instance.schema, "--since", "1h"]
        // The build that ran them replays cleanly.
        let clean = try await ReplayCheck(registry: try Released.makeRegistry()).run(client, updatedWithin: .seconds(3600), name: nil, limit: 100)
        #expect(clean.replayed == 2 && clean.divergences.isEmpty && clean.skipped == 1, "\(clean.lines)")
        try await Self.run(DurableOperations<Released>.self, ["replay"] + arguments)
        try await Self.run(DurableOperations<Released>.self, ["why", "--database-url", PostgresTestDatabase.url!, "--schema", instance.schema, "welcome-ada"])

        // The changed build diverges on both, at the activity the history has where the code now sleeps.
        let report = try await ReplayCheck(registry: try Changed.makeRegistry()).run(client, updatedWithin: .seconds(3600), name: "Welcome", limit: 100)
        #expect(report.replayed == 2 && report.skipped == 0)
        #expect(report.divergences.map(\.instanceID) == ["welcome-ada", "welcome-bob"])
        #expect(report.divergences.allSatisfy { $0.sequenceNumber == 1 && $0.message.contains("Greet") }, "\(report.lines)")
        await #expect(throws: ExitCode(1)) { try await Self.run(DurableOperations<Changed>.self, ["replay"] + arguments) }

        // Instances updated before --since are not read.
        let none = try await ReplayCheck(registry: try Changed.makeRegistry()).run(client, updatedWithin: .milliseconds(1), name: nil, limit: 100)
        #expect(none.replayed == 0)
    }
}
