import Foundation

/// Writes JSON text byte for byte as ``JSONEncoder/durable`` does (keys sorted, slashes not
/// escaped, dates as milliseconds since 1970), for the values written on every turn: history
/// events, activity requests and messages. Going through `Codable` cost about a sixth of a node's
/// CPU in fanout5; writing the bytes directly costs a fraction of it.
///
/// A value it cannot write exactly as `JSONEncoder` would (a number with a fraction, a dictionary
/// key beyond ASCII, a kind it leaves to `Codable`) makes a write method return `false`; the
/// caller then encodes the whole value with `JSONEncoder`. `DurableJSONTests` compares both for
/// every kind of event.
struct JSONTextWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the next key or element needs a comma before it.
    private var needsComma = false

    init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    var text: String { String(decoding: self.bytes, as: UTF8.self) }

    mutating func beginObject() {
        self.separate()
        self.bytes.append(UInt8(ascii: "{"))
        self.needsComma = false
    }

    mutating func endObject() {
        self.bytes.append(UInt8(ascii: "}"))
        self.needsComma = true
    }

    mutating func beginArray() {
        self.separate()
        self.bytes.append(UInt8(ascii: "["))
        self.needsComma = false
    }

    mutating func endArray() {
        self.bytes.append(UInt8(ascii: "]"))
        self.needsComma = true
    }

    /// A key; `name` is ASCII and needs no escaping. The value follows.
    mutating func key(_ name: StaticString) {
        self.separate()
        self.bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { self.bytes.append(contentsOf: $0) }
        self.bytes.append(UInt8(ascii: "\""))
        self.bytes.append(UInt8(ascii: ":"))
        self.needsComma = false
    }

    mutating func string(_ value: String) {
        self.separate()
        self.bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                self.escape(byte)
                start = index + 1
            }
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        self.bytes.append(UInt8(ascii: "\""))
        self.needsComma = true
    }

    mutating func int(_ value: some BinaryInteger) {
        self.separate()
        self.bytes.append(contentsOf: value.description.utf8)
        self.needsComma = true
    }

    /// A number without a fraction, as `JSONEncoder` writes it; `false` (nothing written) for one
    /// with a fraction, negative zero or a magnitude whose formatting differs.
    mutating func integral(_ value: Double) -> Bool {
        guard value.rounded(.towardZero) == value, abs(value) < 1e15, !(value == 0 && value.sign == .minus) else { return false }
        self.int(Int64(value))
        return true
    }

    /// A date as `.millisecondsSince1970` writes it.
    mutating func date(_ value: Date) -> Bool {
        self.integral(value.timeIntervalSince1970 * 1000)
    }

    /// A duration as its `Codable` conformance writes it: the high and low words of its attoseconds.
    mutating func duration(_ value: Duration) {
        let (seconds, attoseconds) = value.components
        let total = Int128(seconds) * 1_000_000_000_000_000_000 + Int128(attoseconds)
        self.beginArray()
        self.int(Int64(truncatingIfNeeded: total >> 64))
        self.int(UInt64(truncatingIfNeeded: total))
        self.endArray()
    }

    /// A dictionary of strings with its keys sorted; `false` when a key is not ASCII (the order
    /// `JSONEncoder` gives those is left to it).
    mutating func stringDictionary(_ value: [String: String]) -> Bool {
        guard value.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) else { return false }
        self.beginObject()
        for key in value.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            self.string(key)
            self.bytes.append(UInt8(ascii: ":"))
            self.needsComma = false
            self.string(value[key]!)
        }
        self.endObject()
        return true
    }

    private mutating func separate() {
        if self.needsComma { self.bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func escape(_ byte: UInt8) {
        self.bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): self.bytes.append(byte)
        case 0x08: self.bytes.append(UInt8(ascii: "b"))
        case 0x09: self.bytes.append(UInt8(ascii: "t"))
        case 0x0A: self.bytes.append(UInt8(ascii: "n"))
        case 0x0C: self.bytes.append(UInt8(ascii: "f"))
        case 0x0D: self.bytes.append(UInt8(ascii: "r"))
        default:
            // A control character: \u00XX in lowercase hex, as JSONEncoder writes it.
            let hex: StaticString = "0123456789abcdef"
            self.bytes.append(UInt8(ascii: "u"))
            self.bytes.append(UInt8(ascii: "0"))
            self.bytes.append(UInt8(ascii: "0"))
            hex.withUTF8Buffer { digits in
                self.bytes.append(digits[Int(byte >> 4)])
                self.bytes.append(digits[Int(byte & 0xF)])
            }
        }
    }
}
