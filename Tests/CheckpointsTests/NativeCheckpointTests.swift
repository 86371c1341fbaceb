import Foundation
import Datasets
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints
import CheckpointsTestSupport

@Suite struct NativeCheckpointTests {
    /// A snapshot taken mid-epoch (iterator state, running sums) after two completed epochs.
    private func midRunSnapshot() throws -> TrainingSnapshot {
        let box = SnapshotBox()
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: true), epochs: 3, stepsPerEpoch: 7,
                        callbacks: [CheckpointCallback(frequency: .everySteps(17)) { box.append($0) }], progress: .quiet)
        return try #require(box.values.first)   // global step 17: epoch 2, step 3
    }

    @Test func everyPartOfASnapshotSurvivesTheFileBitForBit() throws {
        let snapshot = try midRunSnapshot()
        #expect(snapshot.epoch == 2 && snapshot.stepInEpoch == 3 && snapshot.iteratorState != nil)
        let url = try NativeFixtures.folder().appendingPathComponent("a.h5")
        try NativeCheckpoint.save(snapshot, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
                                  to: url, architecture: "{\"class_name\": \"Sequential\"}")

        // A model with other initial weights and generator states: everything must come from the file.
        let loaded = try NativeCheckpoint.load(from: url, into: try NativeFixtures.model(seed: 99))
        #expect(NativeFixtures.bits(loaded.snapshot.model) == NativeFixtures.bits(snapshot.model))
        #expect(loaded.snapshot.model.randomStates == snapshot.model.randomStates)
        #expect(loaded.snapshot.optimizerState.iterations == 17)
        #expect(NativeFixtures.bits(loaded.snapshot.optimizerState) == NativeFixtures.bits(snapshot.optimizerState))
        #expect(loaded.snapshot.optimizerState.slots.count == 12)   // 6 trainable variables × (momentum, velocity)
        #expect(loaded.snapshot.iteratorState == snapshot.iteratorState)
        #expect(loaded.snapshot.history == snapshot.history)
        #expect(loaded.snapshot.runningSums == snapshot.runningSums)
        #expect(loaded.snapshot.epoch == 2 && loaded.snapshot.stepInEpoch == 3 && loaded.snapshot.globalStep == 17)
        #expect(loaded.optimizer == .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7))
        #expect(loaded.architecture == "{\"class_name\": \"Sequential\"}")
        #expect(loaded.skipped.isEmpty)
        #expect(loaded.batchwiseVersion == NativeCheckpoint.batchwiseVersion)
    }

    @Test func theLayoutUsesReadablePathsAndStoresTheConventions() throws {
        let snapshot = try midRunSnapshot()
        let url = try NativeFixtures.folder().appendingPathComponent("b.h5")
        try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url,
                                  created: Date(timeIntervalSince1970: 1_800_000_000))
        let file = try HDF5File.open(at: url)
        defer { try? file.close() }
        let kernel = try file.read("/model/dense/kernel", as: Float.self)
        #expect(kernel.shape == [3, 6])
        #expect(kernel.values == (try snapshot.model.variable("dense/kernel")).scalars)
        #expect(try file.read("/model/batch_normalization/moving_variance", as: Float.self).values
                == (try snapshot.model.variable("batch_normalization/moving_variance")).scalars)
        #expect(try file.readAttribute("momentum", of: "/model/batch_normalization", as: Double.self) == 0.9)
        #expect(try file.readAttribute("epsilon", of: "/model/batch_normalization", as: Double.self) == 0.001)
        #expect(try file.readAttribute("rng_state", of: "/model/dropout", as: UInt64.self) == snapshot.model.randomStates["dropout"])
        #expect(try file.readAttribute("bn_momentum_convention", as: String.self) == "moving = momentum*moving + (1-momentum)*batch")
        #expect(try file.readAttribute("bn_variance_convention", as: String.self) == "biased (divide by N)")
        #expect(try file.readAttribute("created", as: String.self) == "2027-01-15T08:00:00Z")
        #expect(try file.readAttribute("kind", of: "/optimizer", as: String.self) == "adam")
        #expect(try file.read("/optimizer/iterations", as: Int64.self).values == [17])
        #expect(try file.read("/optimizer/slots/dense/kernel/momentum", as: Float.self).shape == [3, 6])
        #expect(try file.read("/optimizer/slots/dense/kernel/velocity", as: Float.self).shape == [3, 6])
        #expect(try file.read("/history/logs/loss", as: Double.self).values == snapshot.history["loss"])
        #expect(try file.read("/history/epochs", as: Int64.self).values == [0, 1])
        let json = Data(try file.read("/iterator_state", as: UInt8.self).values)
        #expect(try IteratorState(encoded: json) == snapshot.iteratorState)
        #expect(try file.readAttribute("global_step", as: Int64.self) == 17)
    }

    @Test func aStrictLoadListsEveryDifferenceByName() throws {
        let url = try NativeFixtures.folder().appendingPathComponent("c.h5")
        try NativeCheckpoint.save(try midRunSnapshot(), optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7), to: url)
        // hidden 5 instead of 6 (shapes differ), no Dropout, an extra Dense layer.
        let other = try Sequential(inputFeatures: 3, [
            Dense(units: 5), BatchNormalization(momentum: 0.9), ActivationLayer(.relu),
            Dense(units: 1, activation: .sigmoid), Dense(units: 1, name: "head"),
        ], seed: 1)
        do {
            _ = try NativeCheckpoint.load(from: url, into: other)
            Issue.record("a mismatched model loaded")
        } catch let CheckpointError.variableMismatch(file, differences) {
            #expect(file == url.path)
            #expect(differences.contains("variable dense/kernel: expected float32 [3, 5], found float32 [3, 6]"))
            #expect(differences.contains("variable dense/bias: expected float32 [5], found float32 [6]"))
            #expect(differences.contains("variable batch_normalization/moving_mean: expected float32 [5], found float32 [6]"))
            #expect(differences.contains("variable dense_1/kernel: expected float32 [5, 1], found float32 [6, 1]"))
            #expect(differences.contains("missing variable head/kernel (expected float32 [1, 1])"))
            #expect(differences.contains("missing variable head/bias (expected float32 [1])"))
            #expect(differences.contains("optimizer slot dense/kernel/velocity: expected float32 [3, 5], found float32 [3, 6]"))
            #expect(differences.contains("unexpected RNG state of layer dropout (the model has no Dropout layer of that name)"))
            // 4 BN variables + 2 dense + 1 dense_1 kernel, 2 missing, 2×5 slots (dense k/b, BN γ/β, dense_1 k), 1 RNG.
            #expect(differences.count == 20)
        }
    }

    /// Adam's moments saved under the name "sgd" would load as SGD momentum and resume wrong.
    @Test func aSnapshotIsNotSavedUnderAnotherOptimizersName() throws {
        let folder = try NativeFixtures.folder()
        let url = folder.appendingPathComponent("mislabelled.h5")
        let snapshot = try midRunSnapshot()   // trained with Adam(learningRate: 0.01)
        for other: OptimizerConfig in [.sgd(learningRate: 0.1, momentum: 0.9, nesterov: false),
                                       .adam(learningRate: 0.01, beta1: 0.8, beta2: 0.999, epsilon: 1e-7)] {
            do {
                try NativeCheckpoint.save(snapshot, optimizer: other, to: url)
                Issue.record("saved Adam state under \(other)")
            } catch let error as CheckpointError {
                let message = error.localizedDescription
                #expect(message.contains(url.path) && message.contains(String(describing: snapshot.optimizerIdentity!))
                        && message.contains(String(describing: other.identity)), "\(message)")
            }
            #expect(!FileManager.default.fileExists(atPath: url.path), "no file is written")
        }
        // Another learning rate is the same optimizer (fine-tuning may change it).
        try NativeCheckpoint.save(snapshot, optimizer: .adam(learningRate: 0.5, beta1: 0.9, beta2: 0.999, epsilon: 1e-7), to: url)
        #expect(try NativeCheckpoint.load(from: url).optimizer.kind == "adam")
    }

    @Test func aStoredFloat64VariableIsADtypeDifference() throws {
        let url = try NativeFixtures.folder().appendingPathComponent("d.h5")
        let snapshot = try midRunSnapshot()
        try NativeCheckpoint.save(snapshot, optimizer: NativeFixtures.optimizerConfig, to: url)
        let file = try HDF5File.open(at: url, mode: .readWrite)
        let bias = try snapshot.model.variable("dense_1/bias").scalars.map(Double.init)
        try file.write(bias, to: "/model/dense_1/bias")
        try file.close()
        #expect(throws: CheckpointError.variableMismatch(
            file: url.path, differences: ["variable dense_1/bias: expected float32 [1], found float64 [1]"])) {
            try NativeCheckpoint.load(from: url, into: try NativeFixtures.model())
        }
    }

    @Test func aPartialLoadTakesWhatMatchesAndReportsTheRest() throws {
        let snapshot = try midRunSnapshot()
        let url = try NativeFixtures.folder().appendingPathComponent("e.h5")
        try NativeCheckpoint.save(snapshot, optimizer: .adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7), to: url)
        // Same trunk, a new head with 2 outputs: transfer learning.
        let target = try Sequential(inputFeatures: 3, [
            Dense(units: 6), BatchNormalization(momentum: 0.9), ActivationLayer(.relu),
            Dropout(rate: 0.25), Dense(units: 2, activation: .softmax),
        ], seed: 42)
        let loaded = try NativeCheckpoint.load(from: url, into: target, mode: .partial)
        let model = loaded.snapshot.model
        for name in ["dense/kernel", "dense/bias", "batch_normalization/gamma", "batch_normalization/moving_variance"] {
            #expect(try model.variable(name) == (try snapshot.model.variable(name)))
        }
        #expect(try model.variable("dense_1/kernel") == (try target.variable("dense_1/kernel")))
        #expect(loaded.skipped.contains("variable dense_1/kernel: expected float32 [6, 2], found float32 [6, 1]"))
        #expect(loaded.skipped.contains("optimizer slot dense_1/bias/momentum: expected float32 [2], found float32 [1]"))
        #expect(loaded.skipped.count == 6)   // dense_1 kernel and bias, and their 4 slots
        #expect(loaded.snapshot.optimizerState.slots["dense_1/kernel/momentum"] == nil)
        #expect(loaded.snapshot.optimizerState.slots["dense/kernel/momentum"] != nil)
    }

    @Test func aFileThatIsNotACheckpointIsRejectedWithItsName() throws {
        let url = try NativeFixtures.folder().appendingPathComponent("plain.h5")
        try HDF5File.atomicWrite(to: url) { try $0.write([Float(1)], to: "x") }
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: url, into: try NativeFixtures.model()) }
        #expect(error?.localizedDescription.contains(url.path) == true, "\(String(describing: error?.localizedDescription))")
        let missing = url.deletingLastPathComponent().appendingPathComponent("none.h5")
        do {
            _ = try NativeCheckpoint.load(from: missing, into: try NativeFixtures.model())
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.localizedDescription.contains(missing.path))
        }
    }

    @Test func withoutAStoredArchitectureLoadingNeedsAModel() throws {
        let url = try NativeFixtures.folder().appendingPathComponent("f.h5")
        try HDF5File.atomicWrite(to: url) { file in
            try NativeCheckpointWriter(file: file).write(try midRunSnapshot(), optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false),
                                                         architecture: nil)
        }
        #expect(throws: CheckpointError.invalidCheckpoint(
            file: url.path, object: "/", reason: "no model_config attribute; pass the model to load into")) {
            try NativeCheckpoint.load(from: url)
        }
    }
}

