import Durable
import DurablePostgres
import Hummingbird
import Logging
import Prometheus

/// The worker's HTTP endpoints for operators, served with Hummingbird and run in the worker's
/// ServiceGroup (so it shuts down with the node):
/// - `GET /metrics`: every metric in Prometheus' text format;
/// - `GET /health/live`: 200 while the process serves requests;
/// - `GET /health/ready`: 200 when the database answers, the schema is current and the node is
///   registered; 503 with the reason otherwise.
enum ObservabilityServer {
    static func make(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        provider: PostgresProvider,
        runtime: DurableRuntime,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ in "ok\n" }
        router.get("/health/ready") { _, _ -> Response in
            let problem: String?
            do {
                try await provider.checkReadiness()
                problem = runtime.isRegistered ? nil : "the node is not registered (starting or shutting down)"
            } catch {
                problem = "\(error)"
            }
            guard let problem else { return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n"))) }
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: problem + "\n")))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "durable-worker"),
            logger: logger
        )
    }
}
