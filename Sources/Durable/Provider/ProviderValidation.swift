/// Input checks every provider applies, so that bad input gets the same typed error everywhere.
public enum ProviderValidation {
    /// Instance ids: 1 to 200 characters, no control characters.
    public static func instanceID(_ id: String) throws(DurableError) {
        try Self.identifier(id, what: "an instance id", instanceID: id)
    }

    /// Ids (of instances, queries, updates): 1 to 200 characters, no control characters.
    static func identifier(_ id: String, what: String, instanceID: String) throws(DurableError) {
        guard !id.isEmpty, id.count <= 200, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DurableError(.invalidInput, "\(what) must be 1 to 200 characters without control characters", instanceID: instanceID)
        }
    }

    /// A start: its id, name, input and priority.
    public static func start(_ request: StartRequest, limit: Int) throws(DurableError) {
        try Self.instanceID(request.instanceID)
        try Self.name(request.name)
        try Self.payload(request.input, limit: limit, what: "the input", instanceID: request.instanceID)
        if let priority = request.priority { try Priority.validate(priority) }
    }

    /// Orchestration and activity names: 1 to 200 characters.
    public static func name(_ name: String) throws(DurableError) {
        guard !name.isEmpty, name.count <= 200 else {
            throw DurableError(.invalidInput, "a name must be 1 to 200 characters", name: name)
        }
    }

    /// A query: a query id and an instance id like instance ids, a name, and an input payload.
    public static func query(id: String, instanceID: String, name: String, input: Payload, limit: Int) throws(DurableError) {
        try Self.instanceID(instanceID)
        try Self.identifier(id, what: "a query id", instanceID: instanceID)
        try Self.name(name)
        try Self.payload(input, limit: limit, what: "the query's input", instanceID: instanceID)
    }

    /// A publication: a valid topic and data within the limit; returns the ``Publication``
    /// envelope subscribers receive, as a payload.
    public static func publication(topic: String, data: Payload, limit: Int) throws(DurableError) -> Payload {
        try TopicPattern.validate(topic: topic)
        try Self.payload(data, limit: limit, what: "the publication's data")
        // The data as it is, not as a JSON string: subscribers decode `Publication<T>`.
        let envelope = Payload(json: "{\"data\":\(data.json),\"topic\":\(try DurableJSON.encode(topic))}")
        try Self.payload(envelope, limit: limit, what: "the publication")
        return envelope
    }

    /// An update: ids like instance ids, a name, an input within the limit.
    public static func update(_ update: UpdateRequest, limit: Int) throws(DurableError) {
        try Self.instanceID(update.instanceID)
        try Self.identifier(update.id, what: "an update id", instanceID: update.instanceID)
        try Self.name(update.name)
        try Self.payload(update.input, limit: limit, what: "the input of update '\(update.name)'", instanceID: update.instanceID)
    }

    /// Update-with-start: the start, the update, and one instance named by both.
    public static func updateWithStart(_ start: StartRequest, _ update: UpdateRequest, limit: Int) throws(DurableError) {
        try Self.start(start, limit: limit)
        try Self.update(update, limit: limit)
        guard start.instanceID == update.instanceID else {
            throw DurableError(.invalidInput, "update-with-start names one instance: '\(start.instanceID)' and '\(update.instanceID)'", instanceID: start.instanceID)
        }
    }

    /// Payloads: at most `limit` bytes of valid JSON text.
    public static func payload(_ payload: Payload, limit: Int, what: String, instanceID: String? = nil) throws(DurableError) {
        guard payload.byteCount <= limit else {
            throw DurableError(
                .payloadTooLarge,
                "\(what) is \(payload.byteCount) bytes, over the limit of \(limit) bytes",
                instanceID: instanceID
            )
        }
        guard payload.isValidJSON else {
            throw DurableError(.invalidInput, "\(what) is not valid JSON: \(payload.abbreviated)", instanceID: instanceID)
        }
    }

    /// Every payload a turn writes.
    /// A start under a concurrency limit: the start as ``DurableProvider/createInstance(_:)`` checks
    /// it, a key that leaves room for `#<n>` in the instance ids, and a limit of at least 1.
    public static func concurrencyStart(_ request: StartRequest, key: String, limit: Int, payloadLimit: Int) throws(DurableError) {
        try Self.start(request, limit: payloadLimit)
        guard !key.isEmpty, key.count <= 170, !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DurableError(.invalidInput, "a start key must be 1 to 170 characters without control characters", name: request.name)
        }
        guard limit >= 1 else { throw DurableError(.invalidInput, "a concurrency limit must be at least 1, not \(limit)", name: request.name) }
    }

    /// A signal-with-start: the start as ``DurableProvider/createInstance(_:)`` checks it, and an
    /// `eventRaised` message with a valid name and data.
    public static func signalWithStart(_ request: StartRequest, event: HistoryEvent.Kind, limit: Int) throws(DurableError) {
        try Self.start(request, limit: limit)
        guard case .eventRaised(let name, let input, _) = event else {
            throw DurableError(.invalidInput, "signal-with-start sends an event, not \(event.name)", instanceID: request.instanceID)
        }
        try Self.name(name)
        try Self.payload(input, limit: limit, what: "the event data", instanceID: request.instanceID)
    }

    public static func turn(_ result: TurnResult, limit: Int, instanceID: String) throws(DurableError) {
        for event in result.newEvents {
            for payload in event.kind.payloads {
                try Self.payload(payload, limit: limit, what: event.kind.payloadDescription, instanceID: instanceID)
            }
        }
        if let status = result.customStatus {
            try Self.payload(status, limit: limit, what: "the custom status", instanceID: instanceID)
        }
    }

    /// An activity outcome as it is recorded: an output over the limit (or not JSON) becomes a
    /// failure with the reason (`payloadTooLarge` or `invalidInput`), which the orchestration can
    /// catch. Recording it as the attempt's outcome, instead of rejecting the completion, keeps the
    /// activity from running again at every lease expiry.
    public static func activityOutcome(_ outcome: ActivityOutcome, limit: Int, taskID: String) -> ActivityOutcome {
        guard case .completed(let output) = outcome else { return outcome }
        do throws(DurableError) {
            try Self.payload(output, limit: limit, what: "the output of activity task '\(taskID)'")
            return outcome
        } catch {
            return .failed(FailureDetails(error))
        }
    }
}

