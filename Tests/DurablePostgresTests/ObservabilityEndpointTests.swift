import Durable
import DurablePostgres
import DurableTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A worker process serving its metrics and health endpoints over HTTP, scraped as Prometheus would.
@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "DURABLE_TEST_DATABASE_URL is not set"))
struct ObservabilityEndpointTests {
    @Test func aScrapedWorkerShowsCountersMoveAsWorkRuns() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: WorkerFleet.executable.path), "build the example first: swift build")
        let (fleet, instance) = try await WorkerFleet.onFreshSchema()
        defer { fleet.tearDown(removing: instance) }
        // Port 0: the kernel picks a free port, which the worker logs once it listens.
        try fleet.start(
            nodeID: "scraped",
            arguments: ["--http-port", "0", "--http-host", "127.0.0.1", "--heartbeat-milliseconds", "200", "--activity-delay-milliseconds", "1"]
        )
        let log = fleet.logDirectory.appendingPathComponent("scraped.log")
        let deadline = ContinuousClock.now + .seconds(60)
        var port: Int?
        while port == nil {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").lazy.compactMap { line in
                line.range(of: "listening on 127.0.0.1:").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
            }.first
            try #require(ContinuousClock.now < deadline, "the worker never listened; its log:\n\(text.suffix(4_000))")
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let base = "http://127.0.0.1:\(port!)"
        // The worker is ready once it is registered with a current schema.
        while try await HTTP.get(base + "/health/ready")?.status != 200 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try #require(ContinuousClock.now < deadline, "the worker never became ready; its log:\n\(text.suffix(4_000))")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await HTTP.get(base + "/health/live")?.status == 200)
        let before = try await Scrape(base)

        let client = DurableClient(provider: instance.provider)
        let count = 5
        for i in 0..<count {
            let order = #"{"id":"o\#(i)","customer":"c\#(i)","items":["book"],"totalCents":\#(1000 + i),"coolingOffMilliseconds":10}"#
            try await client.start(name: "ProcessOrder", input: Payload(json: order), instanceID: "order-\(i)")
        }
        for i in 0..<count {
            let info = try await client.waitForCompletion(instanceID: "order-\(i)", timeout: .seconds(60))
            #expect(info.status == .completed)
        }
        // A turn's metrics are recorded just after its commit, which the client may see first:
        // scrape until the last instance's show.
        var after = try await Scrape(base)
        while after.sum("durable_instances_finished_total", where: ["status": "completed"]) < Double(count), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            after = try await Scrape(base)
        }
        #expect(after.sum("durable_instances_finished_total", where: ["orchestration": "ProcessOrder", "status": "completed"]) == Double(count))
        #expect(after.sum("durable_turns_total", where: ["outcome": "committed"]) >= before.sum("durable_turns_total", where: ["outcome": "committed"]) + Double(count * 2))
        #expect(after.sum("durable_activity_attempts_total", where: ["outcome": "completed"]) >= Double(count * 3))
        #expect(after.sum("durable_claims_total") > before.sum("durable_claims_total"))
        #expect(after.sum("durable_statement_duration_seconds_count", where: ["statement": "commit_turn"]) > 0)
        #expect(after.sum("durable_start_to_first_turn_seconds_count") >= Double(count))
        #expect(after.sum("durable_timer_lag_seconds_count") >= Double(count))
        #expect(after.sum("durable_heartbeats_total") > 0)
        #expect(after.sum("durable_nodes_alive") == 1)
        // Labels are bounded: no instance id ever appears in a series.
        #expect(!after.text.contains("order-0"))
    }
}

/// One scrape of `/metrics`, parsed from Prometheus' text format.
struct Scrape {
    let text: String
    let samples: [(name: String, labels: [String: String], value: Double)]

    init(_ base: String) async throws {
        let response = try #require(try await HTTP.get(base + "/metrics"))
        #expect(response.status == 200)
        self.text = response.body
        self.samples = response.body.split(separator: "\n").compactMap { line -> (String, [String: String], Double)? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
            }
            return (String(series[..<brace]), labels, value)
        }
    }

    /// The sum of the series named `name` whose labels include `labels`.
    func sum(_ name: String, where labels: [String: String] = [:]) -> Double {
        self.samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.map(\.value).reduce(0, +)
    }
}

enum HTTP {
    /// GETs `url`; `nil` when nothing listens there yet.
    static func get(_ url: String) async throws -> (status: Int, body: String)? {
        do {
            let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        } catch let error as URLError where error.code == .cannotConnectToHost || error.code == .networkConnectionLost || error.code == .timedOut {
            return nil
        }
    }
}
