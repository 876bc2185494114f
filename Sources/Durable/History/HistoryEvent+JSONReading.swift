import Foundation

// History events and message kinds read directly (`JSONTextReader`) as their `Codable`
// conformances decode them: fields set as stored (no initializer's normalization), optionals absent
// or null as nil, unknown keys skipped. Each returns nil for what it leaves to `JSONDecoder`.

extension HistoryEvent {
    init?(reading reader: inout JSONTextReader) {
        var version = 1
        var sequenceNumber: Int?
        var timestamp: Date?
        var kind: Kind?
        let read = reader.object { reader, key in
            if key.equals("kind") { return assign(&kind, Kind(reading: &reader)) }
            if key.equals("seq") { return assign(&sequenceNumber, reader.int()) }
            if key.equals("ts") { return assign(&timestamp, reader.date()) }
            if key.equals("v") {
                guard !reader.null() else { return true }
                guard let value = reader.int() else { return false }
                version = value
                return true
            }
            return reader.skip()
        }
        // A newer format is left to the decoder, which names it in its error.
        guard read, version <= Self.schemaVersion, let sequenceNumber, let timestamp, let kind else { return nil }
        self.init(sequenceNumber: sequenceNumber, timestamp: timestamp, kind: kind)
    }
}

extension HistoryEvent.Kind {
    init?(reading reader: inout JSONTextReader) {
        var kind: Self?
        var cases = 0
        let read = reader.object { reader, key in
            cases += 1
            var fields = KindFields()
            guard reader.object({ fields.read($1, from: &$0) }) else { return false }
            kind = fields.kind(named: key)
            return kind != nil
        }
        // An enum is one key: more is the decoder's error to give.
        guard read, cases == 1, let kind else { return nil }
        self = kind
    }
}

/// The fields of an event kind's object (or of an activity request), by key: a key has one type
/// in every kind.
private struct KindFields {
    var operationID: Int?
    var name: String?
    var input: Payload?
    var result: Payload?
    var output: Payload?
    var failure: FailureDetails?
    var traceContext: TraceCarrier?
    var reason: String?
    var by: String?
    var retry: RetryPolicy?
    var timeout: Duration?
    var heartbeatTimeout: Duration?
    var queue: String?
    var rateLimit: String?
    var priority: Int?
    var fireAt: Date?
    var version: String?
    var instanceID: String?
    var pattern: String?
    var started: HistoryEvent.ExecutionStarted?

    mutating func read(_ key: UnsafeBufferPointer<UInt8>, from reader: inout JSONTextReader) -> Bool {
        // null is what `decodeIfPresent` takes as absent; a required field left nil fails below.
        if reader.null() { return true }
        if key.equals("operationID") { return assign(&self.operationID, reader.int()) }
        if key.equals("name") { return assign(&self.name, reader.string()) }
        if key.equals("input") { return assign(&self.input, reader.string().map(Payload.init(json:))) }
        if key.equals("result") { return assign(&self.result, reader.string().map(Payload.init(json:))) }
        if key.equals("output") { return assign(&self.output, reader.string().map(Payload.init(json:))) }
        if key.equals("failure") { return assign(&self.failure, FailureDetails(reading: &reader)) }
        if key.equals("traceContext") { return assign(&self.traceContext, reader.stringDictionary()) }
        if key.equals("reason") { return assign(&self.reason, reader.string()) }
        if key.equals("by") { return assign(&self.by, reader.string()) }
        if key.equals("retry") { return assign(&self.retry, RetryPolicy(reading: &reader)) }
        if key.equals("timeout") { return assign(&self.timeout, reader.duration()) }
        if key.equals("heartbeatTimeout") { return assign(&self.heartbeatTimeout, reader.duration()) }
        if key.equals("queue") { return assign(&self.queue, reader.string()) }
        if key.equals("rateLimit") { return assign(&self.rateLimit, reader.string()) }
        if key.equals("priority") { return assign(&self.priority, reader.int()) }
        if key.equals("fireAt") { return assign(&self.fireAt, reader.date()) }
        if key.equals("version") { return assign(&self.version, reader.string()) }
        if key.equals("instanceID") { return assign(&self.instanceID, reader.string()) }
        if key.equals("pattern") { return assign(&self.pattern, reader.string()) }
        if key.equals("_0") { return assign(&self.started, HistoryEvent.ExecutionStarted(reading: &reader)) }
        return reader.skip()
    }

