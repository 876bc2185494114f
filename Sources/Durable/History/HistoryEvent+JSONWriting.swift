import Foundation

// The JSON of the values stored on every turn, written directly (`JSONTextWriter`) in the form
// their `Codable` conformances give: keys in byte order, optionals left out when nil, an enum case
// as `{"case":{"label":value}}` (`_0` for an unlabelled value). Each returns `false` for what it
// leaves to `JSONEncoder`; the kinds left to it are rare (pause, resume, updates, reset).

extension HistoryEvent {
    func write(to writer: inout JSONTextWriter) -> Bool {
        writer.beginObject()
        writer.key("kind")
        guard self.kind.write(to: &writer) else { return false }
        writer.key("seq")
        writer.int(self.sequenceNumber)
        writer.key("ts")
        guard writer.date(self.timestamp) else { return false }
        writer.key("v")
        writer.int(Self.schemaVersion)
        writer.endObject()
        return true
    }
}

extension HistoryEvent.Kind {
    func write(to writer: inout JSONTextWriter) -> Bool {
        writer.beginObject()
        switch self {
        case .executionStarted(let started):
            writer.key("executionStarted")
            writer.beginObject()
            writer.key("_0")
            guard started.write(to: &writer) else { return false }
            writer.endObject()
        case .turnStarted:
            writer.key("turnStarted")
            writer.beginObject()
            writer.endObject()
        case .activityCompleted(let operationID, let result):
            writer.key("activityCompleted")
            writer.operationResult(operationID, result)
        case .activityFailed(let operationID, let failure):
            writer.key("activityFailed")
            writer.operationFailure(operationID, failure)
        case .timerFired(let operationID):
            writer.key("timerFired")
            writer.operation(operationID)
        case .eventRaised(let name, let input, let traceContext):
            writer.key("eventRaised")
            writer.beginObject()
            writer.key("input")
            writer.string(input.json)
            writer.key("name")
            writer.string(name)
            if let traceContext {
                writer.key("traceContext")
                guard writer.stringDictionary(traceContext) else { return false }
            }
            writer.endObject()
        case .subOrchestrationCompleted(let operationID, let result):
            writer.key("subOrchestrationCompleted")
            writer.operationResult(operationID, result)
        case .subOrchestrationFailed(let operationID, let failure):
            writer.key("subOrchestrationFailed")
            writer.operationFailure(operationID, failure)
        case .cancelRequested(let reason, let by):
            writer.key("cancelRequested")
            writer.cancellation(reason, by)
        case .cooperativeCancelRequested(let reason, let by):
            writer.key("cooperativeCancelRequested")
            writer.cancellation(reason, by)
        case .activityScheduled(let operationID, let name, let input, let retry, let timeout, let heartbeatTimeout, let queue, let rateLimit, let priority):
            writer.key("activityScheduled")
            let request = ActivityRequest(
                operationID: operationID, name: name, input: input, retry: retry, timeout: timeout, heartbeatTimeout: heartbeatTimeout, queue: queue,
                rateLimit: rateLimit, priority: priority
            )
            // The request's init keeps only a priority other than the default, as the decision does.
            guard request.priority == priority, request.write(to: &writer) else { return false }
        case .timerCreated(let operationID, let fireAt):
            writer.key("timerCreated")
            writer.beginObject()
            writer.key("fireAt")
            guard writer.date(fireAt) else { return false }
            writer.key("operationID")
            writer.int(operationID)
            writer.endObject()
        case .subOrchestrationScheduled(let operationID, let name, let version, let instanceID, let input, let queue, let priority):
            writer.key("subOrchestrationScheduled")
            writer.beginObject()
            writer.key("input")
            writer.string(input.json)
            writer.key("instanceID")
            writer.string(instanceID)
            writer.key("name")
            writer.string(name)
            writer.key("operationID")
            writer.int(operationID)
            writer.optional("priority", priority)
            writer.optional("queue", queue)
            writer.optional("version", version)
            writer.endObject()
        case .operationCancelled(let operationID):
            writer.key("operationCancelled")
            writer.operation(operationID)
        case .topicSubscribed(let pattern):
            writer.key("topicSubscribed")
            writer.pattern(pattern)
        case .topicUnsubscribed(let pattern):
            writer.key("topicUnsubscribed")
            writer.pattern(pattern)
        case .executionCompleted(let output):
            writer.key("executionCompleted")
            writer.beginObject()
            writer.key("output")
            writer.string(output.json)
            writer.endObject()
        case .executionFailed(let failure):
            writer.key("executionFailed")
            writer.beginObject()
            writer.key("failure")
            writer.failure(failure)
            writer.endObject()
        case .executionCancelled(let reason):
            writer.key("executionCancelled")
            writer.beginObject()
            writer.key("reason")
            writer.string(reason)
            writer.endObject()
        case .continuedAsNew(let input, let version):
            writer.key("continuedAsNew")
            writer.beginObject()
            writer.key("input")
            writer.string(input.json)
            writer.optional("version", version)
            writer.endObject()
        case .instancePaused, .instanceResumed, .updateRequested, .updateFinished, .executionReset:
            return false
        }
        writer.endObject()
        return true
    }
}

