import Testing
import Tensors
@testable import Training

/// `DenseMath.affine` seeds its output rows with the bias by copying the rows written so far
/// after themselves (1, 2, 4, ... rows). Every row must hold the bias before the product is
/// added, for batch sizes on both sides of each power of two; compared bit for bit with a
/// row-by-row seeding and the same product.
@Suite struct DenseBiasSeedingTests {
    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100])
    func everyRowStartsFromTheBias(_ rows: Int) throws {
        for units in [1, 3, 8, 13] {
            let inputs = 5
            let x = try Tensor(shape: [rows, inputs], scalars: (0..<rows * inputs).map { Float($0 % 11) * 0.37 - 1.5 })
            let kernel = try Tensor(shape: [inputs, units], scalars: (0..<inputs * units).map { Float($0 % 7) * 0.21 - 0.6 })
            let bias = try Tensor(shape: [units], scalars: (0..<units).map { Float($0) * 1.25 + 0.5 })
            var expected = try Tensor(shape: [rows, units],
                                      scalars: (0..<rows * units).map { bias.scalars[$0 % units] })
            Tensor.matmul(x, kernel, transposeA: false, transposeB: false, accumulate: true, into: &expected)
            let z = DenseMath.affine(x, kernel: kernel, bias: bias)
            #expect(z.shape == [rows, units])
            #expect(z.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "rows \(rows), units \(units)")
        }
    }
}
