public import Durable
import Foundation
import PostgresNIO

// Queries (DurableQueries): a row per query in `queries`, the hints on the schema's channels.
extension PostgresProvider {
    public func submitQuery(id: String, instanceID: String, name: String, input: Payload, expiresAfter: Duration) async throws -> QueryRequest {
        try ProviderValidation.query(id: id, instanceID: instanceID, name: name, input: input, limit: self.configuration.maxPayloadBytes)
        let statement = QueryStatements.submit(
            id: id, instanceID: instanceID, name: name, input: input.json, expiresAfter: expiresAfter.seconds, channel: self.configuration.channel
        )
        return try await self.withRetry("submitting query '\(name)' of '\(instanceID)'", statement: "submit_query", deadline: .seconds(10)) {
            let rows = try await self.client.write(statement, logger: self.logger)
            for (orchestration, version, execution, status, length, node, _, _) in try rows.map({ try $0.decode((String, String, String, String, Int, String?, String, String).self) }) {
                return QueryRequest(id: id, instanceID: instanceID, name: name, input: input, target: try Self.target(orchestration, version, execution, status, length, node))
            }
            throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
        }
    }

    public func queryRequests() -> AsyncStream<QueryRequest> {
        let stream = self.hub.subscribeQueries()
        self.startListening(.work)
        return stream
    }

    public func claimQuery(id: String, owner: String, for duration: Duration) async throws -> Bool {
        try await self.withRetry("claiming query \(id)", statement: "claim_query", deadline: .seconds(10)) {
            try await self.client.write(QueryStatements.claim(id: id, owner: owner, seconds: duration.seconds), logger: self.logger).isEmpty == false
        }
    }

    public func claimQueries(owner: String, capabilities: Capabilities?, olderThan: Duration, limit: Int, for duration: Duration) async throws -> [QueryRequest] {
        let pairs = capabilities.map { capabilities in
            capabilities.orchestrations.flatMap { name, versions in versions.map { "\(name)\u{1F}\($0)" } }
        }
        let statement = QueryStatements.claimOlder(owner: owner, pairs: pairs, olderThan: olderThan.seconds, limit: limit, seconds: duration.seconds)
        return try await self.withRetry("claiming unanswered queries", statement: "claim_queries", deadline: .seconds(10)) {
            try Self.requests(try await self.client.write(statement, logger: self.logger))
        }
    }

    public func answerQuery(id: String, _ answer: QueryAnswer) async throws {
        let statement = QueryStatements.answer(id: id, answer: try DurableJSON.encode(answer), channel: self.configuration.completionChannel)
        _ = try await self.withRetry("answering query \(id)", statement: "answer_query", deadline: .seconds(10)) {
            try await self.client.write(statement, logger: self.logger)
        }
    }

    public func queryAnswers(id: String) -> AsyncStream<QueryAnswer?> {
        let stream = self.hub.subscribe(answerOf: id)
        self.startListening(.completions)
        return stream
    }

    public func queryAnswer(id: String) async throws -> QueryAnswer? {
        try await self.withRetry("reading the answer of query \(id)", statement: "read_query_answer", deadline: .seconds(10)) {
            let rows = try await self.client.query(QueryStatements.readAnswer(id: id), logger: self.logger)
            for try await answer in rows.decode(String?.self) {
                return try answer.map { answer throws(DurableError) in try DurableJSON.decode(QueryAnswer.self, from: answer) }
            }
            return nil
        }
    }

    /// The hint of a submitted query, posted to this process's query subscribers: as it came, or
    /// read first when it left the input out.
    func postQueryHint(_ payload: Substring) {
        guard let hint = try? JSONDecoder().decode(QueryHint.self, from: Data(payload.utf8)),
            let target = try? Self.target(hint.target.name, hint.target.version, hint.target.execution, hint.target.status, hint.target.length, hint.target.node)
        else {
            self.logger.debug("ignoring a malformed query hint", metadata: ["durable.payload": .string(String(payload.prefix(200)))])
            return
        }
        if let input = hint.input {
            self.hub.postQuery(QueryRequest(id: hint.id, instanceID: hint.instance, name: hint.name, input: Payload(json: input), target: target))
            return
        }
        Task {
            let rows = try? await self.withRetry("reading query \(hint.id)", statement: "read_query", deadline: .seconds(10)) {
                try Self.requests(try await self.client.query(QueryStatements.read(id: hint.id), logger: self.logger).collect())
            }
            for request in rows ?? [] { self.hub.postQuery(request) }
        }
    }

    /// The hint of an answer: with the answer when it fitted, else a wake-up to read it.
    func postAnswerHint(_ payload: Substring) {
        guard let hint = try? JSONDecoder().decode(AnswerHint.self, from: Data(payload.utf8)) else { return }
        self.hub.postAnswer(of: hint.id, hint.answer.flatMap { try? DurableJSON.decode(QueryAnswer.self, from: $0) })
    }

    private static func requests(_ rows: [PostgresRow]) throws -> [QueryRequest] {
        var requests: [QueryRequest] = []
        for row in rows {
            let (id, instanceID, name, input, orchestration, version, execution, status, length, node) =
                try row.decode((String, String, String, String, String, String, String, String, Int, String?).self)
            requests.append(QueryRequest(
                id: id, instanceID: instanceID, name: name, input: Payload(json: input), target: try Self.target(orchestration, version, execution, status, length, node)
            ))
        }
        return requests
    }

    private static func target(_ name: String, _ version: String, _ execution: String, _ status: String, _ length: Int, _ node: String?) throws(DurableError) -> QueryRequest.Target {
        guard let status = InstanceStatus(rawValue: status) else { throw DurableError(.storage, "unknown instance status '\(status)'") }
        return QueryRequest.Target(name: name, version: version, executionID: execution, historyLength: length, status: status, turnNode: node)
    }

    private struct QueryHint: Decodable {
        struct Target: Decodable {
            var name: String
            var version: String
            var execution: String
            var length: Int
            var status: String
            var node: String?
        }

        var id: String
        var instance: String
        var name: String
        var input: String?
        var target: Target
    }

    private struct AnswerHint: Decodable {
        var id: String
        var answer: String?
    }
}
