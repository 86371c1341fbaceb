import Testing
@testable import Tensors

/// Tensor operations given shapes they cannot work on: each is the `TensorError` case naming
/// the operation and the shapes (or index) at fault, and its message says them in one line.
/// Before these tests no caller of the public API reached these checks.
@Suite("Tensor operations on impossible shapes name the operation and the shapes")
struct TensorShapeErrorTests {
    static let matrix = try! Tensor<Float>(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
    static let scalar = Tensor<Float>(scalar: 7)

    @Test("a shape with a negative dimension is refused, whatever the scalar count")
    func negativeDimension() {
        #expect(throws: TensorError.negativeDimension(shape: [2, -3])) {
            try Tensor<Float>(shape: [2, -3], scalars: [1, 2, 3, 4, 5, 6])
        }
        #expect(TensorError.negativeDimension(shape: [2, -3]).localizedDescription == "shape [2, -3] has a negative dimension")
    }

    @Test("rows and gatherRows of a scalar, and a gathered index out of range, name the operation and shape")
    func rowsOfScalarsAndMissingRows() throws {
        #expect(throws: TensorError.rankMismatch(operation: "rows", expected: 1, found: [])) { try Self.scalar.rows(0..<1) }
        #expect(throws: TensorError.rankMismatch(operation: "gatherRows", expected: 1, found: [])) { try Self.scalar.gatherRows([0]) }
        #expect(throws: TensorError.indexOutOfRange(operation: "gatherRows", index: "3", shape: [3, 2])) {
            try Self.matrix.gatherRows([2, 3])
        }
        #expect(throws: TensorError.indexOutOfRange(operation: "gatherRows", index: "-1", shape: [3, 2])) {
            try Self.matrix.gatherRows([-1])
        }
        #expect(TensorError.indexOutOfRange(operation: "gatherRows", index: "3", shape: [3, 2]).localizedDescription
                == "gatherRows: index 3 is out of range for shape [3, 2]")
        #expect(try Self.matrix.gatherRows([2, 0]).scalars == [20, 21, 0, 1], "valid indices still gather")
    }

    @Test("stacking or concatenating nothing, a scalar, or rows of another shape")
    func stackingAndConcatenating() throws {
        #expect(throws: TensorError.emptyStack) { try Tensor<Float>.stacking([]) }
        #expect(throws: TensorError.emptyStack) { try Tensor<Float>.concatenatingRows([]) }
        #expect(throws: TensorError.rankMismatch(operation: "concatenatingRows", expected: 1, found: [])) {
            try Tensor<Float>.concatenatingRows([Self.scalar, Self.matrix])
        }
        #expect(throws: TensorError.shapeMismatch(operation: "concatenate", expected: [3, 2], found: [1, 3])) {
            try Tensor<Float>.concatenatingRows([Self.matrix, Tensor<Float>(repeating: 1, shape: [1, 3])])
        }
        #expect(throws: TensorError.shapeMismatch(operation: "concatenate", expected: [3, 2], found: [])) {
            try Tensor<Float>.concatenatingRows([Self.matrix, Self.scalar])
        }
        #expect(TensorError.emptyStack.localizedDescription == "cannot stack an empty list of tensors (the element shape is unknown)")
        #expect(try Tensor<Float>.concatenatingRows([Self.matrix, Self.matrix]).shape == [6, 2])
    }

    @Test("a product whose second operand is not a matrix, and addProduct of another shape")
    func productsOfWrongShapes() throws {
        #expect(throws: TensorError.rankMismatch(operation: "matmul", expected: 2, found: [2])) {
            try Tensor<Float>.matmul(Self.matrix, Tensor<Float>([1, 2]))
        }
        var accumulator = Self.matrix
        #expect(throws: TensorError.shapeMismatch(operation: "addProduct", expected: [3, 2], found: [2, 3])) {
            try accumulator.addProduct(2, Tensor<Float>(repeating: 1, shape: [2, 3]))
        }
        #expect(accumulator == Self.matrix, "a refused addProduct leaves the tensor unchanged")
    }

    @Test("broadcasting over a scalar, or a row vector over a tensor that is not a matrix")
    func broadcastingRanks() throws {
        #expect(throws: TensorError.rankMismatch(operation: "bias", expected: 1, found: [])) {
            try Self.scalar.broadcastingChannels(Tensor([1]), operation: "bias", +)
        }
        let image = Tensor<Float>(repeating: 1, shape: [2, 2, 2])
        #expect(throws: TensorError.rankMismatch(operation: "add", expected: 2, found: [2, 2, 2])) {
            try image.broadcastingRowVector(Tensor([1, 2]), operation: "add", +)
        }
        #expect(TensorError.rankMismatch(operation: "add", expected: 2, found: [2, 2, 2]).localizedDescription
                == "add: expected rank 2, found shape [2, 2, 2]")
    }
}
