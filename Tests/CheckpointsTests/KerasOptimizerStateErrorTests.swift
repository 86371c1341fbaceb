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
}
