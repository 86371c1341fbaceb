import Foundation
import Testing
@testable import Datasets

/// `PackedIntegers`, the bit-packed integer lists in `sample` and `interleave` states.
@Suite struct PackedIntegersTests {
    @Test func integersRoundTripAtEveryWidth() throws {
        let lists: [[Int]] = [[], [0], [0, 0, 0], [-1], [1, -1, 2, -2], [7], Array(0..<100), [Int.max, Int.min, 0, -1],
                              (0..<100).map { 1_000_000 + $0 * 9_973 }, [1 << 40, 3, -(1 << 50)]]
        for list in lists {
            let text = PackedIntegers.encode(list)
            #expect(PackedIntegers.decode(text) == list, "\(list) as \(text)")
            #expect(text.utf8.allSatisfy { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "+") })
        }
        // 100 positions of 7 digits below 2^21: 22 bits each (one for the sign), 367 characters
        // of base64url where JSON numbers take 800.
        let positions = (0..<100).map { 1_000_000 + $0 * 9_973 }
        #expect(PackedIntegers.encode(positions).count <= 375)
    }

    @Test func malformedTextIsRefused() {
        let good = PackedIntegers.encode([5, 6, 7])
        for bad in ["", "3", "3:4", "3:4:*", "9" + good.dropFirst(), "3:65:AAAA", "-1:4:", good + "A", "3:x:AA"] {
            #expect(PackedIntegers.decode(bad) == nil, "\(bad)")
        }
    }

    @Test("a sample state whose packed numbers were altered is refused with a typed error")
    func alteredNumbersAreRefused() throws {
        let mixed = try sample(from: [RangeDataset(0..<50), RangeDataset(50..<100)], seed: 4)
        var iterator = mixed.makeIterator()
        _ = try pull(&iterator, 10)
        var state = iterator.state
        state.children[0].parameters?["numbers"] = "2:4:*"
        #expect(throws: DatasetError.self) { _ = try mixed.makeIterator(resumingFrom: state) }
        state.children[0].parameters?["numbers"] = PackedIntegers.encode([1, 2, 3])
        #expect(throws: DatasetError.self) { _ = try mixed.makeIterator(resumingFrom: state) }
    }

    @Test("states written before packing (numbers and slots as plain lists) still restore")
    func unpackedStatesStillRestore() throws {
        let sources = (0..<5).map { RangeDataset($0 * 100..<($0 + 1) * 100) }
        let mixed = interleave(sources, cycleLength: 3, blockLength: 2)
        var iterator = mixed.makeIterator()
        _ = try pull(&iterator, 77)
        var state = iterator.state
        let expected = try pull(&iterator, 50)
        let slots = try #require(state.parameters?["slots"]), numbers = try #require(state.children[1].parameters?["numbers"])
        state.indices = try #require(PackedIntegers.decode(slots))
        state.parameters?["slots"] = nil
        state.children[1].indices = try #require(PackedIntegers.decode(numbers))
        state.children[1].parameters?["numbers"] = nil
        var resumed = try mixed.makeIterator(resumingFrom: IteratorState(encoded: state.encoded()))
        #expect(try pull(&resumed, 50) == expected)
    }
}
