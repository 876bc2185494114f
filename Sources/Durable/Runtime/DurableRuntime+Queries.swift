import Logging

extension DurableRuntime {
    /// How long the node that ran an instance's last turn has to answer a query for it before
    /// other nodes step in (it died, or lost the handler).
    static let queryHandoverDelay: Duration = .seconds(1)
    /// How long a node's claim on a query holds off the others.
    static let queryClaim: Duration = .seconds(10)

    /// Answers queries until cancelled: a query for an instance whose last turn this node
    /// committed at once (from memory when it keeps exactly the committed execution, else by
    /// replaying the history), one for an instance no node ran yet after claiming it, and the rest
    /// only when their node did not answer within ``queryHandoverDelay`` (a sweep that also runs
    /// on every safety poll, for hints that were missed).
    func runQueries() async {
        let requests = self.provider.queryRequests()
        let sweep = WakeSignal()
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    await sweep.wait(timeout: self.configuration.safetyPollInterval)
                    try? await DeadlineQueue.shared.sleep(for: Self.queryHandoverDelay)
                    guard !Task.isCancelled else { return }
                    await self.sweepQueries()
                }
            }
            for await request in requests {
                guard self.registry.orchestration(name: request.target.name, version: request.target.version) != nil else { continue }
                switch request.target.turnNode {
                case self.configuration.nodeID?:
                    group.addTask { await self.answer(request) }
                case nil:
                    group.addTask {
                        guard (try? await self.provider.claimQuery(id: request.id, owner: self.configuration.nodeID, for: Self.queryClaim)) == true else { return }
                        await self.answer(request)
                    }
                default:
                    sweep.signal()
                }
            }
            group.cancelAll()
        }
    }

    private func sweepQueries() async {
        do {
            let claimed = try await self.provider.claimQueries(
                owner: self.configuration.nodeID, capabilities: Capabilities(self.registry), olderThan: Self.queryHandoverDelay, limit: 64, for: Self.queryClaim
            )
            for request in claimed { await self.answer(request) }
        } catch {
            self.logger.warning("claiming unanswered queries failed; the next sweep tries again", metadata: ["error": "\(error)"])
        }
    }

    /// Computes the answer and records it.
    private func answer(_ request: QueryRequest) async {
        let target = request.target
        let answer: QueryAnswer
        if let kept = self.engine.queryKept(
            instanceID: request.instanceID, executionID: target.executionID, historyCount: target.historyLength, name: request.name, input: request.input
        ) {
            answer = QueryAnswer(kept, answeredBy: self.configuration.nodeID, fromMemory: true)
        } else {
            do {
                // The committed history as it is now: at least the state the query was sent at.
                let history = try await self.provider.history(instanceID: request.instanceID, executionID: target.executionID)
                let result = self.engine.query(instanceID: request.instanceID, history: history, name: request.name, input: request.input)
                answer = QueryAnswer(result, answeredBy: self.configuration.nodeID, fromMemory: false)
            } catch {
                self.logger.warning("reading the history for a query failed; another node may answer after its claim", metadata: [
                    "durable.instance": .string(request.instanceID), "error": "\(error)",
                ])
                return
            }
        }
        do {
            try await self.provider.answerQuery(id: request.id, answer)
        } catch {
            self.logger.warning("recording a query's answer failed", metadata: ["durable.instance": .string(request.instanceID), "error": "\(error)"])
        }
    }
}
