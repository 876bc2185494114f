import Durable

extension Bench {
    /// fanout5 with `--processes` worker processes (3 when not given) against one in-process node,
    /// in pairs that alternate which goes first: the machine's speed drifts between runs (and the
    /// second run of a pair tends to be slower), so only runs measured side by side compare. Each
    /// pair gives a ratio; the target is their median.
    func processesAgainstInProcess(url: String) async throws -> [String: Stat] {
        var inProcess = self
        inProcess.processes = 0
        inProcess.nodes = 1
        var separate = self
        separate.processes = self.processes > 0 ? self.processes : 3
        // One unmeasured run of each: the first runs after a build or a pause are slower.
        _ = try await inProcess.throughput(url: url, orchestration: Fanout5.self, activities: 5, n: max(10, self.n / 10), runs: 1, warmUp: false)
        _ = try await separate.throughput(url: url, orchestration: Fanout5.self, activities: 5, n: max(10, self.n / 10), runs: 1, warmUp: false)
        var single: [Double] = []
        var several: [Double] = []
        for pair in 0..<max(1, self.runs) {
            for processes in pair % 2 == 0 ? [false, true] : [true, false] {
                let bench = processes ? separate : inProcess
                let stats = try await bench.throughput(url: url, orchestration: Fanout5.self, activities: 5, n: self.n, runs: 1, warmUp: false)
                let rate = stats["orchestrations/s"]?.median ?? 0
                if processes { several.append(rate) } else { single.append(rate) }
            }
            print("pair \(pair + 1): \(separate.processes) processes \(Int(several[pair])), in-process \(Int(single[pair])) orchestrations/s: \(String(format: "%.2f", several[pair] / single[pair]))")
        }
        return [
            "in-process orchestrations/s": Stat(single),
            "processes orchestrations/s": Stat(several),
            "processes/in-process": Stat(zip(several, single).map { $0 / $1 }),
        ]
    }
}
