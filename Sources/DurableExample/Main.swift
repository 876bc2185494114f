import ArgumentParser
import Durable
import DurableCommands

@main
struct DurableExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-example",
        abstract: "Order processing on Durable: a worker node, and a demo that runs a small fleet.",
        subcommands: [Worker.self, Migrate.self, Demo.self, DurableOperations<ShopRegistry>.self],
        defaultSubcommand: Worker.self
    )

    static func main() async {
        await self.mainInstallingExecutor()
    }
}

/// The registry the worker runs (release v2), for `durable-example ops replay`.
enum ShopRegistry: DurableCommandRegistry {
    static func makeRegistry() throws -> Registry {
        try Registry.shop(Shop())
    }
}
