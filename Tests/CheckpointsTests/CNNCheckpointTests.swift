import Foundation
import Datasets
import HDF5
import Testing
import Tensors
import Training
@testable import Checkpoints

/// Image models in native checkpoints (issue 18, item 4): a CNN with NHWC BatchNormalization
/// and Dropout, trained by Adam over a shuffled, prefetched pipeline of `[6, 6, 1]` images,
/// checkpoints mid-epoch and resumes bit for bit; the file records the per-example input shape
/// (`/model` attribute `input_shape`, format_version 2), and a checkpoint of the older layout
/// (format_version 1, `input_features` only), committed as
/// `fixtures/compat/v1/cnn-mid-epoch.checkpoint.h5`, still loads and resumes exactly.
///
/// `BATCHWISE_REGENERATE_COMPAT=1 swift test --filter CNNCheckpointTests` rewrites that file with
/// the current writer; only for a deliberate, CHANGELOG-documented format change (and then into a
/// new folder: the point of the file is that it is old).
@Suite("CNN native checkpoints: input shape recorded, exact resume, format_version 1 files still load")
struct CNNCheckpointTests {
    static let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/compat/v1/cnn-mid-epoch.checkpoint.h5")
    static let prepared: Result<URL, CompatibilityCheckpointTests.RegenerationFailed> = {
        do {
            if ProcessInfo.processInfo.environment["BATCHWISE_REGENERATE_COMPAT"] == "1" { try regenerate(to: committed) }
            return .success(committed)
        } catch {
            return .failure(.init(reason: String(describing: error)))
        }
    }()
    static var v1Fixture: URL { get throws { try prepared.get() } }
    static let savedStep = 7
    static let epochs = 3
    static let stepsPerEpoch = 5
    static let optimizer = OptimizerConfig.adam(learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
    static let loss = Loss(.sparseCategoricalCrossentropy)

    /// Conv2D → NHWC BN → ReLU → MaxPooling2D → Dropout → Flatten → Dense(softmax) on 6x6x1 images.
    static func model(seed: UInt64 = 21) throws -> Sequential {
        try Sequential(inputShape: [6, 6, 1], [
            Conv2D(filters: 3, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(momentum: 0.8), ReLU(),
            MaxPooling2D(), Dropout(rate: 0.2), Flatten(), Dense(units: 3, activation: .softmax),
        ], seed: seed, name: "compat_cnn_v1")
    }

    /// 40 images with class labels from their brightness pattern; Slices → shuffle(24) → repeat
    /// → batch(8) → map → prefetch(2, state every 3 batches).
    static func pipeline() throws -> AnyDataset<Trainer.Batch> {
        var rng = SplitMix64(seed: 2027)
        let x = (0..<(40 * 36)).map { _ in Float(rng.nextNormal()) }
        let y = (0..<40).map { image -> Float in
            let top = x[(image * 36)..<(image * 36 + 18)].reduce(0, +), bottom = x[(image * 36 + 18)..<(image * 36 + 36)].reduce(0, +)
            return top > bottom + 1 ? 0 : (bottom > top + 1 ? 1 : 2)
        }
        return try Slices(try Tensor(shape: [40, 6, 6, 1], scalars: x), try Tensor(shape: [40, 1], scalars: y))
            .shuffle(bufferSize: 24, seed: 9).repeat().batch(8).map { ($0.0, $0.1) }.prefetch(2, stateInterval: 3)
            .eraseToAnyDataset()
    }

    static func trainer(_ model: Sequential, _ optimizer: any Optimizer = Adam(learningRate: 0.01)) -> Trainer {
        Trainer(model: model, optimizer: optimizer, loss: loss)
    }

    /// Trains and returns the snapshot taken at `savedStep` (epoch 1, step 2).
    static func midEpochSnapshot() throws -> TrainingSnapshot {
        let collector = SnapshotBox()
        var saving = trainer(try model())
        try saving.fit(try pipeline(), epochs: epochs, stepsPerEpoch: stepsPerEpoch,
                       callbacks: [CheckpointCallback(frequency: .everySteps(savedStep)) { snapshot in
                           if snapshot.globalStep == savedStep { collector.value = snapshot }
                       }], progress: .quiet)
        return try #require(collector.value)
    }

    static func regenerate(to fixture: URL) throws {
        try FileManager.default.createDirectory(at: fixture.deletingLastPathComponent(), withIntermediateDirectories: true)
        try NativeCheckpoint.save(try midEpochSnapshot(), optimizer: optimizer, to: fixture, loss: loss,
                                  created: Date(timeIntervalSince1970: 1_796_515_200))
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bw-cnn-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    func bits(_ model: Sequential) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.variables.map { ($0.name, $0.value.scalars.map(\.bitPattern)) })
    }

    /// Resumes `loaded` and expects the uninterrupted run bit for bit: kernels, BN moving
    /// statistics, the Dropout generator, Adam's slots and the history.
    func expectExactResume(from loaded: LoadedCheckpoint) throws {
        var straight = Self.trainer(try Self.model())
        let straightHistory = try straight.fit(try Self.pipeline(), epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch,
                                               progress: .quiet)
        var resumed = Self.trainer(loaded.snapshot.model, loaded.makeOptimizer())
        let history = try resumed.fit(try Self.pipeline(), epochs: Self.epochs, stepsPerEpoch: Self.stepsPerEpoch,
                                      progress: .quiet, resumingFrom: loaded.snapshot)
        #expect(resumed.model.inputShape == [6, 6, 1])
        #expect(bits(resumed.model) == bits(straight.model))
        #expect(try resumed.model.variable("batch_normalization/moving_mean") != Self.model().variable("batch_normalization/moving_mean"))
        #expect(resumed.model.randomStates == straight.model.randomStates)
        #expect(resumed.optimizer.state.iterations == Int64(Self.epochs * Self.stepsPerEpoch))
        #expect(resumed.optimizer.state.slots["conv2d/kernel/momentum"]?.shape == [3, 3, 1, 3])
        #expect(resumed.optimizer.state.slots.mapValues { $0.scalars.map(\.bitPattern) }
                == straight.optimizer.state.slots.mapValues { $0.scalars.map(\.bitPattern) })
        #expect(history == straightHistory)
    }

