import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// A `.keras` whose stored optimizer slot does not fit its variable would resume Adam with
/// moments of another shape: the load is refused naming the archive member, the dataset, the
/// slot's variable and both shapes.
@Suite("Keras optimizer slots of the wrong shape name the variable")
struct KerasOptimizerStateErrorTests {
    @Test("an Adam slot of the wrong shape in a .keras names the dataset, variable and shapes")
    func slotShape() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 1, stepsPerEpoch: 2, progress: .quiet)
        let saved = folder.appendingPathComponent("trained.keras")
        try KerasModelFile.save(trainer.model, optimizer: trainer.optimizer, loss: .binaryCrossentropy, to: saved)
        #expect(try KerasModelFile.load(saved).optimizerState != nil, "the intact file restores Adam's state")

        // Rewrite the archive with the first slot (after iteration and learning rate) replaced.
        let contents = try KerasArchive.read(saved)
        defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
        let weights = try HDF5File.open(at: contents.weightsURL, mode: .readWrite)
        let slot = "/optimizer/vars/2"
        let original = try weights.read(slot, as: Float.self).shape
        try weights.write([Float](repeating: 0, count: 7), shape: [7], to: slot)
        try weights.close()
        let damaged = folder.appendingPathComponent("damaged.keras")
        try KerasArchive.write(to: damaged, config: contents.config, metadata: contents.metadata ?? "{}") {
            try FileManager.default.copyItem(at: contents.weightsURL, to: $0)
        }
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(damaged) }
        guard case let .variableShapeMismatch(file, path, layer, variable, expected, found)? = error else {
            Issue.record("got \(String(describing: error))"); return
        }
        #expect(file == damaged.path + "/model.weights.h5" && path == slot && layer == "optimizer")
        #expect(expected == original && found == [7])
        let owner = variable.split(separator: "/").dropLast().joined(separator: "/")
        #expect(trainer.model.trainableVariables.contains { $0.name == owner && $0.value.shape == original }, "\(variable)")
        #expect(error?.localizedDescription.contains(variable) == true, "\(String(describing: error?.localizedDescription))")
    }

    /// A writable copy of the tf.keras full-model fixture (Adam, with /optimizer_weights).
    private func legacyCopy(_ folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("legacy.h5")
        try FileManager.default.copyItem(at: KerasFixtures.url("seed_model.h5"), to: url)
        return url
    }

    @Test("a tf.keras Adam moment of the wrong shape names the dataset, variable and shapes")
    func legacySlotShape() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try legacyCopy(folder)
        let intact = try KerasModelFile.load(url)
        let kernel = try #require(intact.model.trainableVariables.first { $0.name == "dense/kernel" }).value.shape
        let slot = "/optimizer_weights/Adam/m/dense/kernel:0"
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try file.write([Float](repeating: 0, count: 7), shape: [7], to: slot)
        try file.close()
        #expect(throws: CheckpointError.variableShapeMismatch(file: url.path, path: slot, layer: "optimizer", variable: "dense/kernel/momentum",
                                                              expected: kernel, found: [7])) {
            try KerasModelFile.load(url)
        }
    }

    @Test("a tf.keras optimizer weight for a variable the model does not have names it")
    func legacySlotForUnknownVariable() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try legacyCopy(folder)
        let file = try HDF5File.open(at: url, mode: .readWrite)
        var names = try file.readAttribute("weight_names", of: "/optimizer_weights", as: [String].self)
        try file.write([Float](repeating: 0, count: 8), shape: [8], to: "/optimizer_weights/Adam/m/ghost/kernel:0")
        names.append("Adam/m/ghost/kernel:0")
        try file.setAttribute("weight_names", names, on: "/optimizer_weights")
        try file.close()
        #expect(throws: CheckpointError.invalidFile(
            file: url.path, message: "/optimizer_weights/Adam/m/ghost/kernel:0: the model has no trainable variable 'ghost/kernel'")) {
            try KerasModelFile.load(url)
        }
    }
}
