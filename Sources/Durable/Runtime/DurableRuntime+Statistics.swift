extension DurableRuntime {
    /// What this runtime did, for tests, benchmarks and operators.
    public struct Statistics: Sendable, Hashable {
        /// Turns committed.
        public var turns = 0
        /// Turns claimed in the same step as the activity results they consume (no claim of their
        /// own), with the execution kept in memory.
        public var joinedTurns = 0
        /// Activity attempts run to an outcome.
        public var activities = 0
        /// Claims handed back because this node has no handler (wasted claims).
        public var missingHandler = 0
        /// Work failed as poisoned.
        public var poisoned = 0
        /// The most turns one claim returned: claims are bounded by the free turn slots, whatever
        /// the backlog.
        public var largestTurnClaim = 0
        /// Instances started through ``DurableRuntime/client`` whose first turn this node claimed
        /// as it created them (``Configuration/eagerStarts``).
        public var eagerStarts = 0

        public init() {}
    }
}