extension Payload {
    /// Checked by `JSONTextReader` first; what it does not take (an escaped key, deep nesting) is
    /// checked again by `JSONDecoder`.
    var isValidJSON: Bool {
        DurableJSON.read(self.json, { $0.skip() ? true : nil }) != nil || (try? self.decode(JSONValidator.self)) != nil
    }
}

/// Decodes any JSON value, to check that a payload parses.
private struct JSONValidator: Decodable {
    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            while !array.isAtEnd { _ = try array.decode(JSONValidator.self) }
        } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys { _ = try object.decode(JSONValidator.self, forKey: key) }
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { return }
            if (try? single.decode(Bool.self)) != nil { return }
            if (try? single.decode(Double.self)) != nil { return }
            _ = try single.decode(String.self)
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension HistoryEvent.Kind {
    /// What the event's payload is, for an error that says which one was too large.
    var payloadDescription: String {
        switch self {
        case .executionStarted(let start): "the input of '\(start.name)'"
        case .executionCompleted: "the orchestration's output"
        case .activityScheduled(_, let name, _, _, _, _, _, _, _): "the input of activity '\(name)'"
        case .subOrchestrationScheduled(_, let name, _, let childID, _, _, _): "the input of sub-orchestration '\(name)' ('\(childID)')"
        case .continuedAsNew: "the input to continue as new with"
        case .eventRaised(let name, _, _): "the data of event '\(name)'"
        case .updateRequested(_, let name, _): "the input of update '\(name)'"
        case .updateFinished(let id, _): "the output of update '\(id)'"
        default: "a payload of \(self.name)"
        }
    }

    /// The user payloads the event carries.
    var payloads: [Payload] {
        switch self {
        case .executionStarted(let start): [start.input]
        case .activityCompleted(_, let result), .subOrchestrationCompleted(_, let result): [result]
        case .eventRaised(_, let input, _): [input]
        case .activityScheduled(_, _, let input, _, _, _, _, _, _), .subOrchestrationScheduled(_, _, _, _, let input, _, _): [input]
        case .executionCompleted(let output): [output]
        case .continuedAsNew(let input, _): [input]
        case .updateRequested(_, _, let input), .updateFinished(_, .completed(let input)): [input]
        default: []
        }
    }
}