extension HistoryEvent.ExecutionStarted {
    func write(to writer: inout JSONTextWriter) -> Bool {
        writer.beginObject()
        writer.key("executionID")
        writer.string(self.executionID)
        writer.key("input")
        writer.string(self.input.json)
        writer.key("name")
        writer.string(self.name)
        if let parent = self.parent {
            writer.key("parent")
            writer.beginObject()
            writer.key("executionID")
            writer.string(parent.executionID)
            writer.key("instanceID")
            writer.string(parent.instanceID)
            writer.key("operationID")
            writer.int(parent.operationID)
            writer.endObject()
        }
        writer.optional("priority", self.priority)
        writer.optional("queue", self.queue)
        if let traceContext = self.traceContext {
            writer.key("traceContext")
            guard writer.stringDictionary(traceContext) else { return false }
        }
        writer.key("version")
        writer.string(self.version)
        writer.endObject()
        return true
    }
}

extension ActivityRequest {
    func write(to writer: inout JSONTextWriter) -> Bool {
        writer.beginObject()
        if let heartbeatTimeout = self.heartbeatTimeout {
            writer.key("heartbeatTimeout")
            writer.duration(heartbeatTimeout)
        }
        writer.key("input")
        writer.string(self.input.json)
        writer.key("name")
        writer.string(self.name)
        writer.key("operationID")
        writer.int(self.operationID)
        writer.optional("priority", self.priority)
        writer.optional("queue", self.queue)
        writer.optional("rateLimit", self.rateLimit)
        writer.key("retry")
        guard self.retry.write(to: &writer) else { return false }
        if let timeout = self.timeout {
            writer.key("timeout")
            writer.duration(timeout)
        }
        if let traceContext = self.traceContext {
            writer.key("traceContext")
            guard writer.stringDictionary(traceContext) else { return false }
        }
        writer.endObject()
        return true
    }
}

extension RetryPolicy {
    func write(to writer: inout JSONTextWriter) -> Bool {
        writer.beginObject()
        writer.key("backoffCoefficient")
        guard writer.integral(self.backoffCoefficient) else { return false }
        writer.key("initialInterval")
        writer.duration(self.initialInterval)
        writer.key("maxAttempts")
        writer.int(self.maxAttempts)
        writer.key("maximumInterval")
        writer.duration(self.maximumInterval)
        writer.key("nonRetryableErrorTypes")
        writer.beginArray()
        for type in self.nonRetryableErrorTypes { writer.string(type) }
        writer.endArray()
        writer.endObject()
        return true
    }
}

extension JSONTextWriter {
    fileprivate mutating func optional(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        self.string(value)
    }

    fileprivate mutating func optional(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        self.key(key)
        self.int(value)
    }

    fileprivate mutating func failure(_ failure: FailureDetails) {
        self.beginObject()
        self.optional("code", failure.code)
        self.key("message")
        self.string(failure.message)
        self.key("type")
        self.string(failure.type)
        self.endObject()
    }

    fileprivate mutating func operation(_ operationID: Int) {
        self.beginObject()
        self.key("operationID")
        self.int(operationID)
        self.endObject()
    }

    fileprivate mutating func operationResult(_ operationID: Int, _ result: Payload) {
        self.beginObject()
        self.key("operationID")
        self.int(operationID)
        self.key("result")
        self.string(result.json)
        self.endObject()
    }

    fileprivate mutating func operationFailure(_ operationID: Int, _ failure: FailureDetails) {
        self.beginObject()
        self.key("failure")
        self.failure(failure)
        self.key("operationID")
        self.int(operationID)
        self.endObject()
    }

    fileprivate mutating func cancellation(_ reason: String, _ by: String?) {
        self.beginObject()
        self.optional("by", by)
        self.key("reason")
        self.string(reason)
        self.endObject()
    }

    fileprivate mutating func pattern(_ pattern: String) {
        self.beginObject()
        self.key("pattern")
        self.string(pattern)
        self.endObject()
    }
}
