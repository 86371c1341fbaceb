import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Optimizers in Keras files that cannot be written or were damaged: an optimizer with no Keras
/// equivalent is refused before anything is written, naming the file; a tf.keras optimizer
/// weight that names a group instead of a dataset names that path.
@Suite("Keras files refuse an optimizer they cannot hold, naming the file and path")
struct KerasOptimizerFileErrorTests {
    /// An optimizer of the caller's own, which no Keras class describes.
    struct HandMadeOptimizer: Optimizer {
        var learningRate: Float = 0.1
        var state = OptimizerState()
        var iterations: Int64 { state.iterations }
        var identity: OptimizerIdentity { OptimizerIdentity(kind: "HandMadeOptimizer") }
        mutating func apply(_ gradients: Gradients, to model: inout Sequential) throws {}
    }

    @Test("saving a .keras or .weights.h5 file with an optimizer Keras has no class for names the file and leaves nothing",
          arguments: ["model.keras", "model.weights.h5"])
    func optimizerWithoutKerasEquivalent(name: String) throws {
        let folder = try NativeFixtures.folder("optimizerWithoutKerasEquivalent-\(name)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        #expect(throws: CheckpointError.unsupported(file: url.path, what: "optimizer HandMadeOptimizer has no Keras equivalent")) {
            try KerasModelFile.save(try NativeFixtures.model(), optimizer: HandMadeOptimizer(), loss: .binaryCrossentropy, to: url)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the refused save left a file")
    }

    @Test("a tf.keras optimizer weight that is a group names its path")
    func legacyOptimizerWeightIsAGroup() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("legacy.h5")
        try FileManager.default.copyItem(at: KerasFixtures.url("seed_model.h5"), to: url)
        let slot = "/optimizer_weights/Adam/m/dense/kernel:0"
        let file = try HDF5File.open(at: url, mode: .readWrite)
        #expect(try file.readAttribute("weight_names", of: "/optimizer_weights", as: [String].self).contains("Adam/m/dense/kernel:0"))
        try file.remove(slot)
        try file.createGroup(slot)
        try file.close()
        #expect(throws: CheckpointError.missingObject(file: url.path, path: slot, message: "expected a dataset, found a group")) {
            try KerasModelFile.load(url)
        }
    }
}
