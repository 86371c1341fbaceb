import Foundation

/// SplitMix64: a seeded generator, so that every run of a test sees the same rows.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum TestData {
    /// `count` floats of mixed sign and magnitudes 10^exponents (plus an offset), so that the
    /// order of additions changes the rounded sum: a reduction that reorders them cannot
    /// pass a bitwise comparison by luck.
    static func floats(_ count: Int, seed: UInt64, offset: Float = 0, exponents: ClosedRange<Int> = -3...3) -> [Float] {
        var generator = SeededGenerator(state: seed)
        return (0..<count).map { _ in
            offset + Float.random(in: -1...1, using: &generator) * Float(pow(10, Double(Int.random(in: exponents, using: &generator))))
        }
    }

    /// Writes `values` as little-endian float32, the format DistributedCheckHelper reads.
    static func write(_ values: [Float]) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("batchwise-mpi-data-\(UUID().uuidString).f32")
        var bytes = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try bytes.write(to: file)
        return file
    }

    /// Hexadecimal bit patterns, as the helper reports them.
    static func bits(_ values: [Float]) -> [String] { values.map { String($0.bitPattern, radix: 16) } }

    /// Column sums of `rows` (`width` wide) in Double, an independent reference.
    static func columnSums(_ rows: [Float], width: Int) -> [Double] {
        var sums = [Double](repeating: 0, count: width)
        for (index, value) in rows.enumerated() { sums[index % width] += Double(value) }
        return sums
    }
}
