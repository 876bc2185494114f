public import Durable
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresProvider {
    /// A start that would run alone (no other start runs) commits its first turn with it: the turn
    /// needs no hand-over to the dispatcher, and the start no statement, confirmation or WAL flush
    /// of its own. The node computes the turn before anything is written, and one statement inserts
    /// the instance as the turn leaves it (``startInOneStatement(_:owner:now:_:)``). Under load,
    /// starts share transactions (group commit) and first turns share merged commits, which cost the
    /// database less than a statement of its own per start, so the turn stays claimed.
    public func createInstance(
        _ request: StartRequest,
        claimingFirstTurnFor owner: String,
        committing firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> (StartResult, FirstTurn) {
        var retried = false
        if !owner.isEmpty, self.starts.beginSolo() {
            defer { self.starts.endSolo() }
            do {
                let now = try await self.databaseClock()
                switch try await self.startInOneStatement(request, owner: owner, now: now, firstTurn) {
                case .started(let result, let first): return (result, first)
                // The id exists, perhaps created by an attempt whose answer was lost: the plain
                // start sorts that out.
                case .exists(let afterRetry): retried = afterRetry
                }
            } catch let error as DurableError where error.code == .invalidInput || error.code == .payloadTooLarge {
                throw error
            } catch {
                self.logger.debug("a start with its first turn failed; starting without it", metadata: ["error": "\(String(reflecting: error))"])
                retried = true
            }
        }
        let (result, turn) = try await self.start(request, claimingFirstTurnFor: owner, retried: retried)
        return (result, turn.map { .claimed($0) } ?? .none)
    }

    private enum StartWithFirstTurn {
        case started(StartResult, FirstTurn)
        /// The id exists (nothing was written by the last attempt); `retried` when an earlier one
        /// may have created it.
        case exists(retried: Bool)
    }

    /// The start and its first turn as one statement (``StartWithTurnStatement``): the node computes
    /// the turn before the instance exists, from the start it is about to write (its turn's clock is
    /// the database's, as last seen, `now`), and one write inserts the instance as that turn leaves
    /// it. A turn that needs more than that statement (messages to other instances, or whatever the
    /// one-statement commit does not do) is not committed: the instance is started plainly, its turn
    /// claimed for the starter, who runs it again. When the id exists nothing is written, and the
    /// computed turn is the starter's to drop (the contract says so).
    private func startInOneStatement(
        _ request: StartRequest, owner: String, now: Date, _ firstTurn: @escaping @Sendable (OrchestrationWorkItem) async -> TurnCommit?
    ) async throws -> StartWithFirstTurn {
        try ProviderValidation.start(request, limit: self.configuration.maxPayloadBytes)
        let executionID = UUID().uuidString.lowercased()
        var info = InstanceInfo(
            id: request.instanceID, name: request.name, version: request.version ?? "", executionID: executionID, status: .pending,
            input: request.input, createdAt: now, updatedAt: now
        )
        info.queue = request.queueName
        info.priority = request.priority ?? Priority.default
        // The message is never written, so it has no id; the one-statement commit consumes nothing.
        let message = InboxMessage(id: 0, kind: Self.startEvent(request, executionID: executionID))
        let item = OrchestrationWorkItem(
            lease: Lease(id: request.instanceID, owner: owner, epoch: 1), instance: info, history: [], messages: [message], claimedAt: now, deliveryCount: 1
        )
        let limit = self.configuration.maxPayloadBytes
        guard let commit = await firstTurn(item), Self.fitsOneStatement(commit.result),
            (try? ProviderValidation.turn(commit.result, limit: limit, instanceID: request.instanceID)) != nil,
            case let (turn, activities) = try self.commitStatement(item.lease, commit), turn.targets.allSatisfy({ $0 == request.instanceID })
        else {
            let (result, claimed) = try await self.start(request, claimingFirstTurnFor: owner)
            return .started(result, claimed.map { .claimed($0) } ?? .none)
        }
        let statement = StartWithTurnStatement(
            turn: turn, name: request.name, version: request.version ?? "", executionID: executionID, input: request.input.json,
            queue: request.queueName, priority: request.priority ?? Priority.default
        )
        let attempts = Atomic(0)
        return try await self.withRetry("starting instance '\(request.instanceID)' with its first turn", statement: "start_with_turn") {
            let attempt = attempts.add(1, ordering: .relaxed).newValue
            let rows = try await self.write(statement)
            let (created, ids, operations, _, databaseNow) = try rows[0].decode((Int64, [String], [Int], Int64, Date).self)
            self.observeDatabaseClock(databaseNow)
            guard created == 1 else { return .exists(retried: attempt > 1) }
            let prefetched = Self.prefetchedItems(
                ids: ids, operations: operations, requests: activities, owner: commit.prefetch?.owner ?? "", instanceID: request.instanceID, executionID: executionID
            )
            return .started(.created, .committed(item, commit, prefetched: prefetched))
        }
    }

    /// The database's clock as this provider last saw it, carried forward by the local clock; `nil`
    /// until a start or ``databaseClock()`` has read it.
    var databaseNow: Date? {
        self.databaseClockOffset.withLock { $0 }.map { Date().addingTimeInterval($0) }
    }

    /// The database's clock: as last seen, or read now (once in a provider's life, before its first
    /// start with a turn computed in advance).
    func databaseClock() async throws -> Date {
        if let now = self.databaseNow { return now }
        let now = try await self.withRetry("reading the database's clock", statement: "database_clock") {
            try await self.client.query("SELECT now()", logger: self.logger).collect()[0].decode(Date.self)
        }
        self.observeDatabaseClock(now)
        return now
    }

    /// Records the database's clock, read at `now` (a start's `now()`).
    func observeDatabaseClock(_ now: Date) {
        self.databaseClockOffset.withLock { $0 = now.timeIntervalSinceNow }
    }
}
