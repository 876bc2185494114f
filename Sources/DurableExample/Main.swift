import ArgumentParser

@main
struct DurableExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-example",
        abstract: "Order processing on Durable: a worker node, and a demo that runs a small fleet.",
        subcommands: [Worker.self, Migrate.self, Demo.self],
        defaultSubcommand: Worker.self
    )
}
