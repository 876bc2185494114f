/// Topics and subscription patterns, MQTT-style: levels separated by `/`; in a pattern `+` stands
/// for exactly one level and `#`, as the last level only, for any number of levels (none
/// included: `orders/#` matches `orders` too). At most ``maxLevels`` levels and 200 characters, so
/// that a publication looks up a bounded set of patterns (``candidates(for:)``) instead of
/// scanning every subscription.
public enum TopicPattern {
    public static let maxLevels = 8

    /// Checks a topic to publish to: no wildcards, no empty level.
    public static func validate(topic: String) throws(DurableError) {
        let levels = try Self.levels(topic, what: "a topic")
        guard !levels.contains(where: { $0.contains("+") || $0.contains("#") }) else {
            throw DurableError(.invalidInput, "a topic has no wildcards ('+', '#'): '\(topic)'", name: topic)
        }
    }

    /// Checks a subscription pattern: `+` only as a whole level, `#` only as the whole last level.
    public static func validate(pattern: String) throws(DurableError) {
        let levels = try Self.levels(pattern, what: "a topic pattern")
        for (index, level) in levels.enumerated() where level.contains("+") || level.contains("#") {
            let wildcard = level == "+" || (level == "#" && index == levels.count - 1)
            guard wildcard else {
                throw DurableError(
                    .invalidInput, "in a topic pattern '+' is a whole level and '#' the whole last level: '\(pattern)'", name: pattern
                )
            }
        }
    }

    /// Every pattern that matches `topic` (a valid topic): each level as itself or `+`, optionally
    /// cut short by `#`. At most 3 × 2^levels patterns (768 for 8 levels).
    public static func candidates(for topic: String) -> [String] {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var prefixes: [[String]] = [[]]
        var patterns: [String] = ["#"]
        for (index, level) in levels.enumerated() {
            prefixes = prefixes.flatMap { [$0 + [level], $0 + ["+"]] }
            for prefix in prefixes {
                let joined = prefix.joined(separator: "/")
                patterns.append(joined + "/#")
                if index == levels.count - 1 { patterns.append(joined) }
            }
        }
        return patterns
    }

    /// Whether `pattern` matches `topic`.
    public static func matches(_ pattern: String, topic: String) -> Bool {
        let wanted = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in wanted.enumerated() {
            if level == "#" { return true }
            guard index < levels.count, level == "+" || level == levels[index] else { return false }
        }
        return wanted.count == levels.count
    }

    private static func levels(_ text: String, what: String) throws(DurableError) -> [Substring] {
        guard !text.isEmpty, text.count <= 200 else { throw DurableError(.invalidInput, "\(what) must be 1 to 200 characters", name: text) }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count <= Self.maxLevels else {
            throw DurableError(.invalidInput, "\(what) has at most \(Self.maxLevels) levels: '\(text)'", name: text)
        }
        guard !levels.contains(where: \.isEmpty) else { throw DurableError(.invalidInput, "\(what) has no empty level: '\(text)'", name: text) }
        return levels
    }
}
