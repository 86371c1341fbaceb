import Datasets
import Foundation
import Testing
import Tensors
@testable import Training

/// Trainer arguments and callbacks that cannot work: a batch size of 0, a dataset of no known
/// length without a step count, a dataset with no batches, a callback monitoring a log `fit`
/// does not write, a CSV log appended to a file that is not one, and model edits naming
/// nothing. Each is the `TrainingError` case naming the argument, callback, file or name.
@Suite("Trainer arguments and callbacks are refused naming the argument, monitor or file")
struct TrainerArgumentErrorTests {
    static let x = try! Tensor<Float>(shape: [6, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    static let y = try! Tensor<Float>(shape: [6, 1], scalars: [0, 1, 0, 1, 0, 1])

    static func trainer() throws -> Trainer {
        Trainer(model: try Sequential(inputFeatures: 2, [Dense(units: 1, activation: .sigmoid)], seed: 1),
                optimizer: SGD(learningRate: 0.1), loss: .binaryCrossentropy)
    }

    static func batches() throws -> AnyDataset<Trainer.Batch> {
        try Slices(x, y).batch(3).map { ($0.0, $0.1) }.eraseToAnyDataset()
    }

    @Test("predict with a batch size of 0, or on data of no known length")
    func predictArguments() throws {
        let trainer = try Self.trainer()
        #expect(throws: TrainingError.invalidCount(argument: "batchSize", message: "must be positive, got 0")) {
            try trainer.predict(Self.x, batchSize: 0)
        }
        let endless = GeneratorDataset<Tensor<Float>>(cardinality: .infinite) { _ in Self.x }
        #expect(throws: TrainingError.stepsRequired(argument: "data", cardinality: "\(Cardinality.infinite)")) {
            try trainer.predict(endless)
        }
        let empty = GeneratorDataset<Tensor<Float>>(cardinality: .finite(0)) { _ in nil }
        #expect(throws: TrainingError.emptyDataset(argument: "data")) { try trainer.predict(empty) }
        #expect(TrainingError.stepsRequired(argument: "data", cardinality: "infinite").localizedDescription
                == "data has infinite length: pass stepsPerEpoch")
    }

    @Test("validation data of no known length needs validationSteps")
    func endlessValidation() throws {
        var trainer = try Self.trainer()
        let endless = try Slices(Self.x, Self.y).repeat().batch(3).map { ($0.0, $0.1) }.eraseToAnyDataset()
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(Self.batches(), epochs: 1, validationData: endless, progress: .quiet)
        }
        guard case let .stepsRequired(argument, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(argument == "validationData")
        #expect(error?.localizedDescription.hasSuffix("pass validationSteps") == true, "\(String(describing: error?.localizedDescription))")
    }

    @Test("a best-checkpoint or plateau callback monitoring a log fit does not write names the logs there are")
    func unknownMonitors() throws {
        var trainer = try Self.trainer()
        let best = CheckpointCallback(frequency: .best(monitor: "val_accuracy")) { _ in }
        #expect(throws: TrainingError.unknownMonitor(callback: "CheckpointCallback", name: "val_accuracy", available: ["accuracy", "loss"])) {
            try trainer.fit(Self.batches(), epochs: 1, callbacks: [best], progress: .quiet)
        }
        var again = try Self.trainer()
        #expect(throws: TrainingError.unknownMonitor(callback: "ReduceLROnPlateau", name: "val_los", available: ["accuracy", "loss"])) {
            try again.fit(Self.batches(), epochs: 1, callbacks: [ReduceLROnPlateau(monitor: "val_los")], progress: .quiet)
        }
    }

    @Test("appending a CSV log to a file that is not one names the file and leaves it alone")
    func csvAppendToForeignFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let notes = "my notes, not a log\nline 2\n"
        try notes.write(to: url, atomically: true, encoding: .utf8)
        var trainer = try Self.trainer()
        #expect(throws: TrainingError.invalidArgument(
            layer: "CSVLogger", message: "\(url.path): its first line is not a CSVLogger header (epoch, ...)")) {
            try trainer.fit(Self.batches(), epochs: 1, callbacks: [CSVLogger(url: url, append: true)], progress: .quiet)
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == notes)
    }

    @Test("model edits naming no variable or layer list what there is; an empty input shape is refused")
    func namesThatAreNotThere() throws {
        var model = try Sequential(inputFeatures: 2, [Dense(units: 1, name: "d")], seed: 1)
        #expect(throws: TrainingError.unknownVariable(name: "e/kernel", available: ["d/kernel", "d/bias"])) {
            try model.setVariable("e/kernel", to: try Tensor(shape: [2, 1], scalars: [0, 0]))
        }
        #expect(throws: TrainingError.unknownVariable(name: "e", available: ["d"])) {
            try model.updateLayer(named: "e", as: Dense.self) { _ in }
        }
        #expect(throws: TrainingError.invalidArgument(layer: "sequential", message: "input shape must be non-empty and positive, got [4, 0]")) {
            try Sequential(inputShape: [4, 0], [Dense(units: 1)])
        }
    }
}

/// More trainer and model arguments: evaluating endless data, re-calibrating with a batch size
/// of 0, and reading a variable that is not there.
@Suite("Evaluation, re-calibration and variable reads refuse arguments naming them")
struct TrainerMoreArgumentErrorTests {
    @Test("evaluate on endless data needs a step count")
    func evaluateEndless() throws {
        let trainer = try TrainerArgumentErrorTests.trainer()
        let endless = try Slices(TrainerArgumentErrorTests.x, TrainerArgumentErrorTests.y).repeat().batch(3)
            .map { ($0.0, $0.1) }.eraseToAnyDataset()
        #expect(throws: TrainingError.stepsRequired(argument: "data", cardinality: "\(Cardinality.infinite)")) {
            try trainer.evaluate(endless)
        }
        #expect(try trainer.evaluate(endless, steps: 1)["loss"] != nil)
    }

    @Test("re-calibrating BatchNormalization with a batch size of 0")
    func recalibrateZeroBatch() throws {
        let model = try Sequential(inputFeatures: 2, [BatchNormalization(), Dense(units: 1)], seed: 1)
        #expect(throws: TrainingError.invalidCount(argument: "batchSize", message: "must be positive, got 0")) {
            try model.recalibratingBatchNormalization(on: TrainerArgumentErrorTests.x, batchSize: 0)
        }
    }

    @Test("reading a variable that is not there lists those that are")
    func unknownVariableRead() throws {
        let model = try Sequential(inputFeatures: 2, [Dense(units: 1, name: "d")], seed: 1)
        #expect(throws: TrainingError.unknownVariable(name: "d/gamma", available: ["d/kernel", "d/bias"])) {
            try model.variable("d/gamma")
        }
    }
}
