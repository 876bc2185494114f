import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Two worker processes export their spans over OTLP/HTTP (swift-otel, JSON encoding) to a small
/// receiver on loopback: the spans of one instance, run partly by each worker, form one trace.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct OTLPExportTests {
    @Test func spansOfOneInstanceFromTwoWorkersFormOneTrace() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let receiver = OTLPReceiver()
        // Port 0: the kernel picks a free one, so the receiver never collides with another socket.
        let (bound, boundPort) = AsyncStream.makeStream(of: Int.self)
        let server = receiver.application { boundPort.yield($0) }
        let serverGroup = ServiceGroup(services: [server], logger: Logger(label: "otlp") { _ in SwiftLogNoOpLogHandler() })
        let serving = Task { try await serverGroup.run() }
        defer { serving.cancel() }
        let port = try #require(await bound.first { _ in true }, "the OTLP receiver did not start")

        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        let environment = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
        ]
        let arguments = ["--heartbeat-milliseconds", "1000", "--activity-delay-milliseconds", "1"]
        let first = try fleet.start(nodeID: "otlp-a", arguments: arguments, environment: environment)

        // Large orders wait for an approval: worker a runs them up to that wait, worker b the rest.
        let client = DurableClient(provider: instance.provider)
        let ids = (0..<3).map { "otlp-order-\($0)" }
        for id in ids {
            let order = #"{"id":"\#(id)","customer":"c","items":["piano"],"totalCents":250000,"coolingOffMilliseconds":10}"#
            try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: id)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        for id in ids {
            while try await client.status(instanceID: id).customStatus?.json != #""awaiting approval""# {
                try #require(ContinuousClock.now < deadline, "\(id) never waited for approval; see \(fleet.logDirectory.path)")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        fleet.stop(first)  // SIGTERM: the exporters flush before the process exits
        let second = try fleet.start(nodeID: "otlp-b", arguments: arguments, environment: environment)
        for id in ids { try await client.raiseEvent(instanceID: id, name: "approval", true) }
        for id in ids {
            #expect(try await client.waitForCompletion(instanceID: id, timeout: .seconds(60)).status == .completed)
        }
        fleet.stop(second)

        // A turn discarded on a loaded machine (its lease lost, a stale history) is an attempt of its
        // own, recorded with an error status; the instance's trace is that of its committed work.
        let spans = receiver.spans.filter { !$0.failed }
        for id in ids {
            let mine = spans.filter { $0.attributes["durable.instance.id"] == id }
            let traces = Set(mine.map(\.traceID))
            #expect(traces.count == 1, "\(id): spans in \(traces.count) traces")
            let turns = mine.filter { $0.name == "durable.turn" }
            #expect(Set(turns.compactMap { $0.attributes["durable.node.id"] }) == ["otlp-a", "otlp-b"], "\(id): turns from both workers")
            #expect(turns.filter { $0.parentSpanID.isEmpty }.count == 1, "\(id): one root (its first turn)")
            #expect(mine.contains { $0.name == "durable.activity" }, "\(id): activity attempts exported")
        }
        #expect(receiver.metricRequests > 0, "metrics were exported too")
    }
}

/// Collects what OTLP/HTTP exporters send (JSON encoding).
final class OTLPReceiver: Sendable {
    struct ReceivedSpan: Sendable {
        var name: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var attributes: [String: String]
        /// The span's status is `error`.
        var failed: Bool
    }

    private let state = Mutex<(spans: [ReceivedSpan], metricRequests: Int)>(([], 0))

    var spans: [ReceivedSpan] { self.state.withLock { $0.spans } }
    var metricRequests: Int { self.state.withLock { $0.metricRequests } }

    /// The receiver on a free loopback port, which `onBound` is given once it listens.
    func application(onBound: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.post("/v1/traces") { request, context -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            self.receive(traces: Data(buffer: body))
            return Self.accepted
        }
        router.post("/v1/metrics") { _, _ -> Response in
            self.state.withLock { $0.metricRequests += 1 }
            return Self.accepted
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in onBound(channel.localAddress?.port ?? 0) }
        )
    }

    private static var accepted: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{}")))
    }

    private func receive(traces data: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        var received: [ReceivedSpan] = []
        for resource in root["resourceSpans"] as? [[String: Any]] ?? [] {
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    var attributes: [String: String] = [:]
                    for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                        guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any] else { continue }
                        attributes[key] = (value["stringValue"] as? String) ?? value["intValue"].map { "\($0)" }
                    }
                    received.append(ReceivedSpan(
                        name: span["name"] as? String ?? "",
                        traceID: span["traceId"] as? String ?? "",
                        spanID: span["spanId"] as? String ?? "",
                        parentSpanID: span["parentSpanId"] as? String ?? "",
                        attributes: attributes,
                        failed: ((span["status"] as? [String: Any])?["code"] as? Int) == 2
                            || ((span["status"] as? [String: Any])?["code"] as? String) == "STATUS_CODE_ERROR"
                    ))
                }
            }
        }
        self.state.withLock { $0.spans += received }
    }
}
