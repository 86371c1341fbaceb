import Testing
@testable import Tensors

@Suite struct TensorRowsTests {
    @Test func initRejectsScalarCountThatDoesNotMatchShape() {
        #expect(throws: TensorError.scalarCountMismatch(shape: [2, 3], count: 5)) {
            try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
        }
    }

    @Test func rowsAndGatherKeepTheLeadingDimension() throws {
        let x = try Tensor<Int32>(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
        #expect(try x.rows(1..<3).scalars == [10, 11, 20, 21])
        #expect(try x.gatherRows([2, 0]).scalars == [20, 21, 0, 1])
        #expect(x.row(1) == Tensor([10, 11]))
        #expect(throws: TensorError.self) { try x.rows(2..<4) }
    }

    @Test func stackingNamesBothShapesOnMismatch() {
        #expect(throws: TensorError.shapeMismatch(operation: "stack", expected: [2], found: [3])) {
            try Tensor<Float>.stacking([Tensor([1, 2]), Tensor([1, 2, 3])])
        }
    }

    @Test func stackingAddsALeadingDimension() throws {
        let stacked = try Tensor<Double>.stacking([Tensor([1, 2]), Tensor([3, 4]), Tensor([5, 6])])
        #expect(stacked.shape == [3, 2])
        #expect(stacked[2, 1] == 6)
    }
}
