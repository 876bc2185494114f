import ArgumentParser
import DurableCommands

@main
struct DurableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable",
        abstract: "Operate and measure Durable on PostgreSQL.",
        subcommands: DurableCommands.registryFree + [Bench.self, BenchWorker.self]
    )

    static func main() async {
        await self.mainInstallingExecutor()
    }
}
