import Foundation
import Tracing

extension DurableRuntime {
    /// The span of a claimed turn: a child of the instance's start span (carried with its start
    /// event), so one instance's turns form one trace whichever node runs them. Replaying the
    /// history inside the turn is part of the turn, not new spans.
    ///
    /// A start that brought no trace context (a client without a tracer) gets one here: the first
    /// turn's span becomes the trace's root, and its context is written into the start event the
    /// turn records, so the instance's later turns, on any node, join that trace.
    func startTurnSpan(_ item: inout OrchestrationWorkItem) -> any Span {
        let start = item.startEvent ?? self.engine.cachedStart(instanceID: item.lease.id)
        let span = self.startSpan("durable.turn", parent: start?.traceContext, instanceID: item.lease.id)
        if start?.traceContext == nil, let carrier = self.tracer.carrier(for: span.context) {
            item.adoptTraceContext(carrier)
        }
        // Raised events belong to their raiser's trace: linked, not parented.
        for message in item.messages {
            if case .eventRaised(_, _, let raiser?) = message.kind {
                span.addLink(SpanLink(context: self.tracer.context(from: raiser), attributes: [:]))
            }
        }
        span.attributes["durable.orchestration.name"] = item.instance.name
        span.attributes["durable.orchestration.version"] = start?.version ?? item.instance.version
        span.attributes["durable.execution.id"] = item.instance.executionID
        span.attributes["durable.lease.epoch"] = Int(item.lease.epoch)
        span.attributes["durable.turn.delivery"] = item.deliveryCount
        span.attributes["durable.turn.messages"] = item.messages.count
        span.attributes["durable.turn.history_events"] = item.historyLength
        return span
    }

    /// A span for work of an instance (a turn, an activity attempt), parented to `parent`.
    func startSpan(_ name: String, parent: TraceCarrier?, instanceID: String) -> any Span {
        let span = self.tracer.startSpan(name, context: self.tracer.context(from: parent), ofKind: .consumer)
        span.attributes["durable.instance.id"] = instanceID
        span.attributes["durable.node.id"] = self.registration.id
        return span
    }

    /// One span per timer the turn delivered, from its due time to the turn that fired it: the lag
    /// is the span's length.
    func traceTimers(_ result: TurnResult, firedAt: Date, turn: ServiceContext) {
        for due in result.timersFired {
            let span = self.tracer.startSpan("durable.timer", context: turn, ofKind: .internal, at: Self.instant(due))
            span.attributes["durable.node.id"] = self.registration.id
            span.end(at: Self.instant(max(due, firedAt)))
        }
    }

    static func instant(_ date: Date) -> DefaultTracerClock.Timestamp {
        DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: UInt64(max(0, date.timeIntervalSince1970) * 1e9))
    }
}

extension OrchestrationWorkItem {
    /// Puts `carrier` into the start message of a new instance, which the turn records as its
    /// history's first event.
    mutating func adoptTraceContext(_ carrier: TraceCarrier) {
        for index in self.messages.indices {
            if case .executionStarted(var start) = self.messages[index].kind, start.traceContext == nil {
                start.traceContext = carrier
                self.messages[index].kind = .executionStarted(start)
            }
        }
    }

    /// How the claimed execution started, when the claim brought it: the first event of a full
    /// history, or the start message of a new instance.
    var startEvent: HistoryEvent.ExecutionStarted? {
        if self.historyOffset == 0, case .executionStarted(let start) = self.history.first?.kind { return start }
        for message in self.messages {
            if case .executionStarted(let start) = message.kind { return start }
        }
        return nil
    }
}
