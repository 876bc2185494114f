public import Foundation

/// Schedules (docs/schedules.md): each runs as the instance `schedule:<id>` of the built-in
/// `durable.schedule` orchestration, which every runtime registers.
extension DurableClient {
    static func scheduleInstance(_ id: String) -> String { "schedule:\(id)" }

    /// Creates schedule `id`: from now on it starts `definition.orchestration` at each nominal time
    /// of its spec, as instance `<id>@<nominal time, UTC>`.
    ///
    /// - Throws: `invalidInput` for a bad spec; `instanceAlreadyExists` when a schedule with this id
    ///   exists with another definition (the same definition again changes nothing). A deleted
    ///   schedule's id can be used again.
    public func createSchedule(_ id: String, _ definition: ScheduleDefinition) async throws {
        try ProviderValidation.instanceID(id)
        try definition.spec.validate()
        // The instance of a deleted schedule (purge takes finished instances only; its firings stay).
        _ = try await self.purge(PurgeQuery(instanceIDs: [Self.scheduleInstance(id)]))
        let record = DurableSchedule.Record(scheduleID: id, definition: definition)
        try await self.start(name: DurableSchedule.name, input: try Payload(encoding: record), instanceID: Self.scheduleInstance(id))
    }

    /// Stops firing until ``resumeSchedule(_:)``; `note` says why (shown by describe). Firings due
    /// meanwhile follow the catch-up policy when it resumes.
    public func pauseSchedule(_ id: String, note: String = "") async throws {
        try await self.control(id, .pause(note: note))
    }

    public func resumeSchedule(_ id: String) async throws {
        try await self.control(id, .resume)
    }

    /// Fires now, outside the calendar, under the overlap policy.
    public func triggerSchedule(_ id: String) async throws {
        try await self.control(id, .trigger)
    }

    /// Replaces what the schedule starts, when and how; it goes on from the first nominal time after now.
    public func updateSchedule(_ id: String, _ definition: ScheduleDefinition) async throws {
        try definition.spec.validate()
        try await self.control(id, .update(definition))
    }

    /// Starts one instance for each nominal time from `start` through `end` (each with its usual id,
    /// so a time that fired already is not started again).
    public func backfillSchedule(_ id: String, from start: Date, through end: Date) async throws {
        try await self.control(id, .backfill(from: start, through: end))
    }

    /// Ends the schedule; instances it started run on.
    public func deleteSchedule(_ id: String) async throws {
        try await self.control(id, .delete)
    }

    /// The schedule's definition, pause, next 10 times, latest firings and their outcomes.
    public func describeSchedule(_ id: String, timeout: Duration = .seconds(10)) async throws -> ScheduleDescription {
        try await self.query(instanceID: Self.scheduleInstance(id), "describe", as: ScheduleDescription.self, timeout: timeout)
    }

    /// The ids of the schedules that exist (not deleted).
    public func schedules() async throws -> [String] {
        var ids: [String] = []
        var query = InstanceQuery(statuses: [.pending, .running], name: DurableSchedule.name)
        while true {
            let page = try await self.list(query)
            ids += page.instances.map { String($0.id.dropFirst("schedule:".count)) }
            guard let next = page.nextCursor else { return ids.sorted() }
            query.cursor = next
        }
    }

    private func control(_ id: String, _ control: ScheduleControl) async throws {
        let info = try await self.status(instanceID: Self.scheduleInstance(id))
        guard !info.status.isTerminal else {
            throw DurableError(.instanceNotFound, "schedule '\(id)' was deleted (its instance is \(info.status.rawValue))", instanceID: info.id)
        }
        try await self.raiseEvent(instanceID: Self.scheduleInstance(id), name: DurableSchedule.eventName, control)
    }
}
