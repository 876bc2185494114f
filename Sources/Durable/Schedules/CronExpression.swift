/// A cron expression: 5 fields (minute, hour, day of month, month, day of week) or 6 (seconds
/// first), or a macro (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
/// `@hourly`).
///
/// Each field takes `*`, numbers, ranges (`1-5`), steps (`*/15`, `10-50/20`, `5/10`) and lists of
/// them (`1,15,30`); months and weekdays also take names (`JAN`–`DEC`, `SUN`–`SAT`, 0 or 7 for
/// Sunday). The day of month takes `L` (its last day); the day of week takes `5L` (the last
/// Friday of the month) and `5#3` (its third Friday); `?` is `*` in both. As in Vixie and Debian
/// cron, when both day fields are restricted (neither starts with `*`) a day matches either.
///
/// ``next(after:in:)`` evaluates it in an IANA time zone, with Debian cron's behaviour across
/// daylight-saving changes (see there). Checked against the output of the Python library cronsim
/// (Tests/DurableTests/Fixtures/cron.json).
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let source: String
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let lastDayOfMonth: Bool
    let months: Set<Int>
    /// Weekdays 0 (Sunday) to 6.
    let weekdays: Set<Int>
    /// `5L`: the weekday's last occurrence in the month.
    let lastWeekdays: Set<Int>
    /// `5#3`: (weekday, occurrence).
    let nthWeekdays: Set<Pair>
    /// Both day fields restricted: a day matches either (else both must match).
    let eitherDay: Bool
    /// A job at a fixed wall-clock time (minute and hour fields both fixed, 5 fields): it is
    /// evaluated on the local clock, so that a repeated hour fires once and a skipped time fires at
    /// the first valid time after it. Others are evaluated on real time.
    let wallClock: Bool

    struct Pair: Sendable, Hashable {
        var weekday: Int
        var occurrence: Int
    }

    public var description: String { self.source }

    /// Parses `text`.
    ///
    /// - Throws: `invalidInput`, naming the field and what is wrong with it.
    public init(_ text: String) throws(DurableError) {
        let source = text.trimmingCharacters(in: .whitespaces)
        var parts = source.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).uppercased() }
        if parts.count == 1, let macro = Self.macros[parts[0].lowercased()] {
            parts = macro.split(separator: " ").map(String.init)
        }
        guard parts.count == 5 || parts.count == 6 else {
            throw Self.invalid(source, "has \(parts.count) fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)")
        }
        let hasSeconds = parts.count == 6
        if !hasSeconds { parts.insert("0", at: 0) }
        self.source = source
        self.seconds = try Self.field(parts[0], "seconds", 0...59, source: source)
        self.minutes = try Self.field(parts[1], "minute", 0...59, source: source)
        self.hours = try Self.field(parts[2], "hour", 0...23, source: source)
        let (days, last) = try Self.dayOfMonth(parts[3], source: source)
        self.daysOfMonth = days
        self.lastDayOfMonth = last
        self.months = try Self.field(parts[4], "month", 1...12, names: Self.monthNames, source: source)
        let weekdays = try Self.dayOfWeek(parts[5], source: source)
        self.weekdays = weekdays.plain
        self.lastWeekdays = weekdays.last
        self.nthWeekdays = weekdays.nth
        self.eitherDay = !parts[3].hasPrefix("*") && !parts[5].hasPrefix("*") && parts[3] != "?" && parts[5] != "?"
        self.wallClock = !hasSeconds && !parts[1].hasPrefix("*") && !parts[2].hasPrefix("*")
        if !self.eitherDay, !self.lastDayOfMonth, let first = self.daysOfMonth.min(),
            first > self.months.map({ Self.longestMonth[$0 - 1] }).max() ?? 31
        {
            throw Self.invalid(source, "never fires: day \(first) does not exist in the months it names")
        }
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    static let longestMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    static func invalid(_ source: String, _ problem: String) -> DurableError {
        DurableError(.invalidInput, "cron expression '\(source)' \(problem)")
    }
}

extension CronExpression {
    /// A plain field: `*`, values, ranges, steps and lists, with optional names (index + offset).
    static func field(
        _ text: String, _ name: String, _ bounds: ClosedRange<Int>, names: [String] = [], nameOffset: Int = 1, source: String
    ) throws(DurableError) -> Set<Int> {
        var values = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !item.isEmpty else { throw invalid(source, "has a malformed \(name) field '\(text)'") }
            var step = 1
            if parts.count == 2 {
                guard let value = Int(parts[1]), value > 0 else { throw invalid(source, "has a bad step in its \(name) field '\(text)'") }
                step = value
            }
            let range: ClosedRange<Int>
            let base = String(parts[0])
            if base == "*" || base == "?" {
                range = bounds
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(String(base[..<dash]), name, bounds, names: names, nameOffset: nameOffset, source: source)
                let high = try value(String(base[base.index(after: dash)...]), name, bounds, names: names, nameOffset: nameOffset, source: source)
                guard low <= high else { throw invalid(source, "has a backwards range in its \(name) field '\(text)'") }
                range = low...high
            } else {
                let start = try value(base, name, bounds, names: names, nameOffset: nameOffset, source: source)
                // `5/10` runs from 5 to the end of the field.
                range = parts.count == 2 ? start...bounds.upperBound : start...start
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    static func value(_ text: String, _ name: String, _ bounds: ClosedRange<Int>, names: [String], nameOffset: Int, source: String) throws(DurableError) -> Int {
        if let index = names.firstIndex(of: text) { return index + nameOffset }
        guard let value = Int(text), bounds.contains(value) else {
            throw invalid(source, "has '\(text)' in its \(name) field, outside \(bounds.lowerBound)-\(bounds.upperBound)")
        }
        return value
    }

    static func dayOfMonth(_ text: String, source: String) throws(DurableError) -> (Set<Int>, last: Bool) {
        var days = Set<Int>()
        var last = false
        var rest: [Substring] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item == "L" { last = true } else { rest.append(item) }
        }
        if !rest.isEmpty { days = try field(rest.joined(separator: ","), "day-of-month", 1...31, source: source) }
        return (days, last)
    }

    static func dayOfWeek(_ text: String, source: String) throws(DurableError) -> (plain: Set<Int>, last: Set<Int>, nth: Set<Pair>) {
        var plain = Set<Int>()
        var last = Set<Int>()
        var nth = Set<Pair>()
        var rest: [Substring] = []
        func weekday(_ text: Substring) throws(DurableError) -> Int {
            try value(String(text), "day-of-week", 0...7, names: weekdayNames, nameOffset: 0, source: source) % 7
        }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item.hasSuffix("L"), item.count > 1 {
                last.insert(try weekday(item.dropLast()))
            } else if let hash = item.firstIndex(of: "#") {
                guard let occurrence = Int(item[item.index(after: hash)...]), (1...5).contains(occurrence) else {
                    throw invalid(source, "has a bad '#' in its day-of-week field '\(text)' (1 to 5)")
                }
                nth.insert(Pair(weekday: try weekday(item[..<hash]), occurrence: occurrence))
            } else {
                rest.append(item)
            }
        }
        if !rest.isEmpty {
            plain = Set(try field(rest.joined(separator: ","), "day-of-week", 0...7, names: weekdayNames, nameOffset: 0, source: source).map { $0 % 7 })
        }
        return (plain, last, nth)
    }
}
