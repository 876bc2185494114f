import Foundation

/// The JSON coding of history, messages and payloads, for providers that store them as text.
public enum DurableJSON {
    public static func encode<T: Encodable>(_ value: T) throws(DurableError) -> String {
        do {
            return String(decoding: try JSONEncoder.durable.encode(value), as: UTF8.self)
        } catch {
            throw DurableError(.serialization, "cannot encode \(T.self): \(error)")
        }
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(DurableError) -> T {
        do {
            return try JSONDecoder.durable.decode(T.self, from: Data(text.utf8))
        } catch {
            throw DurableError(.serialization, "cannot decode \(T.self) from \(text.prefix(200)): \(error)")
        }
    }
}
