import Foundation

/// The JSON coding of history, messages and payloads, for providers that store them as text.
public enum DurableJSON {
    public static func encode<T: Encodable>(_ value: T) throws(DurableError) -> String {
        try Self.encodeWithCoder(value)
    }

    private static func encodeWithCoder<T: Encodable>(_ value: T) throws(DurableError) -> String {
        do {
            return String(decoding: try JSONEncoder.durable.encode(value), as: UTF8.self)
        } catch {
            throw DurableError(.serialization, "cannot encode \(T.self): \(error)")
        }
    }

    /// A history event, written directly (`JSONTextWriter`) unless it holds what only `JSONEncoder`
    /// writes exactly.
    public static func encode(_ event: HistoryEvent) throws(DurableError) -> String {
        var writer = JSONTextWriter()
        return event.write(to: &writer) ? writer.text : try Self.encodeWithCoder(event)
    }

    /// A message or event kind, written directly like a history event.
    public static func encode(_ kind: HistoryEvent.Kind) throws(DurableError) -> String {
        var writer = JSONTextWriter()
        return kind.write(to: &writer) ? writer.text : try Self.encodeWithCoder(kind)
    }

    /// An activity request, written directly like a history event.
    public static func encode(_ request: ActivityRequest) throws(DurableError) -> String {
        var writer = JSONTextWriter()
        return request.write(to: &writer) ? writer.text : try Self.encodeWithCoder(request)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(DurableError) -> T {
        try Self.decodeWithCoder(type, from: text)
    }

    /// A history event, read directly (`JSONTextReader`) unless it holds what only `JSONDecoder`
    /// reads exactly.
    public static func decode(_ type: HistoryEvent.Type, from text: String) throws(DurableError) -> HistoryEvent {
        if let read = Self.read(text, HistoryEvent.init(reading:)) { return read }
        return try Self.decodeWithCoder(type, from: text)
    }

    /// A message or event kind, read directly like a history event.
    public static func decode(_ type: HistoryEvent.Kind.Type, from text: String) throws(DurableError) -> HistoryEvent.Kind {
        if let read = Self.read(text, HistoryEvent.Kind.init(reading:)) { return read }
        return try Self.decodeWithCoder(type, from: text)
    }

    /// An activity request, read directly like a history event.
    public static func decode(_ type: ActivityRequest.Type, from text: String) throws(DurableError) -> ActivityRequest {
        if let read = Self.read(text, ActivityRequest.init(reading:)) { return read }
        return try Self.decodeWithCoder(type, from: text)
    }

    /// What `value` reads from the whole of `text` directly (`JSONTextReader`); nil when it reads
    /// nothing or leaves more than whitespace.
    static func read<T>(_ text: String, _ value: (inout JSONTextReader) -> T?) -> T? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = JSONTextReader(bytes)
            guard let read = value(&reader), reader.atEnd() else { return nil }
            return read
        }
    }

    private static func decodeWithCoder<T: Decodable>(_ type: T.Type, from text: String) throws(DurableError) -> T {
        do {
            return try JSONDecoder.durable.decode(T.self, from: Data(text.utf8))
        } catch {
            throw DurableError(.serialization, "cannot decode \(T.self) from \(text.prefix(200)): \(error)")
        }
    }
}
