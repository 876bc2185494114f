public import ArgumentParser
import Durable
import Foundation

public struct Query: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Ask an instance a query its code defines and print the answer (JSON).",
        discussion: "Answered by a worker node from the instance's state at its last committed turn (from memory, or by replaying its history); nothing is written to the history. Needs a running node with the instance's orchestration version."
    )
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Argument(help: "The query's name.") var name: String
    @Argument(help: "The input as JSON.") var input = "null"
    @Option(help: "How long to wait for an answer: 10s, 1m.") var timeout = CommandDuration(argument: "10s")!
    @Flag(help: "Also say which node answered and whether from memory.") var verbose = false

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let answer = try await DurableClient(provider: provider).query(
                instanceID: self.instanceID, name: self.name, input: Payload(json: self.input), timeout: self.timeout.duration
            )
            if self.verbose { print("answered by \(answer.answeredBy) \(answer.fromMemory ? "from memory" : "by replaying the history")") }
            print(try answer.output(instanceID: self.instanceID, query: self.name).json)
        }
    }
}

public struct Publish: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Publish JSON data to a topic: every running instance subscribed to a matching pattern receives it, atomically.",
        discussion: "Topics are levels separated by '/', without wildcards (subscriptions use '+' for one level and '#' for the rest)."
    )
    @OptionGroup var connection: Connection
    @Argument var topic: String
    @Argument(help: "The data as JSON.") var data = "null"

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let delivered = try await provider.publish(topic: self.topic, data: Payload(json: self.data))
            print("delivered to \(delivered) subscription\(delivered == 1 ? "" : "s")")
        }
    }
}

public struct Update: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Send an update to an instance and print its handler's output (JSON); with --start, update-with-start.",
        discussion: "The update runs exactly once; sending the same --id again returns the same outcome. A rejection (validator, no such handler) or a failure exits non-zero with the reason."
    )
    @OptionGroup var connection: Connection
    @Argument var instanceID: String
    @Argument(help: "The update handler's name.") var name: String
    @Argument(help: "The input as JSON.") var input = "null"
    @Option(help: "The update's id (default: a new UUID); the same id is the same update.") var id = UUID().uuidString.lowercased()
    @Option(help: "Update-with-start: start this orchestration (by name) first if the instance does not exist.") var start: String?
    @Option(name: .customLong("start-input"), help: "With --start: its input as JSON.") var startInput = "null"
    @Option(help: "How long to wait for the outcome: 60s, 5m.") var timeout = CommandDuration(argument: "60s")!

    public init() {}

    public func run() async throws {
        try await self.connection.withProvider { provider in
            let update = UpdateRequest(id: self.id, instanceID: self.instanceID, name: self.name, input: Payload(json: self.input))
            let start = self.start.map { StartRequest(instanceID: self.instanceID, name: $0, input: Payload(json: self.startInput)) }
            let outcome = try await DurableClient(provider: provider).update(update, startingWith: start, timeout: self.timeout.duration)
            print(try outcome.output(update).json)
        }
    }
}
