/// A node's answer to a ``QueryRequest``: the handler's output or why there is none.
public struct QueryAnswer: Sendable, Hashable, Codable {
    public var output: Payload?
    /// The error (a ``DurableError``'s code in ``FailureDetails/code``: `queryNotDefined`,
    /// `queryNotReadOnly`, `queryFailed`, `orchestrationNotRegistered`, `nonDeterminism`).
    public var failure: FailureDetails?
    /// The node that answered.
    public var answeredBy: String
    /// Whether it answered from the execution it keeps in memory (else it replayed the history).
    public var fromMemory: Bool

    public init(output: Payload? = nil, failure: FailureDetails? = nil, answeredBy: String, fromMemory: Bool) {
        self.output = output
        self.failure = failure
        self.answeredBy = answeredBy
        self.fromMemory = fromMemory
    }

    init(_ result: Result<Payload, DurableError>, answeredBy: String, fromMemory: Bool) {
        switch result {
        case .success(let output): self.init(output: output, answeredBy: answeredBy, fromMemory: fromMemory)
        case .failure(let error): self.init(failure: FailureDetails(error), answeredBy: answeredBy, fromMemory: fromMemory)
        }
    }
}
