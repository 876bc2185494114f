import Durable
import Foundation

extension Bench {
    /// One node runs `soakInstances` fanout5 instances in batches of `soakBatch`; the process's
    /// resident memory is read after each batch. A node's memory must be bounded by its concurrency
    /// and cache capacity, not by how much work it has run.
    func soak(url: String) async throws -> [String: Stat] {
        let environment = try await BenchEnvironment(url: url, bench: self)
        let client = DurableClient(provider: environment.client)
        let batches = max(1, self.soakInstances / self.soakBatch)
        var resident: [Double] = []
        print("batch  instances  resident MB")
        for batch in 0..<batches {
            let first = batch * self.soakBatch
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        for i in stride(from: first + worker, to: first + self.soakBatch, by: 16) {
                            try await client.start(Fanout5.self, input: i, instanceID: "s\(i)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            _ = try await environment.waitUntilCompleted(first + self.soakBatch)
            let megabytes = Double(Self.residentBytes()) / 1_048_576
            resident.append(megabytes)
            print(String(format: "%5d  %9d  %11.1f", batch + 1, first + self.soakBatch, megabytes))
        }
        await environment.stop()
        let firstBatch = resident.first ?? .nan
        let lastBatch = resident.last ?? .nan
        return [
            "resident MB after the first batch": Stat([firstBatch]),
            "resident MB after the last batch": Stat([lastBatch]),
            "last/first": Stat([lastBatch / firstBatch]),
            "instances": Stat([Double(batches * self.soakBatch)]),
        ]
    }

    /// VmRSS of this process (Linux), 0 where /proc is not there.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}
