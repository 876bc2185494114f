import Foundation
import Metrics
import OTel
import Prometheus
import ServiceLifecycle
import Tracing

/// The worker's metrics and traces backends. Metrics always go to a Prometheus registry (served on
/// `/metrics` when `--http-port` is set); when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, metrics and
/// traces are also exported over OTLP/HTTP with swift-otel, configured by the standard `OTEL_*`
/// variables (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, …).
/// The executable bootstraps the global systems; the libraries are handed the factory and tracer.
struct Telemetry {
    let prometheus: PrometheusCollectorRegistry
    let metricsFactory: any MetricsFactory
    let tracer: any Tracer
    /// The exporters' services: run them before the runtime, so they stop after it and flush.
    let services: [any Service]

    static func bootstrap(serviceName: String) throws -> Telemetry {
        let prometheus = PrometheusCollectorRegistry()
        let prometheusFactory = PrometheusMetricsFactory(registry: prometheus)
        guard ProcessInfo.processInfo.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil else {
            MetricsSystem.bootstrap(prometheusFactory)
            return Telemetry(prometheus: prometheus, metricsFactory: prometheusFactory, tracer: NoOpTracer(), services: [])
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        // Logs stay on stderr (swift-log); OTLP carries metrics and traces.
        configuration.logs.enabled = false
        let traces = try OTel.makeTracingBackend(configuration: configuration)
        let metrics = try OTel.makeMetricsBackend(configuration: configuration)
        let factory = MultiplexMetricsHandler(factories: [prometheusFactory, metrics.factory])
        MetricsSystem.bootstrap(factory)
        InstrumentationSystem.bootstrap(traces.factory)
        return Telemetry(prometheus: prometheus, metricsFactory: factory, tracer: traces.factory, services: [traces.service, metrics.service])
    }
}
