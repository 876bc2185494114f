import Foundation

/// Reads the JSON of the values read on every turn (history events, message kinds, activity
/// requests) directly from its bytes, as their `Codable` conformances would decode them, without
/// `JSONDecoder`'s generic machinery (about a seventh of a node's CPU when it replays); and checks
/// payloads against JSON's grammar.
///
/// It reads only what it can read exactly: any value it does not expect (a malformed document, a
/// number with a fraction where an integer belongs, a kind it leaves to `Codable`, an event from
/// a newer release) makes a read return `nil`, and the caller decodes the text with `JSONDecoder`,
/// which gives the value or the error. Keys may come in any order, with whitespace, and unknown
/// keys are skipped, as `Codable` does.
struct JSONTextReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Whether only whitespace is left.
    mutating func atEnd() -> Bool {
        self.skipWhitespace()
        return self.index == self.bytes.count
    }

    /// Reads an object, calling `field` with each key (its raw bytes: the keys read here have no
    /// escapes) positioned at its value, which `field` must read or skip.
    mutating func object(_ field: (inout JSONTextReader, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        guard self.consume(UInt8(ascii: "{")) else { return false }
        if self.consume(UInt8(ascii: "}")) { return true }
        while true {
            guard let key = self.rawKey(), self.consume(UInt8(ascii: ":")), field(&self, key) else { return false }
            if self.consume(UInt8(ascii: "}")) { return true }
            guard self.consume(UInt8(ascii: ",")) else { return false }
        }
    }

    /// Reads an array, calling `element` positioned at each element.
    mutating func array(_ element: (inout JSONTextReader) -> Bool) -> Bool {
        guard self.consume(UInt8(ascii: "[")) else { return false }
        if self.consume(UInt8(ascii: "]")) { return true }
        while true {
            guard element(&self) else { return false }
            if self.consume(UInt8(ascii: "]")) { return true }
            guard self.consume(UInt8(ascii: ",")) else { return false }
        }
    }

    /// Whether the value is `null` (read if so): what `decodeIfPresent` takes as absent.
    mutating func null() -> Bool {
        self.skipWhitespace()
        return self.literal("null")
    }

    mutating func string() -> String? {
        self.skipWhitespace()
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else { return nil }
        self.index += 1
        let start = self.index
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
                self.index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return self.escapedString(from: start) }
            guard byte >= 0x20 else { return nil }
            self.index += 1
        }
        return nil
    }

    /// An integer written without fraction or exponent, as `Int`'s decoding accepts it.
    mutating func int() -> Int? {
        guard let (magnitude, negative) = self.digits(), magnitude <= UInt64(Int.max) else { return nil }
        return negative ? -Int(magnitude) : Int(magnitude)
    }

    mutating func uint64() -> UInt64? {
        guard let (magnitude, negative) = self.digits(), !negative || magnitude == 0 else { return nil }
        return magnitude
    }

    mutating func int64() -> Int64? {
        self.int().map(Int64.init)
    }

    /// A date written as whole milliseconds since 1970, as `.millisecondsSince1970` decodes it.
    mutating func date() -> Date? {
        guard let milliseconds = self.int(), abs(milliseconds) < 1 << 53 else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// A duration as its `Codable` conformance writes it: the high and low words of its attoseconds.
    mutating func duration() -> Duration? {
        var high: Int64?
        var low: UInt64?
        guard self.array({ reader in
            if high == nil {
                high = reader.int64()
                return high != nil
            }
            guard low == nil else { return false }
            low = reader.uint64()
            return low != nil
        }), let high, let low else { return nil }
        let attoseconds = Int128(high) << 64 | Int128(low)
        let (seconds, remainder) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
        guard let whole = Int64(exactly: seconds) else { return nil }
        return Duration(secondsComponent: whole, attosecondsComponent: Int64(remainder))
    }

    /// Skips any value, checking it against JSON's grammar: the values read with it are JSON
    /// whenever it returns `true`. Nesting deeper than `JSONDecoder` reads is left to it.
    mutating func skip(depth: Int = 0) -> Bool {
        self.skipWhitespace()
        guard self.index < self.bytes.count, depth < 512 else { return false }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"): return self.object { reader, _ in reader.skip(depth: depth + 1) }
        case UInt8(ascii: "["): return self.array { $0.skip(depth: depth + 1) }
        case UInt8(ascii: "\""): return self.string() != nil
        case UInt8(ascii: "t"): return self.literal("true")
        case UInt8(ascii: "f"): return self.literal("false")
        case UInt8(ascii: "n"): return self.literal("null")
        default: return self.number()
        }
    }

    /// A number as JSON writes one: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    private mutating func number() -> Bool {
        _ = self.consumeRaw(UInt8(ascii: "-"))
        if !self.consumeRaw(UInt8(ascii: "0")) {
            guard self.index < self.bytes.count, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(self.bytes[self.index]) else { return false }
            self.skipDigits()
        }
        if self.consumeRaw(UInt8(ascii: ".")) {
            guard self.skipDigits() else { return false }
        }
        if self.consumeRaw(UInt8(ascii: "e")) || self.consumeRaw(UInt8(ascii: "E")) {
            if !self.consumeRaw(UInt8(ascii: "+")) { _ = self.consumeRaw(UInt8(ascii: "-")) }
            guard self.skipDigits() else { return false }
        }
        return true
    }

    /// Skips digits; whether there was one.
    @discardableResult
    private mutating func skipDigits() -> Bool {
        let start = self.index
        while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) { self.index += 1 }
        return self.index > start
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let matches = word.withUTF8Buffer { word in
            self.bytes.count - self.index >= word.count && UnsafeBufferPointer(rebasing: self.bytes[self.index..<self.index + word.count]).elementsEqual(word)
        }
        if matches { self.index += word.utf8CodeUnitCount }
        return matches
    }

    private mutating func rawKey() -> UnsafeBufferPointer<UInt8>? {
        self.skipWhitespace()
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else { return nil }
        let start = self.index + 1
        var end = start
        while end < self.bytes.count, self.bytes[end] != UInt8(ascii: "\"") {
            guard self.bytes[end] != UInt8(ascii: "\\") else { return nil }
            end += 1
        }
        guard end < self.bytes.count else { return nil }
        self.index = end + 1
        return UnsafeBufferPointer(rebasing: self.bytes[start..<end])
    }

    private mutating func digits() -> (UInt64, Bool)? {
        self.skipWhitespace()
        let negative = self.consume(UInt8(ascii: "-"))
        let start = self.index
        var magnitude: UInt64 = 0
        while self.index < self.bytes.count, case let digit = self.bytes[self.index] &- UInt8(ascii: "0"), digit < 10 {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            self.index += 1
        }
        // No digits, a leading zero, or a fraction or exponent after them: left to the decoder.
        guard self.index > start, self.index - start == 1 || self.bytes[start] != UInt8(ascii: "0") else { return nil }
        if self.index < self.bytes.count {
            let next = self.bytes[self.index]
            guard next != UInt8(ascii: "."), next != UInt8(ascii: "e"), next != UInt8(ascii: "E") else { return nil }
        }
        return (magnitude, negative)
    }

    private mutating func escapedString(from start: Int) -> String? {
        var utf8 = Array(UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]))
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard self.index < self.bytes.count else { return nil }
                let escaped = self.bytes[self.index]
                self.index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = self.hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate: only a low one may follow.
                        guard self.consumeRaw(UInt8(ascii: "\\")), self.consumeRaw(UInt8(ascii: "u")), let low = self.hex4(), (0xDC00..<0xE000).contains(low)
                        else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    return nil
                }
            default:
                guard byte >= 0x20 else { return nil }
                utf8.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard self.bytes.count - self.index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            self.index += 1
        }
        return value
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        self.skipWhitespace()
        return self.consumeRaw(byte)
    }

    private mutating func consumeRaw(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether the bytes are `key`'s.
    func equals(_ key: StaticString) -> Bool {
        key.withUTF8Buffer { self.elementsEqual($0) }
    }
}
