public import Foundation

/// When a schedule fires: its nominal times, from a cron expression in an IANA time zone or a fixed
/// interval, between optional start and end dates. A firing may start up to `jitter` after its
/// nominal time (the same delay at every evaluation: it is derived from the schedule and the time),
/// so that many schedules due at the same second do not all start at once.
public struct ScheduleSpec: Sendable, Hashable, Codable {
    public enum Calendar: Sendable, Hashable, Codable {
        /// A ``CronExpression``, evaluated in the spec's time zone.
        case cron(String)
        /// Every `interval` since 1970-01-01 UTC, shifted by `offset` (`every(.seconds(3600),
        /// offset: .seconds(900))` fires at a quarter past every hour).
        case every(Duration, offset: Duration = .zero)
    }

    public var calendar: Calendar
    /// An IANA time zone (`Europe/Berlin`); cron expressions are evaluated in it.
    public var timeZone: String
    /// No firing before this.
    public var startAt: Date?
    /// No firing after this.
    public var endAt: Date?
    public var jitter: Duration?

    public init(_ calendar: Calendar, timeZone: String = "UTC", startAt: Date? = nil, endAt: Date? = nil, jitter: Duration? = nil) {
        self.calendar = calendar
        self.timeZone = timeZone
        self.startAt = startAt
        self.endAt = endAt
        self.jitter = jitter
    }

    /// Checks the spec: a cron expression that parses, a known time zone, a positive interval,
    /// an end after the start.
    ///
    /// - Throws: `invalidInput`, saying which.
    public func validate() throws(DurableError) {
        _ = try self.evaluator()
    }

    /// The first nominal time after `date` (strictly), or `nil` when the schedule has ended.
    public func nominalTime(after date: Date) throws(DurableError) -> Date? {
        let evaluator = try self.evaluator()
        var after = date
        if let startAt = self.startAt, startAt > after { after = startAt.addingTimeInterval(-1) }
        guard let next = evaluator(after) else { return nil }
        if let endAt = self.endAt, next > endAt { return nil }
        return next
    }

    /// The next `count` nominal times after `date`.
    public func nominalTimes(_ count: Int, after date: Date) throws(DurableError) -> [Date] {
        var times: [Date] = []
        var from = date
        while times.count < count, let next = try self.nominalTime(after: from) {
            times.append(next)
            from = next
        }
        return times
    }

    /// How long after its nominal time the firing of `scheduleID` at `nominal` starts: a fixed
    /// fraction of the jitter for each (schedule, time).
    public func jitterDelay(scheduleID: String, nominal: Date) -> Duration {
        guard let jitter = self.jitter, jitter > .zero else { return .zero }
        // FNV-1a: stable across processes and releases, unlike Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(scheduleID)@\(Int64(nominal.timeIntervalSince1970))".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return jitter * (Double(hash % 1_000_000) / 1_000_000)
    }

    private func evaluator() throws(DurableError) -> (Date) -> Date? {
        if let startAt = self.startAt, let endAt = self.endAt, endAt < startAt {
            throw DurableError(.invalidInput, "the schedule ends (\(endAt)) before it starts (\(startAt))")
        }
        if let jitter = self.jitter, jitter < .zero {
            throw DurableError(.invalidInput, "the schedule's jitter (\(jitter)) is negative")
        }
        switch self.calendar {
        case .cron(let text):
            let cron = try CronExpression(text)
            guard let zone = TimeZone(identifier: self.timeZone) else {
                throw DurableError(.invalidInput, "'\(self.timeZone)' is not an IANA time zone (like Europe/Berlin or UTC)")
            }
            return { cron.next(after: $0, in: zone) }
        case .every(let interval, let offset):
            let seconds = interval.seconds
            guard seconds >= 1 else { throw DurableError(.invalidInput, "the schedule's interval (\(interval)) is under a second") }
            let shift = offset.seconds
            return { date in
                let steps = ((date.timeIntervalSince1970 - shift) / seconds).rounded(.down) + 1
                return Date(timeIntervalSince1970: (steps * seconds + shift).rounded(.down))
            }
        }
    }
}
