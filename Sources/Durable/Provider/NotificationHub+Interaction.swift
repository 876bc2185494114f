import Foundation
import Synchronization

extension NotificationHub {
    /// The hints of submitted queries, for a node's query loop (``DurableQueries/queryRequests()``).
    /// Unlike work hints they carry the request and are not coalesced, up to a bound: a node that
    /// falls behind finds the rest by claiming.
    public func subscribeQueries() -> AsyncStream<QueryRequest> {
        self.subscribeBroadcast(\.requests)
    }

    /// A stream of every hint posted to the subscribers at `subscribers`, up to a bound.
    private func subscribeBroadcast<T: Sendable>(
        _ subscribers: any WritableKeyPath<QuerySubscribers, [UUID: AsyncStream<T>.Continuation]> & Sendable
    ) -> AsyncStream<T> {
        let (stream, continuation) = AsyncStream.makeStream(of: T.self, bufferingPolicy: .bufferingNewest(1_000))
        let id = UUID()
        self.queries.withLock { $0[keyPath: subscribers][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.queries.withLock { _ = $0[keyPath: subscribers].removeValue(forKey: id) }
        }
        return stream
    }

    public func postQuery(_ request: QueryRequest) {
        for continuation in self.queries.withLock({ Array($0.requests.values) }) { continuation.yield(request) }
    }

    /// Hints for a client waiting for one query's answer (``DurableQueries/queryAnswers(id:)``).
    public func subscribe(answerOf queryID: String) -> AsyncStream<QueryAnswer?> {
        let (stream, continuation) = AsyncStream.makeStream(of: QueryAnswer?.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        self.queries.withLock { $0.answers[queryID, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.queries.withLock { queries in
                queries.answers[queryID]?.removeValue(forKey: id)
                if queries.answers[queryID]?.isEmpty == true { queries.answers[queryID] = nil }
            }
        }
        return stream
    }

    /// Posts that a query was answered: with the answer, or `nil` for "read it".
    public func postAnswer(of queryID: String, _ answer: QueryAnswer?) {
        for continuation in self.queries.withLock({ Array(($0.answers[queryID] ?? [:]).values) }) { continuation.yield(answer) }
    }

    /// Hints for a client waiting for an update's outcome (``DurableUpdates/updateOutcomes(id:)``):
    /// kept with the query answers' waiters, under a key of their own.
    public func subscribe(updateOf id: String) -> AsyncStream<Void> {
        let answers = self.subscribe(answerOf: Self.updateKey(id))
        return AsyncStream { continuation in
            let task = Task {
                for await _ in answers { continuation.yield() }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Posts that an update may have an outcome.
    public func postUpdate(of id: String) {
        self.postAnswer(of: Self.updateKey(id), nil)
    }

    /// The key of an update's waiters; a hint for it over PostgreSQL carries this as its id.
    public static func updateKey(_ id: String) -> String { "update:\(id)" }

    /// Task ids of running activities whose cancellation was requested
    /// (``DurableWaking/activityCancellations()``).
    public func subscribeCancellations() -> AsyncStream<String> {
        self.subscribeBroadcast(\.cancellations)
    }

    public func postCancellation(ofTask id: String) {
        for continuation in self.queries.withLock({ Array($0.cancellations.values) }) { continuation.yield(id) }
    }

    /// Wakes every waiting client to read its answer (after a reconnect, when hints may be lost).
    func postAllAnswers() {
        for continuation in self.queries.withLock({ $0.answers.values.flatMap(\.values) }) { continuation.yield(nil) }
    }
}
