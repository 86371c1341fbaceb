import Testing
import Tensors
@testable import Training

/// Synchronized BatchNormalization's per-segment loops (BatchNormMath+Segments.swift) and
/// `sumAlongBatch` over raw pointers against the indexed scalar loops they replaced, bit for
/// bit (docs/distributed.md, "Stop 25"): the data-parallel step's results must not change.
@Suite struct SegmentKernelTests {
    static let shapes: [(rows: Int, columns: Int)] = [(0, 5), (1, 1), (13, 7), (9, 37), (5, 256)]

    static func tensor(rows: Int, columns: Int, seed: UInt64) throws -> Tensor<Float> {
        try Tensor(shape: [rows, columns], scalars: VectorizedKernelTests.values(rows * columns, seed: seed))
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test("column sums, centred sums and squares give the bits of the indexed loops", arguments: 0..<5)
    func sums(shape index: Int) throws {
        let (rows, columns) = Self.shapes[index]
        let x = try Self.tensor(rows: rows, columns: columns, seed: UInt64(index + 1))
        let mean = VectorizedKernelTests.values(columns, seed: 99).map { $0.isNaN ? 0.25 : $0 }
        let scalars = x.scalars
        var sums = [Float](repeating: 0, count: columns), centred = sums, squares = sums
        var offset = 0
        while offset < scalars.count {
            for j in 0..<columns {
                sums[j] += scalars[offset + j]
                let d = scalars[offset + j] - mean[j]
                centred[j] += d
                squares[j] += d * d
            }
            offset += columns
        }
        #expect(Self.bits(BatchNormMath.columnSums(x)) == Self.bits(sums))
        #expect(Self.bits(try x.sumAlongBatch().scalars) == Self.bits(sums))
        let both = BatchNormMath.centredSumsAndSquares(x, mean: mean)
        #expect(Self.bits(both.sums) == Self.bits(centred))
        #expect(Self.bits(both.squares) == Self.bits(squares))
        #expect(Self.bits(BatchNormMath.centredSquares(x, mean: mean)) == Self.bits(squares))
    }

    @Test("the input gradient with the global sums gives the bits of the indexed loop", arguments: 0..<5)
    func inputGradient(shape index: Int) throws {
        let (rows, columns) = Self.shapes[index]
        let x = try Self.tensor(rows: rows, columns: columns, seed: UInt64(index + 10))
        let g = try Self.tensor(rows: rows, columns: columns, seed: UInt64(index + 20))
        let mean = VectorizedKernelTests.values(columns, seed: 30), inverseStd = VectorizedKernelTests.values(columns, seed: 31)
        let gamma = VectorizedKernelTests.values(columns, seed: 32)
        let sumG = VectorizedKernelTests.values(columns, seed: 33), sumGX = VectorizedKernelTests.values(columns, seed: 34)
        let count = 3 * rows + 1
        for scaled in [gamma, nil] {
            var scale = inverseStd
            if let scaled { for j in 0..<columns { scale[j] *= scaled[j] } }
            let invN = 1 / Float(count), xs = x.scalars
            var expected = g.scalars
            var offset = 0
            while offset < expected.count {
                for j in 0..<columns {
                    let xh = (xs[offset + j] - mean[j]) * inverseStd[j]
                    expected[offset + j] = scale[j] * (expected[offset + j] - invN * (sumG[j] + xh * sumGX[j]))
                }
                offset += columns
            }
            let dx = BatchNormMath.inputGradient(x: x, upstream: g, mean: mean, inverseStd: inverseStd, gamma: scaled,
                                                 sumG: sumG, sumGX: sumGX, count: count)
            #expect(dx.shape == g.shape)
            #expect(Self.bits(dx.scalars) == Self.bits(expected))
        }
    }
}
