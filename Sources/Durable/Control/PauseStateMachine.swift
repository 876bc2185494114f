public import Foundation

/// The pause and resume decisions over an instance's small state, without I/O: a provider reads
/// the state under the instance's row lock, asks here, and executes the action it gets.
///
/// A paused instance is held like a lease nobody owns, until the pause's deadline or forever: every
/// claim path already skips held instances, so pausing adds no predicate to a claim. Pausing bumps
/// the lease epoch, so a turn in flight can no longer commit (it is discarded whole, its messages
/// stay). The audit trail travels as inbox messages, recorded in the history by the first turn after
/// the resume, in the order everything arrived; a pause with a deadline also enqueues its resume,
/// visible at the deadline, so the deadline is a known due time rather than something to poll.
public struct PauseStateMachine: Sendable {
    /// What a provider knows of the instance, read under its row lock.
    public struct Instance: Sendable, Hashable {
        public var id: String
        public var status: InstanceStatus
        public var pause: PauseRecord?
        /// Whether a node holds a live lease (a turn in flight).
        public var leased: Bool

        public init(id: String, status: InstanceStatus, pause: PauseRecord?, leased: Bool) {
            self.id = id
            self.status = status
            self.pause = pause
            self.leased = leased
        }
    }

    /// What the provider does, atomically with the read.
    public enum Action: Sendable, Hashable {
        /// Store `record`, hold the instance until `record.until` (or for good), bump the epoch and
        /// drop the lease, not counting the interrupted delivery when `interruptsTurn`; enqueue
        /// `.instancePaused(record)` now and, with a deadline, `.instanceResumed` visible then.
        case pause(PauseRecord, interruptsTurn: Bool)
        /// Clear the pause and the hold, drop the deadline's pending resume message, enqueue
        /// `.instanceResumed(by:at:)` now and notify the orchestration dispatchers.
        case resume(by: String, at: Date)
        /// Nothing to do.
        case none
    }

    /// The provider's clock at the decision.
    public var now: Date

    /// - Parameter now: rounded to milliseconds, as stored histories keep time.
    public init(now: Date) {
        self.now = now.roundedToMilliseconds
    }

    /// Pausing: typed errors for an unknown or finished instance, a blank `by` or a deadline that
    /// is not in the future; re-pausing a paused instance changes nothing.
    public func pause(_ instance: Instance?, _ request: PauseRequest) throws(DurableError) -> (Action, PauseOutcome) {
        let instance = try self.existingRunning(instance, request.instanceID, action: "pause")
        guard !request.by.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DurableError(.invalidInput, "a pause needs to say who pauses (by)", instanceID: request.instanceID)
        }
        if let duration = request.duration, duration <= .zero {
            throw DurableError(.invalidInput, "a pause's duration must be positive, not \(duration)", instanceID: request.instanceID)
        }
        if let current = self.activePause(instance) {
            return (.none, .alreadyPaused(current))
        }
        let record = PauseRecord(
            by: request.by, reason: request.reason, at: self.now,
            until: request.duration.map { self.now.addingTimeInterval($0.seconds) }
        )
        return (.pause(record, interruptsTurn: instance.leased), .paused(record))
    }

    /// Resuming: typed errors for an unknown or finished instance; resuming one that is not paused
    /// (or whose deadline passed, so it resumes by itself) changes nothing.
    public func resume(_ instance: Instance?, _ request: ResumeRequest) throws(DurableError) -> (Action, ResumeOutcome) {
        let instance = try self.existingRunning(instance, request.instanceID, action: "resume")
        guard self.activePause(instance) != nil else { return (.none, .notPaused) }
        return (.resume(by: request.by, at: self.now), .resumed)
    }

    /// The pause in force: one whose deadline has passed is over (its resume message is due).
    public func activePause(_ instance: Instance) -> PauseRecord? {
        guard let pause = instance.pause, pause.until.map({ $0 > self.now }) ?? true else { return nil }
        return pause
    }

    private func existingRunning(_ instance: Instance?, _ id: String, action: String) throws(DurableError) -> Instance {
        guard let instance else { throw DurableError(.instanceNotFound, "no instance '\(id)'", instanceID: id) }
        guard !instance.status.isTerminal else {
            throw DurableError(.instanceFinished, "instance '\(id)' is \(instance.status.rawValue); only a running or pending instance can \(action)", instanceID: id)
        }
        return instance
    }
}
