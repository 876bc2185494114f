import Tracing

/// A trace context as it travels through the provider, with a start request, an activity task or a
/// child's start: the tracer's propagation fields (with OpenTelemetry, W3C `traceparent` and
/// `tracestate`). Stored inside the JSON of the start event and of the activity request, so it
/// needs no column of its own; `nil` when no tracer is bootstrapped.
public typealias TraceCarrier = [String: String]

struct TraceCarrierInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout TraceCarrier) {
        carrier[key] = value
    }
}

struct TraceCarrierExtractor: Extractor {
    func extract(key: String, from carrier: TraceCarrier) -> String? {
        carrier[key]
    }
}

extension Tracer {
    /// The fields that carry `context` to another process; `nil` when the tracer adds none.
    func carrier(for context: ServiceContext) -> TraceCarrier? {
        var carrier: TraceCarrier = [:]
        self.inject(context, into: &carrier, using: TraceCarrierInjector())
        return carrier.isEmpty ? nil : carrier
    }

    /// The context `carrier` brought from another process (top level without one).
    func context(from carrier: TraceCarrier?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let carrier { self.extract(carrier, into: &context, using: TraceCarrierExtractor()) }
        return context
    }
}
