extension OrchestrationContext {
    /// Defines a read-only query: ``DurableClient/query(instanceID:_:input:as:timeout:)`` calls
    /// `handler` with its input and returns its output, computed from the instance's state as of its
    /// last committed turn, without a turn and without writing to the history.
    ///
    /// Define handlers where the code starts (and again wherever the state they read changes shape);
    /// the closure reads the code's local state, so it sees the values of the turn the query is
    /// answered at. A handler must not do anything durable (activities, timers, waits, children,
    /// custom status, randomness): the query then fails with `queryNotReadOnly`. A later definition
    /// with the same name replaces the earlier one.
    public func setQueryHandler<Input: Decodable, Output: Encodable>(
        _ name: String,
        _ handler: @escaping (Input) throws -> Output
    ) {
        self.queryHandlers.set(name, QueryHandler { input in
            try Payload(encoding: try handler(try input.decode(Input.self)))
        })
    }

    /// Defines a read-only query without input (see ``setQueryHandler(_:_:)-(_,(Input)->Output)``).
    public func setQueryHandler<Output: Encodable>(_ name: String, _ handler: @escaping () throws -> Output) {
        self.queryHandlers.set(name, QueryHandler { _ in try Payload(encoding: try handler()) })
    }
}
