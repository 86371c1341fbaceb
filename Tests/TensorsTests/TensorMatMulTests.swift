import Testing
@testable import Tensors

/// A naive triple loop, the independent reference for BLAS.
private func naiveProduct(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
    return c
}

private func transposed(_ a: [Double], rows: Int, columns: Int) -> [Double] {
    var t = [Double](repeating: 0, count: a.count)
    for i in 0..<rows { for j in 0..<columns { t[j * rows + i] = a[i * columns + j] } }
    return t
}

@Suite struct TensorMatMulTests {
    @Test func smallProductMatchesHandComputedValues() throws {
        let x = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let w = try Tensor<Float>(shape: [3, 2], scalars: [1, 0, 0, 1, -1, 2])
        // [1·1+3·(-1), 2+3·2] = [-2, 8]; [4-6, 5+12] = [-2, 17]
        #expect(try Tensor.matmul(x, w).scalars == [-2, 8, -2, 17])
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyTransposeCombinationMatchesANaiveLoop(flags: (Bool, Bool)) throws {
        let (ta, tb) = flags
        var rng = SplitMix64(seed: 3)
        let m = 5, k = 7, n = 4
        let a = (0..<(m * k)).map { _ in rng.nextNormal() }
        let b = (0..<(k * n)).map { _ in rng.nextNormal() }
        let expected = naiveProduct(a, b, m: m, k: k, n: n)
        let storedA = ta ? try Tensor<Double>(shape: [k, m], scalars: transposed(a, rows: m, columns: k))
                         : try Tensor<Double>(shape: [m, k], scalars: a)
        let storedB = tb ? try Tensor<Double>(shape: [n, k], scalars: transposed(b, rows: k, columns: n))
                         : try Tensor<Double>(shape: [k, n], scalars: b)
        let c = try Tensor.matmul(storedA, storedB, transposeA: ta, transposeB: tb)
        #expect(c.shape == [m, n])
        for (got, want) in zip(c.scalars, expected) { #expect(abs(got - want) < 1e-12) }
        // The Float path goes through sgemm and agrees to float rounding.
        let cf = try Tensor.matmul(Tensor<Float>(converting: storedA), Tensor<Float>(converting: storedB),
                                   transposeA: ta, transposeB: tb)
        for (got, want) in zip(cf.scalars, expected) { #expect(abs(Double(got) - want) < 1e-5) }
    }

    @Test func accumulateAddsToTheOutput() {
        let a = Tensor<Float>(repeating: 1, shape: [2, 2])
        var out = Tensor<Float>(repeating: 10, shape: [2, 2])
        Tensor.matmul(a, a, transposeA: false, transposeB: false, accumulate: true, into: &out)
        #expect(out.scalars == [12, 12, 12, 12])
    }

    @Test func innerDimensionMismatchIsATypedError() throws {
        let a = Tensor<Float>(zeros: [2, 3]), b = Tensor<Float>(zeros: [2, 3])
        #expect(throws: TensorError.shapeMismatch(operation: "matmul inner dimension", expected: [3, 3], found: [2, 3])) {
            try Tensor.matmul(a, b)
        }
        #expect(throws: TensorError.rankMismatch(operation: "matmul", expected: 2, found: [3])) {
            try Tensor.matmul(Tensor<Float>([1, 2, 3]), b)
        }
    }

    @Test func emptyInnerDimensionGivesZerosAndEmptyRowsGiveEmptyResults() throws {
        #expect(try Tensor.matmul(Tensor<Float>(zeros: [2, 0]), Tensor<Float>(zeros: [0, 3])) == Tensor(zeros: [2, 3]))
        #expect(try Tensor.matmul(Tensor<Float>(zeros: [0, 4]), Tensor<Float>(zeros: [4, 3])).shape == [0, 3])
    }
}
