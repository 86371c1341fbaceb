import Testing
@testable import Tensors

@Suite struct TensorElementwiseTests {
    @Test func arithmeticIsElementwise() throws {
        let a = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = try Tensor<Float>(shape: [2, 2], scalars: [4, 3, 2, 1])
        #expect(try (a + b).scalars == [5, 5, 5, 5])
        #expect(try (a - b).scalars == [-3, -1, 1, 3])
        #expect(try (a * b).scalars == [4, 6, 6, 4])
        #expect(try (a / b).scalars == [0.25, 2.0 / 3.0, 1.5, 4])
        #expect((a * 2).scalars == [2, 4, 6, 8])
        #expect((a + 1).scalars == [2, 3, 4, 5])
        #expect(a.map { -$0 }.maxAbsolute == 4)
    }

    @Test func shapeMismatchNamesTheOperation() {
        let a = Tensor<Float>(zeros: [2, 2]), b = Tensor<Float>(zeros: [4])
        #expect(throws: TensorError.shapeMismatch(operation: "+", expected: [2, 2], found: [4])) { try a + b }
    }

    @Test func addProductIsAxpy() throws {
        var a = Tensor<Double>([1, 2])
        try a.addProduct(-0.5, Tensor([2, 2]))
        #expect(a.scalars == [0, 1])
    }

    @Test func copyOnWriteKeepsTheOriginal() throws {
        let a = Tensor<Float>([1, 2, 3])
        var b = a
        try b.addProduct(1, a)
        #expect(a.scalars == [1, 2, 3] && b.scalars == [2, 4, 6])
    }

    @Test func rowVectorBroadcastsOverTheBatch() throws {
        let x = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let v = Tensor<Float>([10, 20, 30])
        #expect(try x.addingRowVector(v).scalars == [11, 22, 33, 14, 25, 36])
        #expect(try x.multiplyingRowVector(v).scalars == [10, 40, 90, 40, 100, 180])
        #expect(try x.subtractingRowVector(v).scalars == [-9, -18, -27, -6, -15, -24])
        #expect(throws: TensorError.shapeMismatch(operation: "addingRowVector", expected: [3], found: [2])) {
            try x.addingRowVector(Tensor([1, 2]))
        }
    }

    @Test func batchReductionsUseTheBiasedVariance() throws {
        let x = try Tensor<Double>(shape: [4, 2], scalars: [1, 10, 2, 10, 3, 10, 6, 14])
        #expect(try x.sumAlongBatch().scalars == [12, 44])
        #expect(try x.meanAlongBatch().scalars == [3, 11])
        // column 0: deviations -2,-1,0,3 → 14/4; column 1: -1,-1,-1,3 → 12/4
        #expect(try x.varianceAlongBatch().scalars == [3.5, 3])
        #expect(x.sum() == 56 && x.mean() == 7)
        #expect(throws: TensorError.self) { try Tensor<Double>([1, 2]).sumAlongBatch() }
    }

    @Test func conversionsRoundToTheTargetType() {
        let d = Tensor<Double>([0.1, -2.5, 1e40])
        let f = Tensor<Float>(converting: d)
        #expect(f.scalars == [Float(0.1), -2.5, Float.infinity])
        let labels = Tensor<Float>(converting: Tensor<Int64>([3, 0, 9]))
        #expect(labels.scalars == [3, 0, 9] && labels.shape == [3])
        #expect(Tensor<Double>(converting: Tensor<Float>([0.5])).scalars == [0.5])
    }
}
