extension OrchestrationContext {
    /// Defines an update: a request a client sends and awaits
    /// (``DurableClient/update(instanceID:_:input:as:updateID:timeout:)``). When one arrives the
    /// `validator` runs first, read-only: throwing rejects the update, which leaves no trace in the
    /// history. An accepted update is recorded and `handler` runs with the code, in the same
    /// deterministic way: it may call activities, sleep and wait, and change the code's state; it
    /// runs exactly once, across replays and takeovers, and its output (or error) is what the
    /// client gets. An execution that ends while a handler runs fails that update.
    ///
    /// Define handlers where the code starts: an update that arrives before its handler is
    /// defined is rejected (`invalidInput`).
    public func setUpdateHandler<Input: Decodable, Output: Encodable>(
        _ name: String,
        validator: ((Input) throws -> Void)? = nil,
        _ handler: @escaping (Input) async throws -> Output
    ) {
        self.updateHandlers.set(name, UpdateHandler(
            validate: { input in try validator?(try input.decode(Input.self)) },
            run: { input in try Payload(encoding: try await handler(try input.decode(Input.self))) }
        ))
    }
}
