/// How an update ended (``DurableClient/update(instanceID:_:input:as:updateID:timeout:)``).
public enum UpdateOutcome: Sendable, Hashable, Codable {
    /// The handler returned this output.
    case completed(Payload)
    /// The handler threw, or the execution ended before it returned.
    case failed(FailureDetails)
    /// The validator refused it, or the code defines no handler by that name: nothing of it is in
    /// the history.
    case rejected(FailureDetails)
}
