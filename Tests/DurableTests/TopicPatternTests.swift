import Durable
import Testing

@Suite struct TopicPatternTests {
    @Test func patternsMatchLikeMQTT() {
        #expect(TopicPattern.matches("orders/#", topic: "orders/42/eu"))
        #expect(TopicPattern.matches("orders/#", topic: "orders"))
        #expect(TopicPattern.matches("#", topic: "anything/at/all"))
        #expect(TopicPattern.matches("region/+/flags", topic: "region/eu-west/flags"))
        #expect(!TopicPattern.matches("region/+/flags", topic: "region/eu/west/flags"))
        #expect(!TopicPattern.matches("region/+", topic: "region"))
        #expect(TopicPattern.matches("a/b", topic: "a/b"))
        #expect(!TopicPattern.matches("a/b", topic: "a/b/c"))
        #expect(!TopicPattern.matches("a/b/c", topic: "a/b"))
    }

    @Test func theCandidatesAreExactlyThePatternsThatMatch() {
        let levels = ["a", "b", "+"]
        var patterns: Set<String> = ["#"]
        func build(_ prefix: [String], depth: Int) {
            guard depth < 4 else { return }
            for level in levels {
                let next = prefix + [level]
                patterns.insert(next.joined(separator: "/"))
                patterns.insert(next.joined(separator: "/") + "/#")
                build(next, depth: depth + 1)
            }
        }
        build([], depth: 0)
        for topic in ["a", "b", "a/b", "b/a/a", "a/b/a/b", "c/a"] {
            let candidates = Set(TopicPattern.candidates(for: topic))
            for pattern in patterns {
                #expect(candidates.contains(pattern) == TopicPattern.matches(pattern, topic: topic), "\(pattern) for \(topic)")
            }
        }
        #expect(TopicPattern.candidates(for: "1/2/3/4/5/6/7/8").count <= 3 * 256)
    }

    @Test func malformedTopicsAndPatternsAreRefused() {
        for topic in ["", "a//b", "a/+", "#", "a/b#", String(repeating: "x/", count: 8) + "x"] {
            #expect(throws: DurableError.self, "\(topic)") { try TopicPattern.validate(topic: topic) }
        }
        for pattern in ["", "a/#/b", "a+/b", "a/b#", "a//b"] {
            #expect(throws: DurableError.self, "\(pattern)") { try TopicPattern.validate(pattern: pattern) }
        }
        for pattern in ["#", "a/#", "+/+/c", "a/b"] {
            #expect(throws: Never.self) { try TopicPattern.validate(pattern: pattern) }
        }
    }
}
