import Durable
import Foundation

struct Greet: Activity {
    func run(_ input: String, context: ActivityContext) async throws -> String { "Hello, \(input)!" }
}

struct Double_: Activity {
    static let name = "Double"
    func run(_ input: Int, context: ActivityContext) async throws -> Int { input * 2 }
}

struct Sequence3: Orchestration {
    func run(_ input: String, context: OrchestrationContext) async throws -> [String] {
        var out: [String] = []
        for suffix in ["a", "b", "c"] {
            out.append(try await context.activity(Greet.self, input + suffix))
        }
        return out
    }
}

struct FanOutAsyncLet: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        async let a = context.activity(Double_.self, input)
        async let b = context.activity(Double_.self, input + 1)
        async let c = context.activity(Double_.self, input + 2)
        let timer = context.createTimer(for: .seconds(5))
        let sum = try await a + b + c
        _ = try await timer.value
        return sum
    }
}

struct FanOutGroup: Orchestration {
    func run(_ input: Int, context: OrchestrationContext) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<input {
                group.addTask {
                    let doubled = try await context.activity(Double_.self, i)
                    if i % 3 == 0 {
                        try await context.sleep(for: .seconds(Int64(i + 1)))
                    }
                    return try await context.activity(Double_.self, doubled)
                }
            }
            var sum = 0
            for try await value in group { sum += value }
            return sum
        }
    }
}
