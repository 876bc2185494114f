import Foundation

// Queries (DurableQueries): requests, claims and answers, held in memory.
extension InMemoryProvider {
    public func submitQuery(id: String, instanceID: String, name: String, input: Payload, expiresAfter: Duration) async throws -> QueryRequest {
        try ProviderValidation.query(id: id, instanceID: instanceID, name: name, input: input, limit: self.maxPayloadBytes)
        let now = self.now()
        let request = try self.state.withLock { state throws(DurableError) -> QueryRequest in
            state.queries = state.queries.filter { $0.value.expiresAt > now }
            guard let instance = state.instances[instanceID] else {
                throw DurableError(.instanceNotFound, "no instance '\(instanceID)'", instanceID: instanceID)
            }
            let request = QueryRequest(id: id, instanceID: instanceID, name: name, input: input, target: instance.queryTarget)
            // A retried submission (same id) changes nothing, as on PostgreSQL.
            guard state.queries[id] == nil else { return request }
            state.queries[id] = Query(request: request, sequence: state.newID(), createdAt: now, expiresAt: now.addingTimeInterval(expiresAfter.seconds))
            return request
        }
        self.hub.postQuery(request)
        return request
    }

    public func queryRequests() -> AsyncStream<QueryRequest> {
        self.hub.subscribeQueries()
    }

    public func claimQuery(id: String, owner: String, for duration: Duration) async throws -> Bool {
        let now = self.now()
        return self.state.withLock { state in
            guard let query = state.queries[id], query.answer == nil, query.expiresAt > now, query.claim.map({ $0.expiresAt <= now }) ?? true else {
                return false
            }
            state.queries[id]?.claim = LeaseState(owner: owner, expiresAt: now.addingTimeInterval(duration.seconds))
            return true
        }
    }

    public func claimQueries(owner: String, capabilities: Capabilities?, olderThan: Duration, limit: Int, for duration: Duration) async throws -> [QueryRequest] {
        let now = self.now()
        return self.state.withLock { state in
            let due = state.queries.values
                .filter { query in
                    query.answer == nil && query.expiresAt > now && query.createdAt.addingTimeInterval(olderThan.seconds) <= now
                        && (query.claim.map { $0.expiresAt <= now } ?? true)
                }
                .sorted { $0.sequence < $1.sequence }
            var claimed: [QueryRequest] = []
            for query in due where claimed.count < limit {
                guard let instance = state.instances[query.request.instanceID] else { continue }
                let target = instance.queryTarget
                if let capabilities, capabilities.orchestrations[target.name]?.contains(target.version) != true { continue }
                state.queries[query.request.id]?.claim = LeaseState(owner: owner, expiresAt: now.addingTimeInterval(duration.seconds))
                var request = query.request
                request.target = target
                claimed.append(request)
            }
            return claimed
        }
    }

    public func answerQuery(id: String, _ answer: QueryAnswer) async throws {
        let now = self.now()
        let answered = self.state.withLock { state -> Bool in
            guard let query = state.queries[id], query.answer == nil, query.expiresAt > now else { return false }
            state.queries[id]?.answer = answer
            return true
        }
        if answered { self.hub.postAnswer(of: id, answer) }
    }

    public func queryAnswers(id: String) -> AsyncStream<QueryAnswer?> {
        self.hub.subscribe(answerOf: id)
    }

    public func queryAnswer(id: String) async throws -> QueryAnswer? {
        let now = self.now()
        return self.state.withLock { state in
            state.queries[id].flatMap { $0.expiresAt > now ? $0.answer : nil }
        }
    }
}
