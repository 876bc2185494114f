import Durable
@testable import DurablePostgres
import DurableTesting
import Foundation
import Testing

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ConcurrencyKeyTests {
    /// A start under a concurrency limit whose statement runs again (retried after a connection
    /// was lost with its answer) finds what the first run did: no second instance, no second wait.
    @Test func aRetriedCallStartsNothingTwice() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            func statement(_ executionID: String) throws -> StartUnderConcurrencyLimitStatement {
                let request = StartRequest(instanceID: "k#0", name: "Keyed", version: "1.0.0", input: .null)
                return StartUnderConcurrencyLimitStatement(
                    key: "k", limit: 1, name: "Keyed", version: "1.0.0", executionID: executionID, input: "null",
                    start: try PostgresProvider.startMessage(request, executionID: executionID)
                )
            }
            var answers: [String] = []
            for call in ["first", "first", "second", "second"] {
                let (id, runs) = try await provider.write(try statement(call))[0].decode((String, Bool).self)
                answers.append("\(id) \(runs)")
            }
            #expect(answers == ["k#0 true", "k#0 true", "k#1 false", "k#1 false"])
            let page = try await provider.listInstances(InstanceQuery(limit: 10))
            #expect(page.instances.map(\.id) == ["k#0"], "one instance, the second call waiting once")
        }
    }

    /// The slot functions announce the instances they start on the channel the nodes LISTEN on,
    /// which they name from the schema they run in.
    @Test func theTriggerAnnouncesOnTheNodesChannel() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            let rows = try await provider.client.query("SELECT 'durable_' || current_schema()", logger: provider.logger).collect()
            #expect(try rows[0].decode(String.self) == provider.configuration.channel)
        }
    }
}