@Suite struct NativeArchitectureTests {
    @Test func aCheckpointRebuildsItsOwnModelFromTheStoredKerasConfig() throws {
        let box = SnapshotBox()
        var trainer = try NativeFixtures.trainer()
        try trainer.fit(NativeFixtures.pipeline(repeating: false), epochs: 1,
                        callbacks: [CheckpointCallback(frequency: .everyEpoch) { box.append($0) }], progress: .quiet)
        let snapshot = try #require(box.values.first)
        let url = try NativeFixtures.folder().appendingPathComponent("g.h5")
        try NativeCheckpoint.save(snapshot, optimizer: try OptimizerConfig(trainer.optimizer), to: url)
        let loaded = try NativeCheckpoint.load(from: url)
        #expect(loaded.architecture == (try KerasModelConfig.json(for: snapshot.model)))
        #expect(loaded.snapshot.model.layers.map(\.typeName) == snapshot.model.layers.map(\.typeName))
        #expect(NativeFixtures.bits(loaded.snapshot.model) == NativeFixtures.bits(snapshot.model))
        #expect(loaded.snapshot.model.randomStates == snapshot.model.randomStates)
        let x = try NativeFixtures.data(rows: 9, seed: 3).0
        #expect(try loaded.snapshot.model(x, mode: .inference) == (try snapshot.model(x, mode: .inference)))
    }
}