    func kind(named key: UnsafeBufferPointer<UInt8>) -> HistoryEvent.Kind? {
        if key.equals("turnStarted") { return .turnStarted }
        if key.equals("activityScheduled") {
            guard let operationID, let name, let input, let retry else { return nil }
            return .activityScheduled(
                operationID: operationID, name: name, input: input, retry: retry, timeout: self.timeout, heartbeatTimeout: self.heartbeatTimeout,
                queue: self.queue, rateLimit: self.rateLimit, priority: self.priority
            )
        }
        if key.equals("activityCompleted") {
            guard let operationID, let result else { return nil }
            return .activityCompleted(operationID: operationID, result: result)
        }
        if key.equals("activityFailed") {
            guard let operationID, let failure else { return nil }
            return .activityFailed(operationID: operationID, failure: failure)
        }
        if key.equals("executionStarted") { return self.started.map { .executionStarted($0) } }
        if key.equals("executionCompleted") { return self.output.map { .executionCompleted(output: $0) } }
        if key.equals("timerCreated") {
            guard let operationID, let fireAt else { return nil }
            return .timerCreated(operationID: operationID, fireAt: fireAt)
        }
        if key.equals("timerFired") { return self.operationID.map { .timerFired(operationID: $0) } }
        if key.equals("eventRaised") {
            guard let name, let input else { return nil }
            return .eventRaised(name: name, input: input, traceContext: self.traceContext)
        }
        if key.equals("subOrchestrationScheduled") {
            guard let operationID, let name, let instanceID, let input else { return nil }
            return .subOrchestrationScheduled(
                operationID: operationID, name: name, version: self.version, instanceID: instanceID, input: input, queue: self.queue, priority: self.priority
            )
        }
        if key.equals("subOrchestrationCompleted") {
            guard let operationID, let result else { return nil }
            return .subOrchestrationCompleted(operationID: operationID, result: result)
        }
        if key.equals("subOrchestrationFailed") {
            guard let operationID, let failure else { return nil }
            return .subOrchestrationFailed(operationID: operationID, failure: failure)
        }
        if key.equals("cancelRequested") { return self.reason.map { .cancelRequested(reason: $0, by: self.by) } }
        if key.equals("cooperativeCancelRequested") { return self.reason.map { .cooperativeCancelRequested(reason: $0, by: self.by) } }
        if key.equals("operationCancelled") { return self.operationID.map { .operationCancelled(operationID: $0) } }
        if key.equals("topicSubscribed") { return self.pattern.map { .topicSubscribed(pattern: $0) } }
        if key.equals("topicUnsubscribed") { return self.pattern.map { .topicUnsubscribed(pattern: $0) } }
        if key.equals("executionFailed") { return self.failure.map { .executionFailed(failure: $0) } }
        if key.equals("executionCancelled") { return self.reason.map { .executionCancelled(reason: $0) } }
        if key.equals("continuedAsNew") { return self.input.map { .continuedAsNew(input: $0, version: self.version) } }
        // Pauses, resumptions, updates and resets: left to the decoder.
        return nil
    }
}

extension ActivityRequest {
    init?(reading reader: inout JSONTextReader) {
        var fields = KindFields()
        guard reader.object({ fields.read($1, from: &$0) }), let operationID = fields.operationID, let name = fields.name, let input = fields.input,
            let retry = fields.retry
        else { return nil }
        self.init(
            operationID: operationID, name: name, input: input, retry: retry, timeout: fields.timeout, heartbeatTimeout: fields.heartbeatTimeout,
            queue: fields.queue, rateLimit: fields.rateLimit, traceContext: fields.traceContext
        )
        // As stored: the initializer's normalization is for new requests.
        self.priority = fields.priority
    }
}

