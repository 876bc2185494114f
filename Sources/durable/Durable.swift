import ArgumentParser

@main
struct DurableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable",
        abstract: "Operate and measure Durable on PostgreSQL.",
        subcommands: [Migrate.self, Instances.self, History.self, Start.self, Raise.self, Cancel.self, Pause.self, Resume.self, Purge.self, Nodes.self, Queues.self, Why.self, Bench.self, BenchWorker.self]
    )
}
