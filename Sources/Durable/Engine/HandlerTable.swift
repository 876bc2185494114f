import Synchronization

/// Handlers an execution's code defined, by name: its queries (``QueryHandler``) and updates
/// (``UpdateHandler``). Not recorded anywhere: the code defines them again each time it runs,
/// during replay too. A later definition with the same name replaces the earlier one.
final class HandlerTable<Handler: Sendable>: Sendable {
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

/// A query handler: reads what the code's closure captured (its local state).
///
/// `@unchecked Sendable`: the closure is not `Sendable` (it captures the code's mutable locals),
/// and it never runs concurrently with that code: the engine calls it only while the execution is
/// suspended and held exclusively by the engine (taken out of the cache, or replayed for the query
/// alone), on the thread that drives the execution.
struct QueryHandler: @unchecked Sendable {
    let run: (Payload) throws -> Payload
}

/// An update handler and its validator.
///
/// `@unchecked Sendable`: the closures capture the code's mutable locals. The validator runs only
/// while the execution is suspended and held by the engine, on the thread that drives it; the
/// handler runs as a task on the execution's ``DeterministicExecutor``, like the code.
struct UpdateHandler: @unchecked Sendable {
    let validate: (Payload) throws -> Void
    let run: (Payload) async throws -> Payload
}
