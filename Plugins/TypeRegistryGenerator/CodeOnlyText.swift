/// Swift source with comments and the contents of string literals blanked out (replaced by
/// spaces, newlines kept, so offsets and line numbers still match the file): what is left is
/// code, where a `struct X: Layer` cannot be a word of a doc comment or of a message.
/// Interpolations are blanked with their string; a type cannot be declared inside one.
/// Regex literals are not recognised (Batchwise writes none).
struct CodeOnlyText {
    /// The blanked source.
    let bytes: [UInt8]

    private static let newline = UInt8(ascii: "\n"), space = UInt8(ascii: " "), slash = UInt8(ascii: "/"),
                       star = UInt8(ascii: "*"), quote = UInt8(ascii: "\""), hash = UInt8(ascii: "#"),
                       backslash = UInt8(ascii: "\\"), open = UInt8(ascii: "("), close = UInt8(ascii: ")")

    init(_ source: [UInt8]) {
        var scanner = Scanner(source: source)
        scanner.skipCode(untilClosingParenthesis: false)
        bytes = scanner.output
    }

    private struct Scanner {
        let source: [UInt8]
        var output: [UInt8]
        var position = 0

        init(source: [UInt8]) {
            self.source = source
            output = source
        }

        func byte(at offset: Int) -> UInt8? { offset < source.count ? source[offset] : nil }

        mutating func blank(from start: Int) {
            for offset in start..<min(position, source.count) where output[offset] != CodeOnlyText.newline {
                output[offset] = CodeOnlyText.space
            }
        }

        /// Code up to the end of the file, or (inside an interpolation) to its closing parenthesis.
        mutating func skipCode(untilClosingParenthesis: Bool) {
            var depth = 0
            while let c = byte(at: position) {
                if c == CodeOnlyText.slash, byte(at: position + 1) == CodeOnlyText.slash {
                    let start = position
                    while let d = byte(at: position), d != CodeOnlyText.newline { position += 1 }
                    blank(from: start)
                } else if c == CodeOnlyText.slash, byte(at: position + 1) == CodeOnlyText.star {
                    let start = position
                    skipBlockComment()
                    blank(from: start)
                } else if c == CodeOnlyText.quote || (c == CodeOnlyText.hash && startsRawString()) {
                    let start = position
                    skipString()
                    blank(from: start)
                } else {
                    if untilClosingParenthesis {
                        if c == CodeOnlyText.open { depth += 1 }
                        if c == CodeOnlyText.close {
                            if depth == 0 { position += 1; return }
                            depth -= 1
                        }
                    }
                    position += 1
                }
            }
        }

        /// `/* ... */`, which nest in Swift.
        mutating func skipBlockComment() {
            var depth = 0
            while let c = byte(at: position) {
                if c == CodeOnlyText.slash, byte(at: position + 1) == CodeOnlyText.star {
                    depth += 1
                    position += 2
                } else if c == CodeOnlyText.star, byte(at: position + 1) == CodeOnlyText.slash {
                    depth -= 1
                    position += 2
                    if depth == 0 { return }
                } else {
                    position += 1
                }
            }
        }

        /// Whether the `#`s at `position` open a raw string (`#"..."#`) rather than `#if`, `#expect`.
        func startsRawString() -> Bool {
            var offset = position
            while byte(at: offset) == CodeOnlyText.hash { offset += 1 }
            return byte(at: offset) == CodeOnlyText.quote
        }

        /// One string literal: `"..."`, `"""..."""`, raw with any number of `#`, with interpolations.
        mutating func skipString() {
            var hashes = 0
            while byte(at: position) == CodeOnlyText.hash { hashes += 1; position += 1 }
            let multiline = byte(at: position + 1) == CodeOnlyText.quote && byte(at: position + 2) == CodeOnlyText.quote
            position += multiline ? 3 : 1
            while let c = byte(at: position) {
                if c == CodeOnlyText.backslash, (0..<hashes).allSatisfy({ byte(at: position + 1 + $0) == CodeOnlyText.hash }) {
                    let afterEscape = position + 1 + hashes
                    position = afterEscape
                    if byte(at: afterEscape) == CodeOnlyText.open {
                        position += 1
                        skipCode(untilClosingParenthesis: true)
                    } else {
                        position += 1
                    }
                } else if c == CodeOnlyText.quote, closes(multiline: multiline, hashes: hashes) {
                    position += (multiline ? 3 : 1) + hashes
                    return
                } else if c == CodeOnlyText.newline, !multiline {
                    return   // unterminated: the compiler reports it
                } else {
                    position += 1
                }
            }
        }

        func closes(multiline: Bool, hashes: Int) -> Bool {
            let quotes = multiline ? 3 : 1
            for offset in 0..<quotes where byte(at: position + offset) != CodeOnlyText.quote { return false }
            for offset in 0..<hashes where byte(at: position + quotes + offset) != CodeOnlyText.hash { return false }
            return true
        }
    }
}
