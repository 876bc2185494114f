import Foundation
import Synchronization

/// Counts named things that happen in activities and lets a test await a count, with a deadline.
public final class Probe: Sendable {
    private struct Waiter {
        var name: String
        var count: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private let state = Mutex<(counts: [String: Int], waiters: [UUID: Waiter])>(([:], [:]))

    public init() {}

    /// Counts one occurrence of `name`.
    public func hit(_ name: String) {
        let ready = self.state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.counts[name, default: 0] += 1
            let count = state.counts[name]!
            let done = state.waiters.filter { $0.value.name == name && $0.value.count <= count }
            for key in done.keys { state.waiters[key] = nil }
            return done.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    public func count(_ name: String) -> Int {
        self.state.withLock { $0.counts[name, default: 0] }
    }

    /// Waits until `name` was hit `count` times; false after `timeout`.
    @discardableResult
    public func wait(for name: String, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let done = self.state.withLock { state -> Bool in
                if state.counts[name, default: 0] >= count { return true }
                state.waiters[id] = Waiter(name: name, count: count, continuation: continuation)
                return false
            }
            if done { continuation.resume(returning: true) }
        }
    }
}
