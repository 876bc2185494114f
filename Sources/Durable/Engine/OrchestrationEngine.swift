public import Foundation
public import Logging

/// The replay engine: runs one turn of an orchestration from its history and new messages.
///
/// It is pure: no clock (the caller passes `now`, from the provider's clock), no I/O, no state
/// between calls. The same history and messages always give the same ``TurnResult``.
public struct OrchestrationEngine: Sendable {
    public let registry: Registry
    public let logger: Logger

    public init(registry: Registry, logger: Logger = Logger(label: "durable.engine")) {
        self.registry = registry
        self.logger = logger
    }

    /// Runs one turn: replays `history`, then delivers `messages` (appending them to the history) and
    /// lets the code decide.
    ///
    /// - Throws: `orchestrationNotRegistered` when this registry lacks the execution's name and
    ///   version; `nonDeterminism` when the code diverges from the history; `invalidInput` when the
    ///   history does not start with `executionStarted`.
    public func runTurn(
        instanceID: String,
        history: [HistoryEvent],
        messages: [HistoryEvent.Kind],
        now: Date
    ) throws(DurableError) -> TurnResult {
        var messages = messages
        let start: HistoryEvent.ExecutionStarted
        if case .executionStarted(let recorded) = history.first?.kind {
            start = recorded
        } else if history.isEmpty, let index = messages.firstIndex(where: { if case .executionStarted = $0 { true } else { false } }),
            case .executionStarted(var requested) = messages.remove(at: index)
        {
            if requested.version.isEmpty {
                requested.version = self.registry.versionForNewStart(of: requested.name) ?? ""
            }
            start = requested
            messages.insert(.executionStarted(requested), at: 0)
        } else {
            throw DurableError(
                .invalidInput,
                "the history of instance '\(instanceID)' does not begin with executionStarted",
                instanceID: instanceID
            )
        }

        guard let handler = self.registry.orchestration(name: start.name, version: start.version) else {
            throw Self.notRegistered(instanceID: instanceID, name: start.name, version: start.version, registry: self.registry)
        }

        let context = OrchestrationContext(
            instanceID: instanceID,
            start: start,
            history: history,
            now: now.roundedToMilliseconds,
            registry: self.registry,
            logger: self.logger
        )
        let execution = OrchestrationExecution(context: context, handler: handler)
        defer { execution.unload() }
        try execution.replay()
        try execution.process(messages, now: now.roundedToMilliseconds)
        return execution.result
    }

    static func notRegistered(instanceID: String?, name: String, version: String, registry: Registry) -> DurableError {
        let versions = registry.versions(of: name)
        let has = versions.isEmpty ? "no version of '\(name)'" : "versions \(versions.joined(separator: ", ")) of '\(name)'"
        return DurableError(
            .orchestrationNotRegistered,
            "orchestration '\(name)' version \(version.isEmpty ? "(any)" : version) is not registered on this node, which has \(has); registered: \(registry.summary)",
            instanceID: instanceID,
            name: name,
            version: version
        )
    }
}
