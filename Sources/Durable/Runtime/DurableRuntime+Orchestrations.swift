import Logging

extension DurableRuntime {
    func runOrchestrationDispatcher() async {
        let request = ClaimRequest(owner: self.configuration.nodeID, limit: 0, capabilities: self.capabilities)
        await self.dispatch(
            .orchestrations,
            wake: self.orchestrationWake,
            concurrency: self.configuration.orchestrationConcurrency,
            claim: { limit in
                var request = request
                request.limit = limit
                return try await self.provider.claimOrchestrations(request)
            },
            process: { item in await self.processTurn(item) }
        )
    }

    func processTurn(_ item: OrchestrationWorkItem) async {
        var logger = self.logger
        logger[metadataKey: "durable.instance"] = .string(item.lease.id)
        logger[metadataKey: "durable.epoch"] = "\(item.lease.epoch)"
        let lease = item.lease
        let outcome = await withLeaseRenewal(
            every: self.configuration.leaseRenewalInterval,
            renew: {
                try await self.provider.renewOrchestration(lease)
                return false
            },
            onRenewalError: { [logger] in logger.warning("lease renewal failed", metadata: ["error": "\($0)"]) }
        ) { [logger] in
            try await self.runTurn(item, logger: logger)
        }
        switch outcome {
        case .success:
            break
        case .failure(WorkInterruption.leaseLost):
            logger.warning("turn discarded: lease lost to another owner")
        case .failure(let error as DurableError) where error.code == .leaseLost:
            logger.warning("turn discarded: lease lost to another owner")
        case .failure(let error):
            logger.error("turn failed; handing the instance back", metadata: ["error": "\(error)"])
            await self.attempt(logger) { try await self.provider.abandonOrchestration(lease, delay: .seconds(1), reason: .interrupted) }
        }
    }

    private func runTurn(_ item: OrchestrationWorkItem, logger: Logger) async throws {
        let result: TurnResult
        do {
            result = try self.engine.runTurn(
                instanceID: item.lease.id,
                history: item.history,
                messages: item.messages.map(\.kind),
                now: item.claimedAt
            )
        } catch let error where error.code == .orchestrationNotRegistered {
            let delay = self.missingHandlerDelay(deliveryCount: item.deliveryCount)
            logger.warning(
                "no handler for this orchestration; handing it back",
                metadata: [
                    "durable.orchestration": .string(item.instance.name),
                    "durable.version": .string(item.instance.version),
                    "durable.registry": .string(self.registry.summary),
                    "durable.retryIn": .string("\(delay)"),
                ]
            )
            try await self.provider.abandonOrchestration(item.lease, delay: delay, reason: .missingHandler)
            return
        } catch {
            // Divergence or a malformed history: the execution cannot go on; fail it with the reason.
            logger.error("orchestration failed by the engine", metadata: ["error": "\(error)"])
            result = Self.failure(of: item, error)
        }
        try await self.provider.commitTurn(item.lease, TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result))
        if let outcome = result.outcome {
            logger.debug("execution ended", metadata: ["durable.outcome": "\(outcome)"])
        }
    }

    /// The turn that records an engine error as the execution's failure.
    static func failure(of item: OrchestrationWorkItem, _ error: DurableError) -> TurnResult {
        let failure = FailureDetails(error)
        var actions: [TurnAction] = []
        if let parent = item.instance.parent {
            actions.append(.notifyParent(parent, .subOrchestrationFailed(operationID: parent.operationID, failure: failure)))
        }
        let event = HistoryEvent(sequenceNumber: item.history.count, timestamp: item.claimedAt, kind: .executionFailed(failure: failure))
        return TurnResult(newEvents: [event], actions: actions, outcome: .failed(failure), customStatus: item.instance.customStatus)
    }
}