extension HistoryEvent.ExecutionStarted {
    fileprivate init?(reading reader: inout JSONTextReader) {
        var name: String?
        var version: String?
        var input: Payload?
        var executionID: String?
        var parent: HistoryEvent.ParentReference?
        var traceContext: TraceCarrier?
        var queue: String?
        var priority: Int?
        let read = reader.object { reader, key in
            if reader.null() { return true }
            if key.equals("name") { return assign(&name, reader.string()) }
            if key.equals("version") { return assign(&version, reader.string()) }
            if key.equals("input") { return assign(&input, reader.string().map(Payload.init(json:))) }
            if key.equals("executionID") { return assign(&executionID, reader.string()) }
            if key.equals("parent") { return assign(&parent, HistoryEvent.ParentReference(reading: &reader)) }
            if key.equals("traceContext") { return assign(&traceContext, reader.stringDictionary()) }
            if key.equals("queue") { return assign(&queue, reader.string()) }
            if key.equals("priority") { return assign(&priority, reader.int()) }
            return reader.skip()
        }
        guard read, let name, let version, let input, let executionID else { return nil }
        self.init(name: name, version: version, input: input, executionID: executionID, parent: parent, traceContext: traceContext)
        // As stored: the initializer's normalization is for new starts.
        self.queue = queue
        self.priority = priority
    }
}

extension HistoryEvent.ParentReference {
    fileprivate init?(reading reader: inout JSONTextReader) {
        var instanceID: String?
        var executionID: String?
        var operationID: Int?
        let read = reader.object { reader, key in
            if key.equals("instanceID") { return assign(&instanceID, reader.string()) }
            if key.equals("executionID") { return assign(&executionID, reader.string()) }
            if key.equals("operationID") { return assign(&operationID, reader.int()) }
            return reader.skip()
        }
        guard read, let instanceID, let executionID, let operationID else { return nil }
        self.init(instanceID: instanceID, executionID: executionID, operationID: operationID)
    }
}

extension FailureDetails {
    fileprivate init?(reading reader: inout JSONTextReader) {
        var type: String?
        var message: String?
        var code: String?
        let read = reader.object { reader, key in
            if key.equals("type") { return assign(&type, reader.string()) }
            if key.equals("message") { return assign(&message, reader.string()) }
            if key.equals("code") {
                if reader.null() { return true }
                code = reader.string()
                return code != nil
            }
            return reader.skip()
        }
        guard read, let type, let message else { return nil }
        self.init(type: type, message: message, code: code)
    }
}

extension RetryPolicy {
    fileprivate init?(reading reader: inout JSONTextReader) {
        var maxAttempts: Int?
        var initialInterval: Duration?
        var backoffCoefficient: Int?
        var maximumInterval: Duration?
        var nonRetryable: Set<String>?
        let read = reader.object { reader, key in
            if key.equals("maxAttempts") { return assign(&maxAttempts, reader.int()) }
            if key.equals("initialInterval") { return assign(&initialInterval, reader.duration()) }
            if key.equals("backoffCoefficient") {
                // Whole coefficients only; one with a fraction is left to the decoder.
                backoffCoefficient = reader.int()
                return backoffCoefficient != nil
            }
            if key.equals("maximumInterval") { return assign(&maximumInterval, reader.duration()) }
            if key.equals("nonRetryableErrorTypes") {
                var types = Set<String>()
                guard reader.array({ reader in reader.string().map { types.insert($0) } != nil }) else { return false }
                nonRetryable = types
                return true
            }
            return reader.skip()
        }
        guard read, let maxAttempts, let initialInterval, let backoffCoefficient, let maximumInterval, let nonRetryable else { return nil }
        // As stored, without the initializer's clamping.
        self.init(maxAttempts: 1)
        self.maxAttempts = maxAttempts
        self.initialInterval = initialInterval
        self.backoffCoefficient = Double(backoffCoefficient)
        self.maximumInterval = maximumInterval
        self.nonRetryableErrorTypes = nonRetryable
    }
}

extension JSONTextReader {
    /// An object of strings.
    fileprivate mutating func stringDictionary() -> [String: String]? {
        var dictionary: [String: String] = [:]
        let read = self.object { reader, key in
            // Keys read raw have no escapes; a key beyond ASCII is left to the decoder.
            guard key.allSatisfy({ $0 < 0x80 }), let value = reader.string() else { return false }
            dictionary[String(decoding: key, as: UTF8.self)] = value
            return true
        }
        return read ? dictionary : nil
    }
}

/// Sets a field to the value read; whether there was one.
private func assign<T>(_ field: inout T?, _ value: T?) -> Bool {
    field = value
    return value != nil
}
