import Synchronization

/// The query handlers an execution's code defined, by name (``OrchestrationContext/setQueryHandler(_:_:)``).
///
/// Not recorded anywhere: the code defines them again each time it runs, during replay too.
final class QueryHandlers: Sendable {
    /// A handler reads what the code's closure captured (its local state).
    ///
    /// `@unchecked Sendable`: the closure is not `Sendable` (it captures the code's mutable locals),
    /// and it never runs concurrently with that code: the engine calls it only while the execution
    /// is suspended and held exclusively by the engine (taken out of the cache, or replayed for the
    /// query alone), on the thread that drives the execution.
    struct Handler: @unchecked Sendable {
        let run: (Payload) throws -> Payload
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
