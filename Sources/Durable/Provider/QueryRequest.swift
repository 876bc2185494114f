/// A query for an instance's state (``DurableClient/query(instanceID:_:input:as:timeout:)``), as the
/// provider records it for the nodes, with what the provider knew of the instance when it arrived.
public struct QueryRequest: Sendable, Hashable, Codable {
    /// Chosen by the client (a UUID): the answer is found by it.
    public var id: String
    public var instanceID: String
    /// The query handler's name.
    public var name: String
    public var input: Payload
    /// The instance as stored when the query arrived (or was claimed).
    public var target: Target

    /// Which execution the query reads, and who is likely to keep it in memory.
    public struct Target: Sendable, Hashable, Codable {
        public var name: String
        public var version: String
        public var executionID: String
        /// Events in the execution's committed history: a node keeping exactly these answers from
        /// memory.
        public var historyLength: Int
        public var status: InstanceStatus
        /// The node that committed the instance's last turn, which keeps it in memory if any does;
        /// `nil` before the first turn.
        public var turnNode: String?

        public init(name: String, version: String, executionID: String, historyLength: Int, status: InstanceStatus, turnNode: String?) {
            self.name = name
            self.version = version
            self.executionID = executionID
            self.historyLength = historyLength
            self.status = status
            self.turnNode = turnNode
        }
    }

    public init(id: String, instanceID: String, name: String, input: Payload, target: Target) {
        self.id = id
        self.instanceID = instanceID
        self.name = name
        self.input = input
        self.target = target
    }
}
