import Foundation
import HDF5
import Testing
import Tensors
@testable import Datasets

@Suite struct TensorFromHDF5ArrayTests {
    @Test func aReadArrayBecomesATensorOfItsShapeInOneLine() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-tensor-from-array-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try HDF5File.create(at: url)
        try file.write([Float](arrayLiteral: 1.5, -2, 3, 4, 5, 6.25), shape: [2, 3], to: "x")
        try file.write([Int64](arrayLiteral: 0, 9, 3), shape: [3], to: "y")
        let x = try Tensor(file.read("x", as: Float.self))
        let y = try Tensor<Float>(file.read("y", as: Int64.self))
        let z = try Tensor<Double>(file.read("x", as: Float.self))
        try file.close()
        #expect(x.shape == [2, 3] && x.scalars == [1.5, -2, 3, 4, 5, 6.25])
        #expect(y.shape == [3] && y.scalars == [0, 9, 3])
        #expect(z.shape == [2, 3] && z.scalars == [1.5, -2, 3, 4, 5, 6.25])
        let scalar = try Tensor(HDF5Array(shape: [], values: [Int64(7)]))
        #expect(scalar.shape == [] && scalar.scalars == [7])
    }

    @Test func valuesWithoutAnExactCounterpartAreRefusedByValueAndIndex() throws {
        // 2^24 + 1 is the first integer Float cannot hold: it would become 2^24, another label.
        let labels = HDF5Array(shape: [3], values: [Int64(1), 16_777_217, 2])
        do {
            _ = try Tensor<Float>(labels)
            Issue.record("16,777,217 became a Float")
        } catch let DatasetError.arrayConversionFailed(from, to, shape, reason) {
            #expect(from == "Int64" && to == "Float" && shape == [3])
            #expect(reason.contains("16777217") && reason.contains("index 1"), "\(reason)")
        }
        #expect(try Tensor<Double>(labels).scalars == [1, 16_777_217, 2])
        #expect(throws: DatasetError.self) { try Tensor<Float>(HDF5Array(shape: [2], values: [1.0, 1e300])) }
        #expect(try Tensor<Float>(HDF5Array(shape: [2], values: [0.1, -Double.infinity])).scalars == [0.1, -Float.infinity])
    }

    @Test func aShapeThatDoesNotHoldTheValuesIsATypedError() {
        var array = HDF5Array(shape: [2], values: [Float(1), 2])
        array.shape = [3]
        #expect(throws: DatasetError.self) { try Tensor(array) }
        #expect(throws: DatasetError.self) { try Tensor<Double>(array) }
    }
}
