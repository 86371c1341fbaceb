/// DigitsClassifier: a BatchNormalization classifier on the UCI optical digits (8x8, 1,797
/// images; fixtures/digits/digits.h5 with its fixed train/validation/test split), with
/// validation, early stopping, checkpoints every epoch, and a resume from the second
/// checkpoint that must reproduce the uninterrupted run bit for bit. Exits 1 if the test
/// accuracy is below 95% or the resume differs. Keras's accuracy on the same split:
/// docs/digits-keras.md. Run from the repository root: `swift run DigitsClassifier`.
import Batchwise
import Foundation

func rows(_ path: String, in file: HDF5File) throws -> [Int] { try file.read(path, as: Int64.self).values.map(Int.init) }

let url = URL(fileURLWithPath: "fixtures/digits/digits.h5")
guard FileManager.default.fileExists(atPath: url.path) else {
    print("DigitsClassifier: missing \(url.path); run this from the Batchwise repository root")
    exit(2)
}
let file = try HDF5File.open(at: url)
let xs = try file.read("/x", as: Float.self), ys = try file.read("/y", as: Int64.self)
let x = try Tensor(xs)
let y = try Tensor<Float>(ys).reshaped(to: [ys.values.count, 1])
let (train, validation, test) = (try rows("/split/train", in: file), try rows("/split/validation", in: file),
                                 try rows("/split/test", in: file))
try file.close()

func batches(_ indices: [Int]) throws -> AnyDataset<Trainer.Batch> {
    try Slices(x.gatherRows(indices), y.gatherRows(indices)).batch(64).eraseToAnyDataset()
}
let trainData = try Slices(x.gatherRows(train), y.gatherRows(train)).shuffle(bufferSize: train.count, seed: 0)
    .repeat().batch(32).prefetch(2)
let steps = (train.count + 31) / 32

func makeTrainer() throws -> Trainer {
    Trainer(model: try Sequential(inputFeatures: 64, [
        Dense(units: 64), BatchNormalization(), ActivationLayer(.relu), Dropout(rate: 0.2),
        Dense(units: 10, activation: .softmax),
    ], seed: 0), optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("digits-\(getpid())")
defer { try? FileManager.default.removeItem(at: folder) }
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
var trainer = try makeTrainer()
let directory = try CheckpointDirectory(url: folder, keepLast: 50, optimizer: try OptimizerConfig(trainer.optimizer),
                                    loss: .sparseCategoricalCrossentropy)
let history = try trainer.fit(trainData, epochs: 40, stepsPerEpoch: steps, validationData: try batches(validation),
                              callbacks: [EarlyStopping(monitor: "val_loss", patience: 5),
                                          directory.callback(frequency: .everyEpoch)],
                              progress: .lines)
let accuracy = try trainer.evaluate(try batches(test))["accuracy"] ?? 0
print("stopped: \(trainer.stopReason ?? "after all epochs"); test accuracy \(String(format: "%.4f", accuracy))")

// Resume from the second checkpoint in a fresh trainer, up to the epoch where early stopping
// ended the first run: the rest of the run must be identical.
let second = try directory.checkpoints()[1].url
let loaded = try NativeCheckpoint.load(from: second)
var resumed = try makeTrainer()
let resumedHistory = try resumed.fit(trainData, epochs: history.epochs.count, stepsPerEpoch: steps,
                                     validationData: try batches(validation), progress: .quiet,
                                     resumingFrom: loaded.snapshot)
let identical = resumed.model.variables.map(\.value) == trainer.model.variables.map(\.value)
print("resumed from \(second.lastPathComponent): \(identical ? "identical" : "DIFFERENT") weights, "
      + "history \(resumedHistory == history ? "identical" : "DIFFERENT")")
exit(accuracy >= 0.95 && identical && resumedHistory == history ? 0 : 1)
