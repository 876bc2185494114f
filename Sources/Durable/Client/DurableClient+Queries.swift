import Foundation
import Synchronization

extension DurableClient {
    /// Asks a running or finished instance a query its code defined
    /// (``OrchestrationContext/setQueryHandler(_:_:)-(_,(Input)->Output)``) and returns the answer,
    /// computed from the instance's state as of its last committed turn. Answered by the node that
    /// keeps the execution in memory when one does, else by a node that replays the history; nothing
    /// is written to the history and no turn waits.
    ///
    /// - Throws: `instanceNotFound`; `queryNotDefined`, `queryNotReadOnly` or `queryFailed` from the
    ///   code; `timedOut` when no node answered in time, saying why (no live node has the
    ///   orchestration's version, or none answered).
    public func query<Input: Encodable, Output: Decodable>(
        instanceID: String,
        _ name: String,
        input: Input,
        as type: Output.Type = Output.self,
        timeout: Duration = .seconds(10)
    ) async throws -> Output {
        let answer = try await self.query(instanceID: instanceID, name: name, input: try Payload(encoding: input), timeout: timeout)
        return try answer.output(instanceID: instanceID, query: name).decode(Output.self)
    }

    /// Asks a query without input (see ``query(instanceID:_:input:as:timeout:)``).
    public func query<Output: Decodable>(instanceID: String, _ name: String, as type: Output.Type = Output.self, timeout: Duration = .seconds(10)) async throws -> Output {
        try await self.query(instanceID: instanceID, name, input: Payload.null, as: type, timeout: timeout)
    }

    /// Asks a query with a JSON input and returns the node's answer as it came (its output or
    /// failure, who answered and whether from memory).
    public func query(instanceID: String, name: String, input: Payload, timeout: Duration = .seconds(10)) async throws -> QueryAnswer {
        let id = UUID().uuidString.lowercased()
        // The answer a hint carried, and whether a hint said "read it".
        let received = Mutex<(answer: QueryAnswer?, read: Bool)>((nil, false))
        let wake = WakeSignal()
        // Subscribed before the query is submitted, so its answer cannot come first.
        let answers = self.provider.queryAnswers(id: id)
        let listener = Task {
            for await answer in answers {
                received.withLock { received in
                    if let answer { received.answer = received.answer ?? answer } else { received.read = true }
                }
                wake.signal()
            }
        }
        defer { listener.cancel() }
        let deadline = ContinuousClock.now + timeout
        // The request outlives the wait a little, so that a late node's answer has a row to land in.
        let request = try await self.provider.submitQuery(id: id, instanceID: instanceID, name: name, input: input, expiresAfter: timeout + .seconds(60))
        while true {
            let (answer, read) = received.withLock { received in
                defer { received.read = false }
                return received
            }
            if let answer { return answer }
            if read, let answer = try await self.provider.queryAnswer(id: id) { return answer }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                if let answer = try await self.provider.queryAnswer(id: id) { return answer }
                throw try await self.unanswered(request, timeout: timeout)
            }
            await wake.wait(timeout: remaining)
        }
    }

    /// Why nobody answered: no live node can run the instance's version, or none did in time.
    private func unanswered(_ request: QueryRequest, timeout: Duration) async throws -> DurableError {
        let target = request.target
        let live = try await self.nodes().filter(\.isAlive)
        let able = live.filter { $0.registration.capabilities.orchestrations[target.name]?.contains(target.version) == true }
        let why: String
        if live.isEmpty {
            why = "no node is alive"
        } else if able.isEmpty {
            let versions = Set(live.flatMap { $0.registration.capabilities.orchestrations[target.name] ?? [] }).sorted()
            why = "no live node has \(target.name) \(target.version) (the live nodes have \(versions.isEmpty ? "no version of it" : versions.joined(separator: ", ")))"
        } else {
            why = "none of the live nodes that have \(target.name) \(target.version) (\(able.map(\.registration.id).joined(separator: ", "))) answered"
        }
        return DurableError(
            .timedOut, "query '\(request.name)' of instance '\(request.instanceID)' was not answered within \(timeout): \(why)",
            instanceID: request.instanceID, name: target.name, version: target.version
        )
    }
}

extension QueryAnswer {
    /// The output, or the failure as the ``DurableError`` it was on the node.
    public func output(instanceID: String, query: String) throws(DurableError) -> Payload {
        if let output = self.output { return output }
        let failure = self.failure ?? FailureDetails(type: "unknown", message: "the answer has neither output nor failure")
        let code = failure.code.flatMap(DurableError.Code.init(named:)) ?? .queryFailed
        throw DurableError(code, failure.message, instanceID: instanceID, name: query, failure: code == .queryFailed ? failure : nil)
    }
}
