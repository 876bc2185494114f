import Logging
import Synchronization

/// Which ``CommittingProcedure``s a provider's schema lacks. ``PostgresProvider/migrate()`` creates
/// them; a schema migrated by an earlier release (whose workers do not migrate) has none of this
/// release's, and its writes then go the plain way, with their confirmation.
final class ProcedureAvailability: Sendable {
    private let missing = Mutex<Set<String>>([])
    private let calls = Atomic(0)

    /// Writes that went through a procedure.
    var procedureCalls: Int { self.calls.load(ordering: .relaxed) }

    func isAvailable(_ procedure: CommittingProcedure) -> Bool {
        !self.missing.withLock { $0.contains(procedure.name) }
    }

    func called() {
        self.calls.add(1, ordering: .relaxed)
    }

    /// Stops calling `procedure`, which the schema does not have; says so once.
    func markMissing(_ procedure: CommittingProcedure, logger: Logger) {
        guard self.missing.withLock({ $0.insert(procedure.name).inserted }) else { return }
        logger.notice(
            "the schema has no procedure \(procedure.name) (it was migrated by another release): these writes take one round trip more; migrating it with this release creates the procedure, for the nodes started after that",
            metadata: ["durable.procedure": .string(procedure.name)]
        )
    }
}