    @Test("a CNN saved mid-epoch records its input shape and resumes bit for bit, rebuilt from the file or loaded into a model")
    func savesInputShapeAndResumesExactly() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cnn.h5")
        try NativeCheckpoint.save(try Self.midEpochSnapshot(), optimizer: Self.optimizer, to: url, loss: Self.loss)
        let file = try HDF5File.open(at: url)
        #expect(try file.readAttribute("format_version", as: Int64.self) == NativeCheckpoint.formatVersion)
        #expect(try file.readAttribute("input_shape", of: "/model", as: [Int64].self) == [6, 6, 1])
        #expect(try file.readAttribute("input_features", of: "/model", as: Int64.self) == 36)
        try file.close()
        let rebuilt = try NativeCheckpoint.load(from: url)
        #expect(rebuilt.snapshot.model.inputShape == [6, 6, 1] && rebuilt.snapshot.globalStep == Self.savedStep)
        try expectExactResume(from: rebuilt)
        try expectExactResume(from: try NativeCheckpoint.load(from: url, into: try Self.model(seed: 1234)))
    }

    @Test("the committed format_version 1 CNN checkpoint (input_features only) loads and resumes bit for bit")
    func formatVersionOneCNNResumesExactly() throws {
        let url = try Self.v1Fixture
        let file = try HDF5File.open(at: url)
        #expect(try file.readAttribute("format_version", as: Int64.self) == 1)
        #expect(try !file.hasAttribute("input_shape", of: "/model"))
        try file.close()
        let loaded = try NativeCheckpoint.load(from: url)
        #expect(loaded.created == "2026-12-06T00:00:00Z" && loaded.loss == Self.loss && loaded.optimizer == Self.optimizer)
        #expect(loaded.snapshot.model.name == "compat_cnn_v1" && loaded.snapshot.model.inputShape == [6, 6, 1])
        #expect(loaded.snapshot.epoch == 1 && loaded.snapshot.stepInEpoch == 2)
        try expectExactResume(from: loaded)
        try expectExactResume(from: try NativeCheckpoint.load(from: url, into: try Self.model(seed: 99)))
    }

    /// A copy of `source` in `folder` with `edit` applied to its file.
    func edited(_ source: URL, in folder: URL, _ label: String, _ edit: (HDF5File) throws -> Void) throws -> URL {
        let copy = folder.appendingPathComponent("\(label).h5")
        try FileManager.default.copyItem(at: source, to: copy)
        let file = try HDF5File.open(at: copy, mode: .readWrite)
        try edit(file)
        try file.close()
        return copy
    }

    func checkpointError(_ body: () throws -> Void) -> CheckpointError? {
        do { try body() } catch let error as CheckpointError { return error } catch {
            Issue.record("untyped error \(error)")
        }
        return nil
    }

    @Test("a missing, mistyped or impossible input_shape or input_features is a typed error naming the file and the attribute")
    func malformedInputShapesAreTypedErrors() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cnn.h5")
        try NativeCheckpoint.save(try Self.midEpochSnapshot(), optimizer: Self.optimizer, to: url, loss: Self.loss)
        let cases: [(String, String, (HDF5File) throws -> Void)] = [
            ("missing", "input_shape", { try $0.removeAttribute("input_shape", of: "/model") }),
            ("zero", "input_shape", { try $0.setAttribute("input_shape", [Int64(6), 0, 1], on: "/model") }),
            ("negative", "input_shape", { try $0.setAttribute("input_shape", [Int64(-6), 6, 1], on: "/model") }),
            ("empty", "input_shape", { try $0.setAttribute("input_shape", [Int64](), on: "/model") }),
            ("huge", "input_shape", { try $0.setAttribute("input_shape", [Int64(1) << 40, 6, 1], on: "/model") }),
            ("text", "input_shape", { try $0.setAttribute("input_shape", "6x6x1", on: "/model") }),
            ("inconsistent", "input_features", { try $0.setAttribute("input_features", Int64(35), on: "/model") }),
            ("nonpositive", "input_features", { try $0.setAttribute("input_features", Int64(0), on: "/model") }),
        ]
        for (label, attribute, edit) in cases {
            let bad = try edited(url, in: folder, label, edit)
            for model in [nil, try Self.model()] as [Sequential?] {
                let error = checkpointError { _ = try NativeCheckpoint.load(from: bad, into: model) }
                guard case let .invalidCheckpoint(file, object, reason)? = error else {
                    Issue.record("\(label): expected invalidCheckpoint, got \(String(describing: error))")
                    continue
                }
                #expect(file == bad.path && object == "/model" && reason.contains("'\(attribute)'"), "\(label): \(reason)")
            }
        }
        // A version 1 file without input_features has nothing to say about its input.
        let v1 = try edited(try Self.v1Fixture, in: folder, "v1-missing") { try $0.removeAttribute("input_features", of: "/model") }
        guard case let .invalidCheckpoint(file, _, reason)? = checkpointError({ _ = try NativeCheckpoint.load(from: v1) }) else {
            Issue.record("a version 1 file without input_features loaded")
            return
        }
        #expect(file == v1.path && reason.contains("'input_features'"), "\(reason)")
    }

    /// Conv2D → GlobalAveragePooling2D → Dense has the same variables for any image size, so
    /// only the recorded input shape tells a checkpoint of 6x6 images from a model of 10x10.
    @Test("loading into a model built for another input shape lists the difference (strict) or reports it (partial)")
    func anotherInputShapeIsADifference() throws {
        func pooled(_ side: Int) throws -> Sequential {
            try Sequential(inputShape: [side, side, 1], [Conv2D(filters: 2, kernelSize: Size2D(square: 3)), GlobalAveragePooling2D(),
                                                         Dense(units: 1, activation: .sigmoid)], seed: 3)
        }
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("pooled.h5")
        let snapshot = TrainingSnapshot(model: try pooled(6), optimizerState: OptimizerState(), iteratorState: nil,
                                        epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: Self.optimizer, to: url)
        #expect(try NativeCheckpoint.load(from: url, into: try pooled(6)).skipped.isEmpty)
        guard case let .variableMismatch(file, differences)? = checkpointError({ _ = try NativeCheckpoint.load(from: url, into: try pooled(10)) })
        else {
            Issue.record("a 6x6 checkpoint loaded strictly into a 10x10 model")
            return
        }
        #expect(file == url.path && differences.count == 1, "\(differences)")
        #expect(differences.first?.contains("[10, 10, 1]") == true && differences.first?.contains("[6, 6, 1]") == true
                && differences.first?.contains("input_shape") == true, "\(differences)")
        let partial = try NativeCheckpoint.load(from: url, into: try pooled(10), mode: .partial)
        #expect(partial.skipped == differences && partial.snapshot.model.inputShape == [10, 10, 1])
        #expect(partial.snapshot.model.variables.map(\.value) == (try pooled(6)).variables.map(\.value))

        // A version 1 checkpoint knows its input width only; a model of another width differs.
        guard case let .variableMismatch(_, v1Differences)? = checkpointError({
            _ = try NativeCheckpoint.load(from: try Self.v1Fixture, into: try Sequential(inputShape: [7, 7, 1], [
                Conv2D(filters: 3, kernelSize: Size2D(square: 3), padding: .same), BatchNormalization(momentum: 0.8), ReLU(),
                MaxPooling2D(), Dropout(rate: 0.2), Flatten(), Dense(units: 3, activation: .softmax),
            ], seed: 1, name: "compat_cnn_v1"))
        }) else {
            Issue.record("the version 1 CNN checkpoint loaded into a 7x7 model")
            return
        }
        #expect(v1Differences.contains { $0.contains("input width") && $0.contains("49") && $0.contains("36") && $0.contains("input_features") },
                "\(v1Differences)")
    }
}

/// A snapshot handed out by a checkpoint callback.
private final class SnapshotBox: @unchecked Sendable {
    var value: TrainingSnapshot?
}
