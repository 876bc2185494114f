/// One numbered SQL file of Migrations/, embedded in the library.
struct Migration: Sendable {
    var version: Int
    var name: String
    var sql: String

    /// FNV-1a of the text without trailing blanks: a changed file is noticed, reformatting line ends
    /// is not.
    var checksum: String {
        Self.checksum(of: Self.normalized(self.sql))
    }

    /// FNV-1a of `text`, in hexadecimal.
    static func checksum(of text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func normalized(_ sql: String) -> String {
        sql.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.replacing(/\s+$/, with: "") }
            .joined(separator: "\n")
            .trimmingCharacters(in: .newlines)
    }

    /// The statements of the file, split at semicolons outside quotes, comments and `$$` bodies
    /// (functions).
    var statements: [String] {
        var statements: [String] = []
        var current = ""
        var inQuote = false
        var inBody = false
        for line in self.sql.split(separator: "\n", omittingEmptySubsequences: false) {
            var text = Substring(line)
            if !inQuote, !inBody, let comment = text.range(of: "--") { text = text[..<comment.lowerBound] }
            var previous: Character?
            for character in text {
                if character == "$" && previous == "$" && !inQuote {
                    inBody.toggle()
                    previous = nil
                } else {
                    previous = character
                }
                if character == "'" && !inBody { inQuote.toggle() }
                if character == ";" && !inQuote && !inBody {
                    statements.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            current.append("\n")
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}

import Foundation
