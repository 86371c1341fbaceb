/// BatchwiseDownstream: a tiny end-to-end run in a separate package that depends on
/// Batchwise by path. It trains a 2-layer model for 2 epochs on 64 synthetic rows, saves it
/// as a native checkpoint and as a Keras `.weights.h5` in a temporary directory, loads both
/// back and checks that they predict exactly what the trained model predicts (exit 1 if not).
///
///     swift run --package-path Examples/Downstream
import Batchwise
import Datasets
import Foundation
import HDF5

func fail(_ message: String) -> Never {
    print("BatchwiseDownstream: FAILED: \(message)")
    exit(1)
}

do {
    var rng = SplitMix64(seed: 7)
    let xs = (0..<64 * 2).map { _ in Float(rng.nextNormal()) }
    let ys = stride(from: 0, to: xs.count, by: 2).map { xs[$0] + xs[$0 + 1] > 0 ? Float(1) : 0 }
    let x = try Tensor<Float>(shape: [64, 2], scalars: xs)
    let y = try Tensor<Float>(shape: [64, 1], scalars: ys)
    let train = try Slices(x, y).shuffle(bufferSize: 64, seed: 7).batch(16).prefetch(2)

    let model = try Sequential(inputFeatures: 2, [
        Dense(units: 8, activation: .relu), Dense(units: 1, activation: .sigmoid)], seed: 7)
    var trainer = Trainer(model: model, optimizer: Adam(), loss: .binaryCrossentropy)
    let history = try trainer.fit(train, epochs: 2, progress: .quiet)
    print("trained 2 epochs, loss per epoch: \(history["loss"] ?? [])")
    let expected = try trainer.model(x, mode: .inference)

    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("batchwise-downstream-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    // Native checkpoint: the model is rebuilt from the architecture stored in the file.
    let native = folder.appendingPathComponent("model.bwckpt.h5")
    let snapshot = TrainingSnapshot(model: trainer.model, optimizerState: trainer.optimizer.state,
                                    iteratorState: nil, epoch: 2, stepInEpoch: 0,
                                    globalStep: 8, history: history)
    try NativeCheckpoint.save(snapshot, optimizer: OptimizerConfig(trainer.optimizer), to: native,
                              loss: .binaryCrossentropy)
    let fromNative = try NativeCheckpoint.load(from: native).snapshot.model

    // Keras weights file: loaded into a freshly built model with different initial weights.
    let weights = folder.appendingPathComponent("model.weights.h5")
    try KerasModelFile.save(trainer.model, to: weights)
    var fromKeras = try Sequential(inputFeatures: 2, [
        Dense(units: 8, activation: .relu), Dense(units: 1, activation: .sigmoid)], seed: 99)
    // Guard against a vacuous check: before loading, this model must predict differently.
    if try fromKeras(x, mode: .inference) == expected { fail("an untrained model already matches") }
    try KerasModelFile.loadWeights(weights, into: &fromKeras)

    // The HDF5 product on its own: the weights file is an ordinary HDF5 file.
    let file = try HDF5File.open(at: weights)
    print("\(weights.lastPathComponent): root groups \(try file.children(of: "/").map(\.name))")
    try file.close()

    for (name, restored) in [("native checkpoint", fromNative), ("weights.h5", fromKeras)] {
        let p = try restored(x, mode: .inference)
        let diff = zip(p.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        print("\(name): max |restored - trained| = \(diff)")
        if p != expected { fail("\(name) predictions differ from the trained model's") }
    }
    print("BatchwiseDownstream: restored models predict exactly as the trained one")
} catch {
    fail(error.localizedDescription)
}
