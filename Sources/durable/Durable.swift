import ArgumentParser

@main
struct DurableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable",
        abstract: "Operate and measure Durable on PostgreSQL.",
        subcommands: [Bench.self]
    )
}
