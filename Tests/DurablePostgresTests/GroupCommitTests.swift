import Durable
@testable import DurablePostgres
import DurableTesting
import Foundation
import Testing

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct GroupCommitTests {
    /// Starts `count` instances `<prefix>0`, `<prefix>1`, … and claims them all.
    static func startAndClaim(_ count: Int, prefix: String, _ provider: PostgresProvider) async throws -> [OrchestrationWorkItem] {
        for i in 0..<count {
            _ = try await provider.createInstance(StartRequest(instanceID: "\(prefix)\(i)", name: "Group", version: "1.0.0", input: .null))
        }
        var items: [OrchestrationWorkItem] = []
        while items.count < count {
            let claimed = try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: count)).items
            try #require(!claimed.isEmpty)
            items += claimed
        }
        return items
    }

    /// The conformance suite with every turn commit and every start run as the merged statement of
    /// a group (`CommitTurnsStatement`, `CreateInstancesStatement`), which otherwise runs only when
    /// statements arrive together: it must keep every guarantee the single statement keeps.
    @Test(arguments: ProviderConformance.checks)
    func conformanceWithMergedCommits(_ check: ProviderConformance.Check) async throws {
        try await PostgresTestDatabase.withFactory { factory in
            try await check.run { leaseDuration in
                let provider = try #require(try await factory(leaseDuration) as? PostgresProvider)
                provider.commits.mergeEveryStatement()
                provider.starts.mergeEveryStatement()
                return provider
            }
        }
    }

    /// Concurrent turn commits share transactions, and each is still fenced on its own: a stale lease
    /// among them fails alone.
    @Test func concurrentCommitsShareTransactionsAndAreFencedOneByOne() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            let count = 40
            let items = try await Self.startAndClaim(count, prefix: "g", provider)
            let staleID = items[7].lease.id
            let before = (provider.commits.groupedStatements, provider.commits.mergedGroups)
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for item in items {
                    group.addTask {
                        var lease = item.lease
                        if lease.id == staleID { lease.epoch += 1 }
                        let event = HistoryEvent(sequenceNumber: 0, timestamp: item.claimedAt, kind: item.messages[0].kind)
                        let commit = TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: [event], actions: []))
                        do {
                            try await provider.commitTurn(lease, commit)
                            return (item.lease.id, true)
                        } catch {
                            return (item.lease.id, false)
                        }
                    }
                }
                return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes.filter(\.value).count == count - 1)
            #expect(outcomes[staleID] == false, "the stale lease fails alone")
            #expect(provider.commits.groupedStatements > before.0, "some commits shared a transaction")
            #expect(provider.commits.mergedGroups > before.1, "as one statement")
            #expect(try await provider.history(instanceID: staleID).isEmpty)
            #expect(try await provider.history(instanceID: items[0].lease.id).count == 1)
        }
    }

    /// Concurrent starts share statements, and each keeps its own outcome: new ids are created with
    /// their start message, an id that exists with the same input is reported as existing, one with
    /// another input fails alone, and nothing is created twice.
    @Test func concurrentStartsShareStatementsAndKeepTheirOutcomes() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            _ = try await provider.createInstance(StartRequest(instanceID: "s-same", name: "Group", version: "1.0.0", input: .null))
            _ = try await provider.createInstance(StartRequest(instanceID: "s-other", name: "Group", version: "1.0.0", input: .null))
            let before = provider.starts.mergedGroups
            var outcomes = await Self.outcomes(ofStarting: (0..<60).map { "s\($0)" } + ["s-same", "s-other"], provider)
            #expect(provider.starts.mergedGroups > before, "some starts shared a statement")
            // A group that starts one id twice runs its starts one by one.
            outcomes.merge(await Self.outcomes(ofStarting: ["s3", "s62", "s62", "s63", "s63"], provider)) { $1 }
            #expect(outcomes["s-same#60"] == "alreadyExists")
            #expect(outcomes["s-other#61"] == "\(DurableError.Code.instanceAlreadyExists)")
            // s3 and s4 were started twice: one call created each, the other found it.
            #expect(outcomes["s3#0"] == "alreadyExists")
            #expect(Set([outcomes["s62#1"], outcomes["s62#2"]]) == ["alreadyExists", "created"])
            #expect(Set([outcomes["s63#3"], outcomes["s63#4"]]) == ["alreadyExists", "created"])
            #expect(outcomes.filter { $0.value == "created" }.count == 62)
            var claimed: [String: Int] = [:]
            while true {
                let items = try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: 100)).items
                if items.isEmpty { break }
                for item in items { claimed[item.lease.id, default: 0] += item.messages.count }
            }
            #expect(claimed.count == 64, "every instance is claimable")
            #expect(claimed.values.allSatisfy { $0 == 1 }, "with one start message each")
        }
    }

    /// Starts `ids` at once ("s-other" with input 1, the others with null): each start's result, or
    /// its error's code, by `<id>#<index>`.
    static func outcomes(ofStarting ids: [String], _ provider: PostgresProvider) async -> [String: String] {
        await withTaskGroup(of: (String, String).self) { group in
            for index in ids.indices {
                let id = ids[index]
                group.addTask { ("\(id)#\(index)", await Self.outcome(of: id, input: id == "s-other" ? "1" : "null", provider)) }
            }
            return await group.reduce(into: [String: String]()) { $0[$1.0] = $1.1 }
        }
    }

    /// A start's result, or its error's code.
    static func outcome(of id: String, input: String, _ provider: PostgresProvider) async -> String {
        do {
            return "\(try await provider.createInstance(StartRequest(instanceID: id, name: "Group", version: "1.0.0", input: Payload(json: input))))"
        } catch let error as DurableError {
            return "\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    /// Commits that send messages to each other's instances (each to the next, as a child's end
    /// readies its parent) share statements that lock every row first, in order, and all land.
    @Test func commitsThatMessageEachOtherShareTransactionsAndAllLand() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            let count = 40
            let items = try await Self.startAndClaim(count, prefix: "m", provider)
            let executions = Dictionary(uniqueKeysWithValues: items.map { ($0.lease.id, $0.instance.executionID) })
            let before = provider.commits.mergedGroups
            let landed = await withTaskGroup(of: Bool.self) { group in
                for item in items {
                    group.addTask {
                        let number = Int(item.lease.id.dropFirst())!
                        let next = "m\((number + 1) % count)"
                        let reference = HistoryEvent.ParentReference(instanceID: next, executionID: executions[next]!, operationID: 1)
                        let event = HistoryEvent(sequenceNumber: 0, timestamp: item.claimedAt, kind: item.messages[0].kind)
                        let result = TurnResult(newEvents: [event], actions: [.notifyParent(reference, .eventRaised(name: "ping", input: .null))])
                        let commit = TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: result)
                        return (try? await provider.commitTurn(item.lease, commit)) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(landed == count)
            #expect(provider.commits.mergedGroups > before, "some commits shared a statement")
            var pinged: Set<String> = []
            while pinged.count < count {
                let claimed = try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: count)).items
                try #require(!claimed.isEmpty, "every instance got the message sent to it")
                for item in claimed where item.messages.contains(where: { if case .eventRaised("ping", _, _) = $0.kind { true } else { false } }) {
                    pinged.insert(item.lease.id)
                }
            }
        }
    }

    /// A turn commit in a transaction that began before a message came (as a group's later
    /// statements do) sees the message and announces it: measured against the transaction's start,
    /// the message looked not yet visible, nothing was announced, and the instance waited for the
    /// safety poll (a fanout5 run of 500 took 30 s instead of 1 s, about one run in twenty).
    @Test func aCommitInATransactionOlderThanAMessageAnnouncesIt() async throws {
        try await PostgresTestDatabase.withFactory { factory in
            let provider = try #require(try await factory(.seconds(60)) as? PostgresProvider)
            _ = try await provider.createInstance(StartRequest(instanceID: "late", name: "Late", version: "1.0.0", input: .null))
            let item = try #require(try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: 1)).items.first)
            let event = HistoryEvent(sequenceNumber: 0, timestamp: item.claimedAt, kind: item.messages[0].kind)
            let commit = TurnCommit(consumedMessageIDs: item.messages.map(\.id), result: TurnResult(newEvents: [event], actions: []))
            let statement = try provider.commitStatement(item.lease, commit).statement
            let (fenced, notified) = try await provider.client.withConnection { connection in
                try await connection.query("BEGIN", logger: provider.logger)
                _ = try await connection.query("SELECT now()", logger: provider.logger).collect()
                // Committed after the transaction began, before the statement below.
                try await provider.sendMessage(instanceID: "late", .eventRaised(name: "go", input: .null))
                let rows = try await connection.execute(statement, logger: provider.logger).rows()
                try await connection.query("COMMIT", logger: provider.logger)
                let row = try rows[0].decode((Int64, [String], [Int], Int64, Bool).self)
                return (row.0, row.3)
            }
            #expect(fenced == 2, "the turn committed")
            #expect(notified == 1, "the event that came in the meantime was announced")
            let next = try await provider.claimOrchestrations(ClaimRequest(owner: "n#1", limit: 1)).items
            #expect(next.first?.messages.count == 1, "and is claimable at once")
        }
    }
}
