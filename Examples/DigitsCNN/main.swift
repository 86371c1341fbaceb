/// DigitsCNN: a small BatchNormalization CNN on the UCI optical digits (8x8 images,
/// fixtures/digits/digits.h5 with its fixed split), trained for 5 seeds through a seeded
/// shuffle → batch → repeat pipeline and compared with Keras on the same split, then the seed
/// question asked of a CNN: the trained model scored on brightened test images (+4 on the 0..16
/// pixel scale) in the four BatchNormalization modes of `batchwise experiment`.
///
/// Keras's per-seed accuracies come from fixtures/digits_cnn/keras_accuracies.json, written by
/// fixtures/digits_cnn/keras_peer.py (same model, optimizer, epochs and batch size), so this never
/// runs Python. Exits 1 (printing FAIL) if the mean test accuracy over the 5 seeds is below
/// Keras's mean, if training from Keras's own initial weights on the same batches gives other
/// epoch losses (more than 1% apart), or if the JSON describes another training setup. Everything is seeded, so a
/// run prints the same numbers every time. Run from the repository root: `swift run DigitsCNN`.
/// See Examples/DigitsCNN/README.md.
import Batchwise
import Foundation

/// What fixtures/digits_cnn/keras_peer.py measured.
struct KerasPeerResult: Decodable {
    var kerasVersion: String
    var epochs: Int
    var batchSize: Int
    var brightnessShift: Double
    var seeds: [UInt64]
    var testAccuracy: [Double]
    var shiftedInferenceAccuracy: [Double]
    var sameStart: SameStart

    /// Keras's untrained model of one seed, then its training on the unshuffled train split.
    struct SameStart: Decodable {
        var seed: UInt64
        var initialWeights: String
        var epochLosses: [Double]
        var testAccuracy: Double
    }
}

/// The training setup; keras_peer.py must have used the same (checked against its JSON).
let epochs = 6, batchSize = 32, seeds: [UInt64] = [0, 1, 2, 3, 4]
/// Brightness +4 on the 0..16 pixel scale; the file stores pixel / 16.
let brightnessShift: Float = 4.0 / 16.0

func fail(_ message: String) -> Never {
    print("DigitsCNN: FAIL: \(message)")
    exit(1)
}

let dataURL = URL(fileURLWithPath: "fixtures/digits/digits.h5")
let peerURL = URL(fileURLWithPath: "fixtures/digits_cnn/keras_accuracies.json")
guard FileManager.default.fileExists(atPath: dataURL.path) else {
    print("DigitsCNN: missing \(dataURL.path); run this from the Batchwise repository root")
    exit(2)
}
let decoder = JSONDecoder()
decoder.keyDecodingStrategy = .convertFromSnakeCase
let keras: KerasPeerResult
do {
    keras = try decoder.decode(KerasPeerResult.self, from: try Data(contentsOf: peerURL))
} catch {
    fail("cannot read Keras's accuracies from \(peerURL.path): \(error); rerun fixtures/digits_cnn/keras_peer.py")
}
guard keras.epochs == epochs, keras.batchSize == batchSize, keras.seeds == seeds,
      keras.brightnessShift == Double(brightnessShift), keras.testAccuracy.count == seeds.count,
      keras.shiftedInferenceAccuracy.count == seeds.count else {
    fail("\(peerURL.path) was made with epochs \(keras.epochs), batch \(keras.batchSize), seeds \(keras.seeds), "
         + "shift \(keras.brightnessShift); this example uses \(epochs), \(batchSize), \(seeds), \(brightnessShift): "
         + "rerun fixtures/digits_cnn/keras_peer.py --epochs \(epochs)")
}

// The digits as 8x8x1 images (NHWC), labels as [N, 1].
let file = try HDF5File.open(at: dataURL)
let images = try Tensor(try file.read("/x", as: Float.self)).reshaped(inferring: [-1, 8, 8, 1])
let labelValues = try file.read("/y", as: Int64.self)
let labels = try Tensor<Float>(labelValues).reshaped(to: [labelValues.values.count, 1])
func split(_ name: String) throws -> [Int] { try file.read("/split/\(name)", as: Int64.self).values.map(Int.init) }
let (trainRows, validationRows, testRows) = (try split("train"), try split("validation"), try split("test"))
try file.close()
let (xTrain, yTrain) = (try images.gatherRows(trainRows), try labels.gatherRows(trainRows))
let (xTest, yTest) = (try images.gatherRows(testRows), try labels.gatherRows(testRows))
let xTestShifted = xTest + brightnessShift
// Unlabeled images of the shifted distribution for re-calibration: the validation split, which
// training never sees, so the test images never set the statistics they are scored with.
let xCalibration = try images.gatherRows(validationRows) + brightnessShift

/// The model of keras_peer.py. BN momentum 0.9 instead of Keras's 0.99: over a few hundred
/// steps the 0.99 averages lag the still-changing convolutions so far that inference collapses
/// (keras_peer.py says more).
func makeModel(seed: UInt64) throws -> Sequential {
    try Sequential(inputShape: [8, 8, 1], [
        Conv2D(filters: 16, kernelSize: Size2D(square: 3), padding: .same),
        BatchNormalization(momentum: 0.9), ActivationLayer(.relu),
        MaxPooling2D(poolSize: Size2D(square: 2)),
        Conv2D(filters: 32, kernelSize: Size2D(square: 3)),
        BatchNormalization(momentum: 0.9), ActivationLayer(.relu),
        Flatten(),
        Dense(units: 10, activation: .softmax),
    ], seed: seed)
}

