import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Logging
import ServiceLifecycle
import Testing

// The README's tour, verbatim. ReadmeTourTests checks that README.md still shows each block.

// tour:define
struct SendWelcomeMail: Activity {
    func run(_ email: String, context: ActivityContext) async throws -> Bool {
        context.logger.info("mailing \(email)")
        return true
    }
}

struct Onboard: Orchestration {
    static let version = "1.0.0"

    func run(_ email: String, context: OrchestrationContext) async throws -> String {
        _ = try await context.activity(SendWelcomeMail.self, email, retry: .exponential(maxAttempts: 3))
        let confirmed = try await context.event("confirmed", as: Bool.self, timeout: .seconds(3600))
        return confirmed ? "active" : "declined"
    }
}
// end

// tour:worker
func runWorker(databaseURL: String, logger: Logger) async throws {
    var registry = Registry()
    try registry.register(Onboard())
    try registry.register(SendWelcomeMail())
    let provider = PostgresProvider(configuration: try .init(url: databaseURL), logger: logger)
    try await provider.migrate()
    let runtime = DurableRuntime(provider: provider, registry: registry, configuration: .init(nodeID: "worker-1"), logger: logger)
    let group = ServiceGroup(services: [provider, runtime], gracefulShutdownSignals: [.sigterm], logger: logger)
    try await group.run()
}
// end

// tour:client
func onboard(_ client: DurableClient) async throws -> String {
    let id = try await client.start(Onboard.self, input: "ada@example.com")
    try await client.raiseEvent(instanceID: id, name: "confirmed", true)
    return try await client.result(of: Onboard.self, instanceID: id, timeout: .seconds(30))
}

func onboard(databaseURL: String) async throws -> String {
    try await DurableClient.withPostgres(url: databaseURL) { client in try await onboard(client) }
}
// end

// tour:query
struct EmptyItem: Error {}

struct ShoppingCart: Orchestration {
    func run(_ customer: String, context: OrchestrationContext) async throws -> [String] {
        var items: [String] = []
        context.setQueryHandler("items") { items }
        context.setUpdateHandler("add", validator: { (item: String) in if item.isEmpty { throw EmptyItem() } }) { (item: String) -> Int in
            items.append(item)
            return items.count
        }
        _ = try await context.event("checkout", as: Bool.self)
        return items
    }
}

func shop(_ client: DurableClient, cart id: String) async throws -> [String] {
    let count = try await client.update(instanceID: id, "add", input: "apple", as: Int.self)
    assert(count == 1)
    return try await client.query(instanceID: id, "items", as: [String].self)
}
// end

@Suite struct ReadmeTourTests {
    @Test func theReadmeShowsTheCompiledTour() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        for name in ["define", "worker", "client", "query"] {
            let start = try #require(source.range(of: "// tour:\(name)\n"))
            let end = try #require(source.range(of: "// end\n", range: start.upperBound..<source.endIndex))
            let block = String(source[start.upperBound..<end.lowerBound])
            #expect(readme.contains("<!-- tour:\(name) -->\n```swift\n\(block)```"), "README.md's tour:\(name) block differs from this file")
        }
    }

    @Test func theTourRuns() async throws {
        let provider = InMemoryProvider()
        var registry = Registry()
        try registry.register(Onboard())
        try registry.register(SendWelcomeMail())
        let worker = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "tour"))
        #expect(try await onboard(DurableClient(provider: provider)) == "active")
        try await worker.stop()
    }

    @Test func theTourQueryRuns() async throws {
        let provider = InMemoryProvider()
        var registry = Registry()
        try registry.register(ShoppingCart())
        let worker = RuntimeHarness(provider: provider, registry: registry, configuration: RuntimeHarness.configuration(node: "tour"))
        let client = DurableClient(provider: provider)
        let id = try await client.start(ShoppingCart.self, input: "ada")
        // The update returns once its turn committed: the query sees what it did.
        #expect(try await shop(client, cart: id) == ["apple"])
        await #expect(throws: DurableError.self) { try await client.update(instanceID: id, "add", input: "", as: Int.self) }
        try await client.raiseEvent(instanceID: id, name: "checkout", true)
        #expect(try await client.result(of: ShoppingCart.self, instanceID: id, timeout: .seconds(10)) == ["apple"])
        try await worker.stop()
    }

    @Test(.enabled(if: PostgresTestDatabase.isAvailable)) func theTourWorkerRunsOnPostgres() async throws {
        // runWorker works in the default schema, `durable`; it runs until its task is cancelled.
        let url = try #require(PostgresTestDatabase.url)
        let logger = Logger(label: "tour") { _ in SwiftLogNoOpLogHandler() }
        let worker = Task { try await runWorker(databaseURL: url, logger: logger) }
        defer { worker.cancel() }
        let provider = PostgresProvider(configuration: try .init(url: url), logger: logger)
        let running = Task { try await provider.run() }
        defer { running.cancel() }
        try await provider.migrate()
        #expect(try await onboard(databaseURL: url) == "active")
    }
}
