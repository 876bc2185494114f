import Durable
import Foundation

/// Drives the engine turn by turn the way a runtime would, keeping the history.
struct EngineHarness {
    let engine: OrchestrationEngine
    let instanceID: String
    var history: [HistoryEvent] = []
    var clock = Date(timeIntervalSince1970: 1_700_000_000)

    init(registry: Registry, instanceID: String = "instance-1") {
        self.init(engine: OrchestrationEngine(registry: registry), instanceID: instanceID)
    }

    init(engine: OrchestrationEngine, instanceID: String = "instance-1") {
        self.engine = engine
        self.instanceID = instanceID
    }

    init(_ build: (inout Registry) throws -> Void, instanceID: String = "instance-1") throws {
        var registry = Registry()
        try build(&registry)
        self.init(registry: registry, instanceID: instanceID)
    }

    @discardableResult
    mutating func turn(_ messages: HistoryEvent.Kind...) throws -> TurnResult {
        try self.turn(messages)
    }

    @discardableResult
    mutating func turn(_ messages: [HistoryEvent.Kind]) throws -> TurnResult {
        self.clock = self.clock.addingTimeInterval(1)
        let result = try self.engine.runTurn(instanceID: self.instanceID, history: self.history, messages: messages, now: self.clock)
        self.history += result.newEvents
        return result
    }

    @discardableResult
    mutating func start<I: Encodable>(_ name: String, _ input: I, version: String = "") throws -> TurnResult {
        try self.turn(.executionStarted(.init(name: name, version: version, input: try Payload(encoding: input), executionID: "exec-1")))
    }

    /// Replays the whole history with no new message: must decide nothing new.
    func replay() throws -> TurnResult {
        try self.engine.runTurn(instanceID: self.instanceID, history: self.history, messages: [], now: self.clock)
    }

    var decisions: [HistoryEvent.Kind] {
        self.history.map(\.kind).filter(\.isOutput)
    }
}

extension TurnResult {
    var scheduledActivities: [ActivityRequest] {
        self.actions.compactMap { if case .scheduleActivity(let request) = $0 { request } else { nil } }
    }

    var output: Payload? {
        if case .completed(let output) = self.outcome { output } else { nil }
    }

    var failure: FailureDetails? {
        if case .failed(let failure) = self.outcome { failure } else { nil }
    }
}

func json<T: Encodable>(_ value: T) -> Payload {
    try! Payload(encoding: value)
}
