/// Queries between processes: a client records a query, a node answers it, the client reads the
/// answer (docs/provider-contract.md, "Queries"). Nothing here touches an instance or its history.
/// A requirement group of ``DurableProvider``.
public protocol DurableQueries: Sendable {
    /// Records a query for the instance's current execution, to expire after `expiresAfter`, and
    /// hints every node (``queryRequests()``). Returns the request as recorded, its target read
    /// from the instance in the same step. Throws `instanceNotFound` for an unknown instance and
    /// `invalidInput` for a bad id, name or input.
    ///
    /// Conformance: "a query is recorded, claimed once and answered".
    func submitQuery(id: String, instanceID: String, name: String, input: Payload, expiresAfter: Duration) async throws -> QueryRequest

    /// Hints of submitted queries, for a node's query loop. A hint can be missed (a reconnect):
    /// ``claimQueries(owner:capabilities:olderThan:limit:)`` finds those.
    func queryRequests() -> AsyncStream<QueryRequest>

    /// Claims an unanswered, unexpired query for `duration`: `true` for one claimer at a time.
    func claimQuery(id: String, owner: String, for duration: Duration) async throws -> Bool

    /// Claims up to `limit` unanswered, unexpired, unclaimed queries submitted at least `olderThan`
    /// ago whose instance's orchestration `capabilities` has (`nil`: any), oldest first, each with
    /// its target read now.
    func claimQueries(owner: String, capabilities: Capabilities?, olderThan: Duration, limit: Int, for duration: Duration) async throws -> [QueryRequest]

    /// Records the answer; the first one wins, a later or an expired one changes nothing. Hints the
    /// waiting client (``queryAnswers(id:)``).
    func answerQuery(id: String, _ answer: QueryAnswer) async throws

    /// Hints that the query was answered, for the client that waits: the answer itself when it
    /// fits the hint, `nil` when it must be read (``queryAnswer(id:)``).
    func queryAnswers(id: String) -> AsyncStream<QueryAnswer?>

    /// The query's answer; `nil` while there is none (or the query expired).
    func queryAnswer(id: String) async throws -> QueryAnswer?
}
