@testable import Durable
import Foundation
import Testing

/// The JSON written directly (`JSONTextWriter`) must be the bytes `JSONEncoder` writes, for every
/// kind it writes, so stored histories and messages do not depend on which path wrote them.
@Suite struct DurableJSONTests {
    static let coder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func coded<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try Self.coder.encode(value), as: UTF8.self)
    }

    /// Every character that needs escaping, a slash, non-ASCII text and JSON inside a string.
    static let awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\"\\/ é😀\u{2028}\u{7F} {\"a\":[1,\"b\"]}"
    static let payload = Payload(json: "{\"items\":[1,2,3],\"note\":\"a \\\"quoted\\\" / path\"}")
    static let failure = FailureDetails(type: "Shop.CardDeclined", message: Self.awkward, code: "activityFailed")
    static let retry = RetryPolicy(
        maxAttempts: 5, initialInterval: .milliseconds(1500), backoffCoefficient: 3, maximumInterval: .seconds(90),
        nonRetryableErrorTypes: ["A.B", "C"]
    )
    static let trace: TraceCarrier = ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=b"]

    /// Each kind the writer handles, with its optionals absent and present.
    static let kinds: [HistoryEvent.Kind] = [
        .executionStarted(.init(name: "Order", version: "2", input: Self.payload, executionID: "e-1")),
        .executionStarted(
            .init(
                name: "Order", version: "", input: .null, executionID: "e-2",
                parent: .init(instanceID: "parent", executionID: "pe", operationID: 7), traceContext: Self.trace, queue: "gpu", priority: 3
            )
        ),
        .turnStarted,
        .activityCompleted(operationID: 1, result: Self.payload),
        .activityFailed(operationID: 2, failure: Self.failure),
        .activityFailed(operationID: 2, failure: FailureDetails(type: "T", message: "m")),
        .timerFired(operationID: 3),
        .eventRaised(name: Self.awkward, input: Self.payload),
        .eventRaised(name: "approve", input: .null, traceContext: Self.trace),
        .subOrchestrationCompleted(operationID: 4, result: .null),
        .subOrchestrationFailed(operationID: 5, failure: Self.failure),
        .cancelRequested(reason: "stop"),
        .cancelRequested(reason: "stop", by: "operator"),
        .cooperativeCancelRequested(reason: Self.awkward, by: "ops"),
        .activityScheduled(operationID: 6, name: "Charge", input: Self.payload, retry: .none, timeout: nil),
        .activityScheduled(
            operationID: -1, name: "Charge", input: Self.payload, retry: Self.retry, timeout: .seconds(-1), heartbeatTimeout: .nanoseconds(5),
            queue: "payments", rateLimit: "card", priority: 9
        ),
        .timerCreated(operationID: 8, fireAt: Date(timeIntervalSince1970: 1_765_000_000.123)),
        .subOrchestrationScheduled(operationID: 9, name: "Ship", version: nil, instanceID: "child", input: .null),
        .subOrchestrationScheduled(operationID: 9, name: "Ship", version: "3", instanceID: "child", input: Self.payload, queue: "q", priority: 1),
        .operationCancelled(operationID: 10),
        .topicSubscribed(pattern: "orders.*"),
        .topicUnsubscribed(pattern: "orders.>"),
        .executionCompleted(output: Self.payload),
        .executionFailed(failure: Self.failure),
        .executionCancelled(reason: "cancelled"),
        .continuedAsNew(input: Self.payload, version: nil),
        .continuedAsNew(input: .null, version: "4"),
    ]

    @Test func writtenKindsAreTheCodedBytes() throws {
        for kind in Self.kinds {
            var writer = JSONTextWriter()
            #expect(kind.write(to: &writer), "\(kind.name) should be written directly")
            #expect(writer.text == (try Self.coded(kind)), "\(kind.name)")
            let event = HistoryEvent(sequenceNumber: 12, timestamp: Date(timeIntervalSince1970: 1_765_000_001.5), kind: kind)
            #expect(try DurableJSON.encode(event) == (try Self.coded(event)), "\(kind.name)")
            #expect(try DurableJSON.decode(HistoryEvent.self, from: DurableJSON.encode(event)) == event)
        }
    }

    @Test func writtenRequestsAreTheCodedBytes() throws {
        let requests = [
            ActivityRequest(operationID: 1, name: "Charge", input: Self.payload, retry: .none, timeout: nil),
            ActivityRequest(
                operationID: 2, name: Self.awkward, input: .null, retry: Self.retry, timeout: .milliseconds(250), heartbeatTimeout: .seconds(30),
                queue: "payments", rateLimit: "card", priority: 2, traceContext: Self.trace
            ),
        ]
        for request in requests {
            var writer = JSONTextWriter()
            #expect(request.write(to: &writer))
            #expect(writer.text == (try Self.coded(request)))
            #expect(try DurableJSON.encode(request) == (try Self.coded(request)))
            let text = try Self.coded(request)
            let read = try #require(Self.read(text, ActivityRequest.init(reading:)))
            #expect(read == (try Self.decoder.decode(ActivityRequest.self, from: Data(text.utf8))))
            #expect(read == request)
        }
    }

    /// What the writer leaves to `JSONEncoder` still comes out as `JSONEncoder` writes it.
    @Test func valuesLeftToTheCoderAreCoded() throws {
        let fallbacks: [HistoryEvent] = [
            // A timestamp with a fraction of a millisecond.
            HistoryEvent(sequenceNumber: 0, timestamp: Date(timeIntervalSince1970: 1_765_000_000.0001), kind: .turnStarted),
            // A backoff coefficient with a fraction.
            HistoryEvent(
                sequenceNumber: 1, timestamp: Date(timeIntervalSince1970: 1),
                kind: .activityScheduled(
                    operationID: 1, name: "a", input: .null, retry: RetryPolicy(maxAttempts: 3, backoffCoefficient: 1.5), timeout: nil
                )
            ),
            // A trace key beyond ASCII.
            HistoryEvent(sequenceNumber: 2, timestamp: Date(timeIntervalSince1970: 2), kind: .eventRaised(name: "e", input: .null, traceContext: ["é": "1", "a": "2"])),
            // Kinds left to the coder.
            HistoryEvent(sequenceNumber: 3, timestamp: Date(timeIntervalSince1970: 3), kind: .instanceResumed(by: "ops", at: Date(timeIntervalSince1970: 4))),
            HistoryEvent(sequenceNumber: 4, timestamp: Date(timeIntervalSince1970: 5), kind: .instancePaused(PauseRecord(by: "ops", reason: "r", at: Date(timeIntervalSince1970: 6)))),
        ]
        for event in fallbacks {
            var writer = JSONTextWriter()
            #expect(!event.write(to: &writer))
            #expect(try DurableJSON.encode(event) == (try Self.coded(event)))
            #expect(try DurableJSON.encode(event.kind) == (try Self.coded(event.kind)))
        }
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    /// Reads `text` directly, as `DurableJSON` does before it falls back to the decoder.
    static func read<T>(_ text: String, _ value: (inout JSONTextReader) -> T?) -> T? {
        DurableJSON.read(text, value)
    }

    @Test func readEventsAreTheDecodedValues() throws {
        for kind in Self.kinds {
            let event = HistoryEvent(sequenceNumber: 3, timestamp: Date(timeIntervalSince1970: 1_765_000_002.25), kind: kind)
            let text = try Self.coded(event)
            let read = try #require(Self.read(text, HistoryEvent.init(reading:)), "\(kind.name) should be read directly")
            #expect(read == (try Self.decoder.decode(HistoryEvent.self, from: Data(text.utf8))), "\(kind.name)")
            #expect(read == event)
            #expect(Self.read(try Self.coded(kind), HistoryEvent.Kind.init(reading:)) == kind)
        }
    }

    /// JSON written by SQL (`json_build_object`: spaces, any key order), with unknown keys and
    /// nulls for absent optionals, reads as the decoder reads it.
    @Test func readsWhatOthersWrite() throws {
        let texts = [
            #"{"eventRaised" : {"name" : "topic orders.*", "input" : "{\"data\":1}", "extra" : [1, {"a": null}, true]}}"#,
            #"{"cancelRequested":{"reason":"r","by":null}}"#,
            #"{ "activityScheduled": { "retry": {"nonRetryableErrorTypes":[],"maximumInterval":[0,0],"maxAttempts":1,"initialInterval":[0,0],"backoffCoefficient":2},"operationID":1,"name":"n","input":"1","timeout":null } }"#,
            #"{"timerFired":{"operationID":-7}}"#,
            #"{"executionFailed":{"failure":{"type":"T","message":"caf\u00e9 \ud83d\ude00 \n","code":null}}}"#,
        ]
        for text in texts {
            let read = try #require(Self.read(text, HistoryEvent.Kind.init(reading:)), "\(text)")
            #expect(read == (try Self.decoder.decode(HistoryEvent.Kind.self, from: Data(text.utf8))), "\(text)")
            #expect(try DurableJSON.decode(HistoryEvent.Kind.self, from: text) == read)
        }
    }

    /// What the reader leaves to `JSONDecoder` is decoded, or fails, as `JSONDecoder` decides.
    @Test func textsLeftToTheDecoder() throws {
        let decoded = [
            // A fraction of a millisecond, a backoff with a fraction, a kind left to the decoder.
            #"{"kind":{"turnStarted":{}},"seq":1,"ts":1765000000000.5,"v":1}"#,
            #"{"kind":{"activityScheduled":{"input":"1","name":"n","operationID":1,"retry":{"backoffCoefficient":1.5,"initialInterval":[0,0],"maxAttempts":1,"maximumInterval":[0,0],"nonRetryableErrorTypes":[]}}},"seq":1,"ts":1,"v":1}"#,
            #"{"kind":{"instanceResumed":{"at":5,"by":"ops"}},"seq":1,"ts":1}"#,
        ]
        for text in decoded {
            #expect(Self.read(text, HistoryEvent.init(reading:)) == nil, "\(text)")
            #expect(try DurableJSON.decode(HistoryEvent.self, from: text) == (try Self.decoder.decode(HistoryEvent.self, from: Data(text.utf8))))
        }
        let failing = [
            #"{"kind":{"turnStarted":{}},"seq":1,"ts":1,"v":2}"#,
            #"{"kind":{"turnStarted":{},"timerFired":{"operationID":1}},"seq":1,"ts":1}"#,
            #"{"kind":{"timerFired":{"operationID":1.5}},"seq":1,"ts":1}"#,
            #"{"kind":{"timerFired":{}},"seq":1,"ts":1}"#,
            #"{"kind":{"turnStarted":{}},"seq":1,"ts":1} trailing"#,
            #"{"kind":{"turnStarted":{}},"seq":1,"ts":1"#,
        ]
        for text in failing {
            #expect(Self.read(text, HistoryEvent.init(reading:)) == nil, "\(text)")
            #expect(throws: DurableError.self) { try DurableJSON.decode(HistoryEvent.self, from: text) }
        }
    }

    /// Payload checks: the reader's grammar takes JSON and only JSON.
    @Test func payloadsAreCheckedAsJSON() {
        let valid = [
            "null", "true", "false", "0", "-0", "12.5e-3", "1E+9", "\"\"", "\"caf\\u00e9 \\n\"", "[]", "{}", " [1, {\"a\": [null, true]}, \"x\"] ",
            #"{"a\"b":1}"#, String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        ]
        let invalid = [
            "", " ", "nul", "tru", "01", "1.", ".5", "1e", "-", "+1", "\"unterminated", "\"bad \\x escape\"", "{\"a\":}", "{\"a\" 1}",
            "{1:2}", "[1] 2", "abc", "\"\u{01}\"", String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ]
        for json in valid { #expect(Payload(json: json).isValidJSON, "\(json)") }
        for json in invalid { #expect(!Payload(json: json).isValidJSON, "\(json)") }
    }
}
