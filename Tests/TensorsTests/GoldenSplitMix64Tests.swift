import Foundation
import Testing
@testable import Tensors

/// The generator and seed-derivation values of `fixtures/golden/seeded-orders.json`, computed by
/// `fixtures/golden/make_golden.py` in plain Python. Every seeded order in Batchwise is built
/// from these functions, so a change here changes every order (docs/TESTING.md).
@Suite("SplitMix64 and derivedSeed equal the golden values of an independent Python implementation")
struct GoldenSplitMix64Tests {
    private struct Golden: Decodable {
        struct Stream: Decodable {
            let seed: String
            let next: [String]
            let nextIndexBounds: [String]
            let nextIndex: [String]
            let nextUniform: [String]
        }
        struct Derived: Decodable {
            let seed: String
            let labels: [String]
            let value: String
        }
        let splitmix64: Stream
        let derivedSeed: [Derived]
    }

    private static func golden() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/golden/seeded-orders.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Golden.self, from: Data(contentsOf: url))
    }

    private static func uint64(_ text: String) throws -> UInt64 { try #require(UInt64(text), "not a UInt64: \(text)") }

    /// `derivedSeed` is variadic; the fixture's label lists have 0 to 3 entries.
    private static func derivedSeed(_ seed: UInt64, _ labels: [UInt64]) throws -> UInt64 {
        switch labels.count {
        case 0: return SplitMix64.derivedSeed(seed)
        case 1: return SplitMix64.derivedSeed(seed, labels[0])
        case 2: return SplitMix64.derivedSeed(seed, labels[0], labels[1])
        case 3: return SplitMix64.derivedSeed(seed, labels[0], labels[1], labels[2])
        default:
            Issue.record("the fixture has \(labels.count) labels; extend this switch")
            return 0
        }
    }

    @Test func derivedSeedsEqualTheGoldenValues() throws {
        let golden = try Self.golden()
        #expect(golden.derivedSeed.count >= 30)
        for entry in golden.derivedSeed {
            let seed = try Self.uint64(entry.seed)
            let labels = try entry.labels.map(Self.uint64)
            #expect(try Self.derivedSeed(seed, labels) == Self.uint64(entry.value), "derivedSeed(\(seed), \(labels))")
        }
    }

    @Test func theStreamBoundedDrawsAndUniformsOfSeed18EqualTheGoldenValues() throws {
        let stream = try Self.golden().splitmix64
        var rng = SplitMix64(seed: try Self.uint64(stream.seed))
        #expect(try stream.next.map(Self.uint64) == (0..<stream.next.count).map { _ in rng.next() })
        rng = SplitMix64(seed: try Self.uint64(stream.seed))
        for (bound, want) in zip(stream.nextIndexBounds, stream.nextIndex) {
            #expect(rng.nextIndex(below: Int(try Self.uint64(bound))) == Int(try Self.uint64(want)), "nextIndex(below: \(bound))")
        }
        rng = SplitMix64(seed: try Self.uint64(stream.seed))
        for text in stream.nextUniform {
            #expect(rng.nextUniform() == Double(text), "nextUniform, golden \(text)")   // exact: 53 bits × 2^-53
        }
    }
}
