public import ArgumentParser
import Durable

/// `durable rate-limit set|list|delete`.
public struct RateLimits: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rate-limit",
        abstract: "Manage rate limits: activity attempts per interval, shared by the whole fleet.",
        subcommands: [Set.self, List.self, Delete.self]
    )

    public init() {}

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a rate limit or change it (from the next admission on).")
        @OptionGroup var connection: Connection
        @Argument(help: "The limit's name, as activities name it.") var name: String
        @Argument(help: "Attempts per interval.") var limit: Int
        @Option(help: "The interval, in seconds.") var per = 1.0
        @Option(help: "Attempts that may start at once after a quiet spell.") var burst = 1

        func run() async throws {
            let limit = try RateLimit(name: self.name, limit: self.limit, per: .milliseconds(Int64((self.per * 1000).rounded())), burst: self.burst)
            try await self.connection.withProvider { provider in
                try await DurableClient(provider: provider).defineRateLimit(limit)
                print("rate limit \(limit.name): \(limit.limit) per \(self.per) s, burst \(limit.burst)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rate limits.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await self.connection.withProvider { provider in
                for limit in try await DurableClient(provider: provider).rateLimits() {
                    print("\(limit.name)\t\(limit.limit) per \(limit.interval)\tburst \(limit.burst)")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a rate limit; activities that name it are no longer limited.")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            try await self.connection.withProvider { provider in
                let existed = try await DurableClient(provider: provider).deleteRateLimit(name: self.name)
                print(existed ? "deleted rate limit \(self.name)" : "no rate limit \(self.name)")
            }
        }
    }
}