func accuracy(_ predictions: Tensor<Float>) throws -> Double {
    var metric = SparseCategoricalAccuracy()
    try metric.update(predictions: predictions, targets: yTest)
    return metric.result
}

/// One seed: test accuracy, then the shifted test images in the four modes of the seed experiment.
struct SeedResult {
    var testAccuracy: Double
    var inference: Double, batchStatistics: Double, fullBatchStatistics: Double, recalibrated: Double
}

func run(seed: UInt64) throws -> SeedResult {
    // Keras's epochs: a new order every pass, a short last batch (1,259 = 39 × 32 + 11).
    let pipeline = try Slices(xTrain, yTrain).shuffle(bufferSize: trainRows.count, seed: seed)
        .batch(batchSize).repeat().prefetch(2)
    var trainer = Trainer(model: try makeModel(seed: seed), optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
    try trainer.fit(pipeline, epochs: epochs, stepsPerEpoch: (trainRows.count + batchSize - 1) / batchSize,
                    progress: .quiet)
    let model = trainer.model
    let batchStatistics = model.withBatchNormStatistics(.batch)
    let recalibrated = try model.recalibratingBatchNormalization(on: xCalibration)
    return SeedResult(
        testAccuracy: try accuracy(model.predict(xTest, batchSize: batchSize, mode: .inference)),
        inference: try accuracy(model.predict(xTestShifted, batchSize: batchSize, mode: .inference)),
        batchStatistics: try accuracy(batchStatistics.predict(xTestShifted, batchSize: batchSize, mode: .inference)),
        fullBatchStatistics: try accuracy(batchStatistics.predict(xTestShifted, batchSize: xTestShifted.rowCount,
                                                                  mode: .inference)),
        recalibrated: try accuracy(recalibrated.predict(xTestShifted, batchSize: batchSize, mode: .inference)))
}

func format(_ value: Double) -> String { String(format: "%.4f", value) }
func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

print("DigitsCNN: \(trainRows.count) train / \(testRows.count) test images, \(epochs) epochs, batch \(batchSize), "
      + "Adam; Keras \(keras.kerasVersion) from \(peerURL.lastPathComponent)")
/// One line of the table: a label, then the values in columns 11 wide.
func row(_ label: String, _ values: [Double]) -> String {
    label.padding(toLength: 6, withPad: " ", startingAt: 0)
        + values.map { format($0) }.joined(separator: "     ")
}
print(String(repeating: " ", count: 28) + "test images brightened by +4/16, BatchNormalization statistics:")
print("seed  batchwise  keras      moving     batch(\(batchSize))  full batch re-calib.  keras moving")
var results: [SeedResult] = []
for (index, seed) in seeds.enumerated() {
    let result = try run(seed: seed)
    results.append(result)
    print(row("\(seed)", [result.testAccuracy, keras.testAccuracy[index], result.inference, result.batchStatistics,
                          result.fullBatchStatistics, result.recalibrated, keras.shiftedInferenceAccuracy[index]]))
}
let batchwiseMean = mean(results.map(\.testAccuracy)), kerasMean = mean(keras.testAccuracy)
print(row("mean", [batchwiseMean, kerasMean, mean(results.map(\.inference)), mean(results.map(\.batchStatistics)),
                   mean(results.map(\.fullBatchStatistics)), mean(results.map(\.recalibrated)),
                   mean(keras.shiftedInferenceAccuracy)]))
// The seeded runs differ from Keras's by their random draws. From Keras's own initial weights and
// the same unshuffled batches, the training losses must agree: float rounding grows over the 240
// steps (up to 5e-4 relative seen at epoch 6), a wrong gradient or update moves them far more.
var sameStartModel = try makeModel(seed: keras.sameStart.seed)
try KerasModelFile.loadWeights(peerURL.deletingLastPathComponent().appendingPathComponent(keras.sameStart.initialWeights),
                               into: &sameStartModel)
var sameStartTrainer = Trainer(model: sameStartModel, optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
let sameStartLosses = try sameStartTrainer.fit(Slices(xTrain, yTrain).batch(batchSize).repeat(), epochs: epochs,
                                               stepsPerEpoch: (trainRows.count + batchSize - 1) / batchSize,
                                               progress: .quiet)["loss"] ?? []
let sameStartAccuracy = try sameStartTrainer.evaluate(Slices(xTest, yTest).batch(batchSize))["accuracy"] ?? 0
let lossDifference = zip(sameStartLosses, keras.sameStart.epochLosses).map { abs($0 - $1) / $1 }.max() ?? .infinity
print("same start as Keras (its seed \(keras.sameStart.seed) weights, unshuffled): epoch losses "
      + sameStartLosses.map(format).joined(separator: " ") + " vs Keras "
      + keras.sameStart.epochLosses.map(format).joined(separator: " ")
      + " (largest relative difference \(String(format: "%.1e", lossDifference))); test accuracy "
      + "\(format(sameStartAccuracy)) vs \(format(keras.sameStart.testAccuracy))")
guard sameStartLosses.count == keras.sameStart.epochLosses.count, lossDifference < 1e-2 else {
    fail("training from Keras's initial weights gave epoch losses \(sameStartLosses), Keras \(keras.sameStart.epochLosses)")
}
guard batchwiseMean >= kerasMean else {
    fail("mean test accuracy \(format(batchwiseMean)) is below Keras's \(format(kerasMean))")
}
print("DigitsCNN: passed (mean test accuracy \(format(batchwiseMean)) >= Keras's \(format(kerasMean)))")
