public import Foundation

extension CronExpression {
    /// The first time after `date` (strictly) that the expression matches in `timeZone`, or `nil`
    /// when it never matches again (within 50 years).
    ///
    /// Daylight-saving changes are handled as Debian cron does. A job at a fixed time (5 fields,
    /// minute and hour both fixed, e.g. `30 2 * * *`) follows the local clock: in a repeated hour it
    /// fires once (at the first occurrence), and a time skipped by the clock moving forward fires at
    /// the first valid minute after the skip. Other jobs (`*/15 * * * *`, `0 * * * *`, 6 fields)
    /// follow real time: they fire in both passes of a repeated hour and not at all in a skipped one.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        let after = floor(date.timeIntervalSince1970)
        let zone = Zone(timeZone)
        guard self.wallClock else {
            // In real time: a midnight the clock skips is where the day starts after the skip.
            let midnight = { (wall: Double) in zone.instant(wall) ?? wall - zone.offset(at: wall - 86_400) }
            return self.search(from: after + 1, view: zone.local, midnight: midnight).map { Date(timeIntervalSince1970: $0) }
        }
        var from = zone.local(after) + 1
        while let wall = self.search(from: from, view: { $0 }, midnight: { $0 }) {
            // A skipped time fires at the first valid minute after it.
            var fire = wall
            while zone.instant(fire) == nil { fire += 60 }
            // Walking from the second pass of a repeated hour, a time of its first pass is past.
            if let instant = zone.instant(fire), instant > after { return Date(timeIntervalSince1970: instant) }
            from = fire + 1
        }
        return nil
    }

    /// The next `count` firing times after `date`.
    public func next(_ count: Int, after date: Date, in timeZone: TimeZone) -> [Date] {
        var times: [Date] = []
        var from = date
        while times.count < count, let time = self.next(after: from, in: timeZone) {
            times.append(time)
            from = time
        }
        return times
    }

    /// Walks forward from `start` to the first matching time, field by field (cronsim's
    /// algorithm). Times are seconds, of real time or of the local clock itself; `view` gives the
    /// local wall-clock time of a time (the identity on the local clock), `midnight` the time of a
    /// local midnight.
    private func search(from start: Double, view: (Double) -> Double, midnight: (Double) -> Double) -> Double? {
        var t = start
        let limit = Fields(view(start)).year + 50
        while true {
            var local = Fields(view(t))
            if local.year > limit { return nil }
            if !self.months.contains(local.month) {
                var month = local.month
                var year = local.year
                repeat {
                    month += 1
                    if month > 12 { (month, year) = (1, year + 1) }
                } while !self.months.contains(month)
                t = midnight(Double(Fields.civilDay(year: year, month: month, day: 1) * 86_400))
                continue
            }
            if !self.matches(day: local) {
                var day = Fields.civilDay(year: local.year, month: local.month, day: local.day)
                repeat {
                    day += 1
                    local = Fields(Double(day * 86_400))
                } while !self.matches(day: local) && local.day != 1
                t = midnight(Double(Fields.civilDay(year: local.year, month: local.month, day: local.day) * 86_400))
                continue
            }
            if !self.hours.contains(local.hour) {
                t += -Double(local.minute * 60 + local.second)
                repeat {
                    t += 3600
                    local = Fields(view(t))
                } while !self.hours.contains(local.hour) && local.hour != 0
                continue
            }
            if !self.minutes.contains(local.minute) {
                t += -Double(local.second)
                if self.minutes.count == 1, let target = self.minutes.first {
                    t += Double(((target - local.minute) % 60 + 60) % 60 * 60)
                    local = Fields(view(t))
                }
                while !self.minutes.contains(local.minute) {
                    t += 60
                    local = Fields(view(t))
                    if local.minute == 0 { break }
                }
                continue
            }
            if !self.seconds.contains(local.second) {
                if self.seconds.count == 1, let target = self.seconds.first {
                    t += Double(((target - local.second) % 60 + 60) % 60)
                    local = Fields(view(t))
                }
                while !self.seconds.contains(local.second) {
                    t += 1
                    local = Fields(view(t))
                    if local.second == 0 { break }
                }
                continue
            }
            return t
        }
    }

    func matches(day local: Fields) -> Bool {
        let dayOfMonth = self.daysOfMonth.contains(local.day) || (self.lastDayOfMonth && local.day == local.daysInMonth)
        let weekday = local.weekday
        let dayOfWeek = self.weekdays.contains(weekday)
            || (self.lastWeekdays.contains(weekday) && local.day + 7 > local.daysInMonth)
            || self.nthWeekdays.contains(Pair(weekday: weekday, occurrence: (local.day - 1) / 7 + 1))
        return self.eitherDay ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek
    }
}

/// A time zone's offsets, for converting between instants and local wall-clock times (both as
/// seconds since 1970; a wall-clock time as if it were UTC).
struct Zone {
    let timeZone: TimeZone

    init(_ timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    func offset(at instant: Double) -> Double {
        Double(self.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)))
    }

    /// The wall-clock time of an instant.
    func local(_ instant: Double) -> Double {
        instant + self.offset(at: instant)
    }

    /// The first instant showing wall-clock time `wall`, or `nil` when the clock skips it.
    func instant(_ wall: Double) -> Double? {
        let offsets = Set([self.offset(at: wall - 86_400), self.offset(at: wall), self.offset(at: wall + 86_400)])
        return offsets.map { wall - $0 }.filter { self.local($0) == wall }.min()
    }
}

/// Calendar fields of a wall-clock time (seconds since 1970 as if UTC), in the proleptic Gregorian
/// calendar, without Foundation's Calendar (which would be slower and zone-aware).
struct Fields {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 0 for Sunday.
    var weekday: Int
    var daysInMonth: Int

    init(_ time: Double) {
        let seconds = Int(time.rounded(.down))
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let rest = seconds - days * 86_400
        (self.hour, self.minute, self.second) = (rest / 3600, rest % 3600 / 60, rest % 60)
        // Days to civil date (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        self.day = doy - (153 * mp + 2) / 5 + 1
        self.month = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (self.month <= 2 ? 1 : 0)
        self.weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        let leap = (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0
        self.daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][self.month - 1]
    }

    /// Days since 1970-01-01 of a civil date.
    static func civilDay(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
