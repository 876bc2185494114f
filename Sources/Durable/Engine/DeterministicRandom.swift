/// SplitMix64, seeded from the instance and execution ids: the same sequence on every replay.
struct DeterministicRandom: Sendable, Equatable {
    private var state: UInt64

    init(seed: String) {
        // FNV-1a: stable across processes and releases, unlike `Hasher`.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        self.state = hash
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A random number generator for orchestration code: deterministic across replays.
///
/// ```swift
/// var rng = context.randomNumberGenerator()
/// let delay = Int.random(in: 1...10, using: &rng)
/// ```
public struct OrchestrationRandomNumberGenerator: RandomNumberGenerator, Sendable {
    let context: OrchestrationContext

    public mutating func next() -> UInt64 {
        self.context.nextRandom()
    }
}
