/// Reads and management: instances, histories, listings, purges and queue depths
/// (docs/provider-contract.md, "Client operations"). A requirement group of ``DurableProvider``.
public protocol DurableReads: Sendable {
    /// The instance as stored; `nil` for an unknown id.
    func instance(id: String) async throws -> InstanceInfo?
    /// The history of the instance's current execution.
    func history(instanceID: String) async throws -> [HistoryEvent]
    /// A page of the instances every filter of `query` matches, by id; `invalidInput` for a page
    /// size outside 1–10,000. Conformance: "paging and filters", "listing filters by version, time
    /// windows, custom status and parent".
    func listInstances(_ query: InstanceQuery) async throws -> InstancePage
    /// Deletes finished instances (and their history) matching the query; returns how many.
    func purgeInstances(_ query: PurgeQuery) async throws -> Int
    /// The activity tasks of the instance's current execution, by operation: attempts, retry
    /// backoff, lease holder, last error (for `durable why`); empty for an unknown instance.
    /// Conformance: "an instance's activity tasks show their attempts and last error".
    func activities(instanceID: String) async throws -> [ActivityTaskInfo]

    /// Ready and delayed messages and activity tasks, by the provider's clock.
    func queueDepths() async throws -> QueueDepths
}
