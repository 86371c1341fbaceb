import Testing
import Tensors
@testable import Datasets

@Suite struct UnbatchTests {
    private static func pairs(_ n: Int) throws -> (Tensor<Float>, Tensor<Int64>) {
        (try Tensor(shape: [n, 2], scalars: (0..<(2 * n)).map(Float.init)), Tensor((0..<n).map(Int64.init)))
    }

    @Test func unbatchInvertsBatchIncludingTheShortLastBatch() throws {
        let (x, y) = try Self.pairs(10)
        let rows = try Slices(x, y).batch(4).unbatch().collect()
        #expect(rows.map { $0.1.scalars[0] } == Array(0..<10))
        #expect(rows.map(\.0) == (0..<10).map { x.row($0) })
        #expect(try Slices(x).batch(3).unbatch().collect() == (0..<10).map { x.row($0) })
    }

    @Test func resumingInsideABatchContinuesWithTheNextRow() throws {
        let (x, y) = try Self.pairs(23)
        let pipeline = try Slices(x, y).shuffle(bufferSize: 23, seed: 9).batch(5).unbatch()
        for cut in [0, 1, 4, 5, 6, 17, 22, 23] {
            var straight = pipeline.makeIterator()
            for _ in 0..<cut { _ = try straight.next() }
            let state = try IteratorState(encoded: straight.state.encoded())
            var expected: [Int64] = []
            while let row = try straight.next() { expected.append(row.1.scalars[0]) }
            var resumed = try pipeline.makeIterator(resumingFrom: state)
            var got: [Int64] = []
            while let row = try resumed.next() { got.append(row.1.scalars[0]) }
            #expect(got == expected, "cut \(cut)")
            #expect(expected.count == 23 - cut)
        }
    }

    @Test func cardinalityIsUnknownUnlessInfinite() throws {
        let (x, _) = try Self.pairs(4)
        #expect(try Slices(x).batch(2).unbatch().cardinality == .unknown)
        #expect(try Slices(x).batch(2).repeat().unbatch().cardinality == .infinite)
    }
}
