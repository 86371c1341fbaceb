import Testing
import Tensors
@testable import Datasets

/// `unbatch()` of `(features, labels)` batches whose two tensors differ in rows, or where one
/// is a scalar: `DatasetError.invalidArgument` of stage `unbatch` naming both shapes, instead
/// of rows silently paired with the wrong labels. No test reached this check before.
@Suite("Unbatching features and labels of different row counts names both shapes")
struct UnbatchPairErrorTests {
    static func pairs(_ labels: Tensor<Float>) -> GeneratorDataset<(Tensor<Float>, Tensor<Float>)> {
        let features = Tensor<Float>(repeating: 1, shape: [3, 2])
        return GeneratorDataset { $0 == 0 ? (features, labels) : nil }
    }

    @Test("labels of 2 rows for features of 3, and scalar labels", arguments: [[2, 1], []])
    func rowsDiffer(labelShape: [Int]) throws {
        let pipeline = Self.pairs(Tensor(repeating: 0, shape: labelShape)).unbatch()
        do {
            _ = try pipeline.collect()
            Issue.record("unbatched")
        } catch let DatasetError.invalidArgument(stage, reason) {
            #expect(stage == "unbatch" && reason == "features [3, 2] and labels \(labelShape) differ in rows (input batch 0 of this epoch, 0-based)", "\(reason)")
        }
        #expect(try Self.pairs(Tensor(repeating: 0, shape: [3, 1])).unbatch().collect().count == 3)
    }
}
