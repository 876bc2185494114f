/// What a start under a concurrency limit did (``DurableFlowControl/startUnderConcurrencyLimit(_:key:limit:)``).
public struct ConcurrencyStart: Sendable, Hashable {
    /// The instance the call starts, `<key>#<n>`: created now, or once a slot frees.
    public var instanceID: String
    /// Whether the call waits for a slot (its instance does not exist yet).
    public var waits: Bool

    public init(instanceID: String, waits: Bool) {
        self.instanceID = instanceID
        self.waits = waits
    }
}
