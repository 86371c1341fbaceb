/// A list of integers as one short text: every integer in the same number of bits, the fewest
/// that hold the largest, packed back to back and written in base64url.
///
/// States of `sample` and `interleave` hold one or two integers per source; as JSON numbers
/// they cost a digit per decimal place plus a comma each (about 7 bytes for a position of
/// 100,000), and 100 sources passed the 1 KB the states may take. Packed, a position below
/// 2^17 takes 17 bits, under 3 characters, and the list is written once. Negative numbers
/// (-1 for an empty slot) are zigzag-mapped first (0, -1, 1, -2, ... to 0, 1, 2, 3, ...).
///
/// The text is `count:width:data`, `count` and `width` in decimal, `data` the bits in base64url
/// without padding (the `/` of plain base64 would be escaped in JSON, costing a byte).
///
/// ```text
/// PackedIntegers.encode([3, -1, 70_000])     // "3:18:..." (zigzag 140,000 needs 18 bits)
/// PackedIntegers.decode("3:18:...")          // [3, -1, 70000]
/// ```
enum PackedIntegers {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// `values` as `count:width:data`.
    static func encode(_ values: [Int]) -> String {
        let words = values.map(zigzag)
        let width = words.map { UInt64.bitWidth - $0.leadingZeroBitCount }.max() ?? 0
        var bytes = [UInt8](repeating: 0, count: (words.count * width + 7) / 8)
        var bit = 0
        for word in words {
            for shift in stride(from: width - 1, through: 0, by: -1) {
                if word >> UInt64(shift) & 1 == 1 { bytes[bit / 8] |= 0x80 >> UInt8(bit % 8) }
                bit += 1
            }
        }
        return "\(values.count):\(width):" + base64URL(bytes)
    }

    /// The integers of an ``encode(_:)`` text, or `nil` when `text` is not one (a count, width
    /// or length that do not agree, a character outside base64url).
    static func decode(_ text: String) -> [Int]? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let count = Int(parts[0]), let width = Int(parts[1]), count >= 0, (0...64).contains(width),
              let bytes = bytes(ofBase64URL: parts[2]), bytes.count == (count * width + 7) / 8
        else { return nil }
        var values: [Int] = []
        values.reserveCapacity(count)
        var bit = 0
        for _ in 0..<count {
            var word: UInt64 = 0
            for _ in 0..<width {
                word = word << 1 | UInt64(bytes[bit / 8] >> UInt8(7 - bit % 8) & 1)
                bit += 1
            }
            values.append(unzigzag(word))
        }
        return values
    }

    /// The integers a state stores packed as `text`, or `unpacked` (the plain list of a state
    /// written before packing) when it has no such text.
    /// - Throws: ``DatasetError/incompatibleState(expected:found:)`` naming `stage` and `what`
    ///   when `text` is not an ``encode(_:)`` text.
    static func decode(_ text: String?, or unpacked: [Int], stage: String, what: String) throws -> [Int] {
        guard let text else { return unpacked }
        guard let values = decode(text) else {
            throw DatasetError.incompatibleState(expected: "\(stage) \(what) packed as count:width:base64url",
                                                 found: String(text.prefix(40)))
        }
        return values
    }

    private static func zigzag(_ value: Int) -> UInt64 {
        UInt64(bitPattern: Int64(value) << 1) ^ UInt64(bitPattern: Int64(value) >> 63)
    }

    private static func unzigzag(_ word: UInt64) -> Int {
        Int(Int64(bitPattern: (word >> 1) ^ (0 &- (word & 1))))
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        var characters: [UInt8] = []
        characters.reserveCapacity((bytes.count * 4 + 2) / 3)
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<Swift.min(start + 3, bytes.count)]
            var group: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { group |= UInt32(byte) << UInt32(16 - 8 * offset) }
            for index in 0...chunk.count { characters.append(alphabet[Int(group >> UInt32(18 - 6 * index) & 63)]) }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    private static func bytes(ofBase64URL text: Substring) -> [UInt8]? {
        var sextets: [UInt8] = []
        for character in text.utf8 {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            sextets.append(UInt8(value))
        }
        guard sextets.count % 4 != 1 else { return nil }
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0, buffered = 0
        for sextet in sextets {
            buffer = buffer << 6 | UInt32(sextet)
            buffered += 6
            if buffered >= 8 {
                buffered -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(buffered)))
            }
        }
        return bytes
    }
}
