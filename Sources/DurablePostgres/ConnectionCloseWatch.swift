import PostgresNIO
import Synchronization

/// Fails the waits on a connection when it closes.
///
/// PostgresNIO 1.33 drops a statement written to a channel that has just closed: the statement's
/// promise is never completed, and whoever awaits it waits forever. A commit confirmation is sent
/// right after a write, on the write's connection, which is exactly when a failed commit closes it
/// (``PostgresClient/write(_:logger:)``); stuck there, it would also keep the connection's pool
/// lease, and the pool would never finish shutting down. So a confirmation waits for either its
/// answer or the connection's close, whichever comes first.
///
/// One close callback per connection, registered at its first watched wait and removed with the
/// connection: waits do not add callbacks to a connection's close future.
final class ConnectionCloseWatch: Sendable {
    static let shared = ConnectionCloseWatch()

    private let waits = Mutex<[ObjectIdentifier: [ObjectIdentifier: ContinuationGate<Void>]]>([:])

    /// Runs `body` on `connection`; throws ``UnconfirmedCommit`` if the connection closes first.
    func run(on connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let gate = ContinuationGate(continuation)
            guard self.add(gate, on: connection) else {
                gate.resume(with: .failure(UnconfirmedCommit()))
                return
            }
            Task {
                let result: Result<Void, any Error>
                do { try await body(); result = .success(()) } catch { result = .failure(error) }
                self.remove(gate, on: connection)
                gate.resume(with: result)
            }
        }
    }

    /// Adds a wait on `connection`; `false` when it has closed already.
    private func add(_ gate: ContinuationGate<Void>, on connection: PostgresConnection) -> Bool {
        let key = ObjectIdentifier(connection)
        let first = self.waits.withLock { waits -> Bool? in
            guard !connection.isClosed else { return nil }
            let first = waits[key] == nil
            waits[key, default: [:]][ObjectIdentifier(gate)] = gate
            return first
        }
        guard let first else { return false }
        // Outside the lock: on a closed connection's event loop the callback runs at once.
        if first { connection.closeFuture.whenComplete { _ in self.closed(key) } }
        return true
    }

    private func remove(_ gate: ContinuationGate<Void>, on connection: PostgresConnection) {
        self.waits.withLock { waits in _ = waits[ObjectIdentifier(connection)]?.removeValue(forKey: ObjectIdentifier(gate)) }
    }

    private func closed(_ key: ObjectIdentifier) {
        let gates = self.waits.withLock { $0.removeValue(forKey: key) } ?? [:]
        for gate in gates.values { gate.resume(with: .failure(UnconfirmedCommit())) }
    }
}
