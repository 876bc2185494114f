import Synchronization

/// The update handlers an execution's code defined, by name
/// (``OrchestrationContext/setUpdateHandler(_:validator:_:)``). Like query handlers they are not
/// recorded: the code defines them again each time it runs.
final class UpdateHandlers: Sendable {
    /// `@unchecked Sendable`: the closures capture the code's mutable locals. The validator runs
    /// only while the execution is suspended and held by the engine, on the thread that drives it;
    /// the handler runs as a task on the execution's ``DeterministicExecutor``, like the code.
    struct Handler: @unchecked Sendable {
        let validate: (Payload) throws -> Void
        let run: (Payload) async throws -> Payload
    }

    private let handlers = Mutex<[String: Handler]>([:])

    func set(_ name: String, _ handler: Handler) {
        self.handlers.withLock { $0[name] = handler }
    }

    func handler(_ name: String) -> Handler? {
        self.handlers.withLock { $0[name] }
    }

    var names: [String] {
        self.handlers.withLock { $0.keys.sorted() }
    }
}
