// Operator actions over many instances at once, chosen by an InstanceQuery.

/// What ``DurableClient/bulk(_:matching:dryRun:batchSize:progress:)`` does to each instance.
public enum BulkAction: Sendable, Hashable {
    case cancel(reason: String, by: String? = nil)
    case terminate(reason: String, by: String? = nil)
    case pause(by: String, reason: String, for: Duration?)
    case resume(by: String)
    /// Deletes finished instances (the query's other statuses match nothing).
    case purge
}

/// How far a bulk action got.
public struct BulkProgress: Sendable, Hashable {
    /// Instances that matched the query so far.
    public var matched = 0
    /// Instances the action changed (or, with a dry run, would have been applied to).
    public var applied = 0
    /// Instances the action left as they were: paused already, not paused, finished meanwhile.
    public var unchanged = 0
    /// Instances the action failed for, with the first few errors.
    public var failed = 0
    public var errors: [String] = []

    public init() {}
}

extension DurableClient {
    /// Applies `action` to every instance `query` matches, in pages of `batchSize`, reporting
    /// progress after each page. Safe to interrupt and run again: each action is idempotent per
    /// instance (a paused instance stays paused, a finished one is not cancelled twice), and a rerun
    /// pages through what still matches. With `dryRun` it only counts. The query's `limit` and
    /// `cursor` are ignored.
    ///
    /// - Throws: what listing throws (`invalidInput` for a batch size outside 1–10,000, `storage`);
    ///   an action that fails for one instance is counted in ``BulkProgress/failed`` instead.
    @discardableResult
    public func bulk(
        _ action: BulkAction, matching query: InstanceQuery, dryRun: Bool = false, batchSize: Int = 500,
        progress: @Sendable (BulkProgress) -> Void = { _ in }
    ) async throws -> BulkProgress {
        var query = query
        query.limit = batchSize
        query.cursor = nil
        if case .purge = action { query.statuses = (query.statuses ?? Set(InstanceStatus.allCases)).filter(\.isTerminal) }
        var result = BulkProgress()
        repeat {
            let page = try await self.list(query)
            result.matched += page.instances.count
            if dryRun {
                result.applied += page.instances.count
            } else if case .purge = action, !page.instances.isEmpty {
                let purged = try await self.purge(PurgeQuery(instanceIDs: page.instances.map(\.id)))
                result.applied += purged
                result.unchanged += page.instances.count - purged
            } else {
                for info in page.instances { await self.apply(action, to: info.id, &result) }
            }
            progress(result)
            query.cursor = page.nextCursor
        } while query.cursor != nil
        return result
    }

    private func apply(_ action: BulkAction, to id: String, _ result: inout BulkProgress) async {
        do {
            switch action {
            case .cancel(let reason, let by): try await self.cancel(instanceID: id, reason: reason, by: by)
            case .terminate(let reason, let by): try await self.terminate(instanceID: id, reason: reason, by: by)
            case .pause(let by, let reason, let duration):
                if case .alreadyPaused = try await self.pause(instanceID: id, by: by, reason: reason, for: duration) {
                    result.unchanged += 1
                    return
                }
            case .resume(let by):
                if case .notPaused = try await self.resume(instanceID: id, by: by) {
                    result.unchanged += 1
                    return
                }
            case .purge: return
            }
            result.applied += 1
        } catch let error as DurableError where error.code == .instanceFinished || error.code == .instanceNotFound {
            // Finished or purged since it was listed.
            result.unchanged += 1
        } catch {
            result.failed += 1
            if result.errors.count < 5 { result.errors.append("\(id): \(error)") }
        }
    }
}
