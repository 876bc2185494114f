/// An update a client sends (``DurableClient/update(instanceID:_:input:as:updateID:timeout:)``).
public struct UpdateRequest: Sendable, Hashable {
    /// The client's id for it: a repeated id is the same update (deduplicated).
    public var id: String
    public var instanceID: String
    /// The update handler's name.
    public var name: String
    public var input: Payload

    public init(id: String, instanceID: String, name: String, input: Payload) {
        self.id = id
        self.instanceID = instanceID
        self.name = name
        self.input = input
    }

    /// The message it arrives as.
    public var message: HistoryEvent.Kind {
        .updateRequested(id: self.id, name: self.name, input: self.input)
    }
}
