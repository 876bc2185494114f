import Durable
import DurablePostgres
import Testing

/// `DurableClient.withPostgres(url:schema:logger:_:)`: a client whose pool lives for one closure.
@Suite struct ScopedClientTests {
    @Test func aMalformedURLIsInvalidInput() async throws {
        await #expect {
            try await DurableClient.withPostgres(url: "mysql://somewhere/db") { _ in 1 }
        } throws: { error in
            (error as? DurableError)?.code == .invalidInput
        }
    }

    @Test(.enabled(if: PostgresTestDatabase.isAvailable)) func aScopedClientWorksAndPassesItsBodysErrorOn() async throws {
        struct Stop: Error {}
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(30)) as? PostgresProvider)
            let url = try #require(PostgresTestDatabase.url)
            let schema = provider.configuration.schema
            let id = try await DurableClient.withPostgres(url: url, schema: schema) { client in
                try await client.start(name: "Scoped", input: .null)
            }
            #expect(try await provider.instance(id: id)?.status == .pending)
            await #expect(throws: Stop.self) {
                try await DurableClient.withPostgres(url: url, schema: schema) { _ in throw Stop() }
            }
        }
    }
}
