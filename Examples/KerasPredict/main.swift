/// KerasPredict: loads a model saved by Keras 3 (`model.save("seed_model.keras")`), reads
/// input rows from an HDF5 file with the `HDF5` module, predicts in inference mode and
/// compares with the outputs Keras itself computed (exit code 1 if any differs by > 1e-5).
///
/// Run from the repository root (the fixtures are found relative to the working directory):
///
///     swift run KerasPredict
import Batchwise
import Foundation

let fixtures = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    .appendingPathComponent("fixtures/keras-models")
let modelURL = fixtures.appendingPathComponent("seed_model.keras")
let ioURL = fixtures.appendingPathComponent("seed_model.io.h5")
for url in [modelURL, ioURL] where !FileManager.default.fileExists(atPath: url.path) {
    print("KerasPredict: missing fixture \(url.path); run this from the Batchwise repository root")
    exit(2)
}

do {
    let loaded = try KerasModelFile.load(modelURL)
    print("loaded \(modelURL.lastPathComponent) (\(loaded.format.rawValue)): "
          + "\(loaded.model.layers.count) layers, loss \(loaded.lossName ?? "none")")

    // h5py wrote /inputs and /outputs_inference as float32 arrays of shape [rows, features].
    let file = try HDF5File.open(at: ioURL)
    let inputs = try file.read("/inputs", as: Float.self)
    let expected = try file.read("/outputs_inference", as: Float.self)
    try file.close()

    let x = try Tensor(inputs)
    let predicted = try loaded.model(x, mode: .inference)
    guard predicted.shape == expected.shape else {
        print("KerasPredict: prediction shape \(predicted.shape) != Keras output shape \(expected.shape)")
        exit(1)
    }
    var maxDiff: Float = 0
    for (row, (p, k)) in zip(predicted.scalars, expected.values).enumerated() {
        maxDiff = max(maxDiff, abs(p - k))
        if row < 5 { print("row \(row): x \(inputs.values[row])  batchwise \(p)  keras \(k)") }
    }
    print("\(expected.values.count) outputs, max |batchwise - keras| = \(maxDiff)")
    guard maxDiff <= 1e-5 else {
        print("KerasPredict: FAILED, difference above 1e-5")
        exit(1)
    }
    print("KerasPredict: predictions match Keras")
} catch {
    print("KerasPredict: \(error.localizedDescription)")
    exit(1)
}
