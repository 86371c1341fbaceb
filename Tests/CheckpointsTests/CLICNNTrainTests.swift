import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Issue 18 item 4 through the executable: `batchwise train --layers` with image items and
/// `--inputs 8x8x1` trains a CNN on `[rows, 8, 8, 1]` features, checkpoints it natively with its
/// input shape and resumes it bit for bit; bad image items and shapes are usage errors naming them.
@Suite(.serialized) struct CLICNNTrainTests {
    static let spec = "conv2d:4:3x3:same:relu,batch_normalization,max_pooling2d:2,dropout:0.25,flatten,dense:3:softmax"

    private func batchwise(_ arguments: [String]) throws -> ChildProcess {
        try CLIIsolationTests.batchwise(arguments, deadline: 120)
    }

    /// `images.h5`: 24 seeded 8x8x1 images with labels 0..<3 (uint8); `flat.h5`: the same as rows of 64.
    private func folder(_ label: String = #function) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        var rng = SplitMix64(seed: 31)
        let x = (0..<(24 * 64)).map { _ in Float(rng.nextNormal()) }
        let y = (0..<24).map { UInt8($0 % 3) }
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("images.h5")) { file in
            try file.write(x, shape: [24, 8, 8, 1], to: "/x")
            try file.write(y, to: "/y")
        }
        try HDF5File.atomicWrite(to: folder.appendingPathComponent("flat.h5")) { file in
            try file.write(x, shape: [24, 64], to: "/x")
            try file.write(y, to: "/y")
        }
        return folder
    }

    private func train(_ folder: URL, _ extra: [String], data: String = "images.h5", layers: String = spec,
                       inputs: String = "8x8x1") throws -> ChildProcess {
        try batchwise(["train", "--layers", layers, "--inputs", inputs, "--data", folder.appendingPathComponent(data).path,
                       "--loss", "sparse_categorical_crossentropy", "--optimizer", "adam", "--batch-size", "8", "--seed", "5",
                       "--quiet"] + extra)
    }

    @Test(.timeLimit(.minutes(5)))
    func aSpecBuiltCNNTrainsCheckpointsAndResumesBitForBit() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let straight = try train(folder, ["--epochs", "2", "--save", path("straight.h5")])
        #expect(straight.status == 0, "\(straight.stderr)")
        let first = try train(folder, ["--epochs", "1", "--save", path("first.h5")])
        #expect(first.status == 0, "\(first.stderr)")
        let file = try HDF5File.open(at: folder.appendingPathComponent("first.h5"))
        #expect(try file.readAttribute("input_shape", of: "/model", as: [Int64].self) == [8, 8, 1])
        try file.close()
        let afterOne = try NativeCheckpoint.load(from: folder.appendingPathComponent("first.h5"))
        #expect(afterOne.snapshot.model.inputShape == [8, 8, 1] && afterOne.snapshot.globalStep == 3)
        #expect(afterOne.snapshot.model.layers.map(\.typeName) == ["Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout",
                                                                  "Flatten", "Dense"])
        let resumed = try batchwise(["train", "--resume", path("first.h5"), "--data", path("images.h5"), "--epochs", "2",
                                     "--batch-size", "8", "--seed", "5", "--quiet", "--save", path("resumed.h5")])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try NativeCheckpoint.load(from: folder.appendingPathComponent("straight.h5")).snapshot
        let b = try NativeCheckpoint.load(from: folder.appendingPathComponent("resumed.h5")).snapshot
        #expect(NativeFixtures.bits(a.model) == NativeFixtures.bits(b.model))   // kernels and moving statistics
        #expect(NativeFixtures.bits(a.optimizerState) == NativeFixtures.bits(b.optimizerState))
        #expect(a.model.randomStates == b.model.randomStates && a.history == b.history && b.globalStep == 6)
        // The step changed the weights (so equality above is not two untrained models).
        #expect(NativeFixtures.bits(a.model) != NativeFixtures.bits(afterOne.snapshot.model))
        // The printed digest is the saved model's, and the same for both runs.
        let digest = { (run: ChildProcess) in run.stdout.split(separator: "\n").last { $0.hasPrefix("weights sha256: ") } }
        #expect(digest(straight) != nil && digest(straight) == digest(resumed))
    }

    @Test(.timeLimit(.minutes(5)))
    func flatRowsTrainTheSameNetworkBehindAReshape() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reshaped = try train(folder, ["--save", folder.appendingPathComponent("r.keras").path], data: "flat.h5",
                                 layers: "reshape:8x8x1," + Self.spec, inputs: "64")
        #expect(reshaped.status == 0, "\(reshaped.stderr)")
        #expect(try KerasModelFile.load(folder.appendingPathComponent("r.keras")).model.inputShape == [64])
        // Rows of 64 for an 8x8x1 model: refused with the shapes and both fixes.
        let mismatch = try train(folder, ["--save", folder.appendingPathComponent("m.keras").path], data: "flat.h5")
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("/x") && mismatch.stderr.contains("features have shape [24, 64]")
                && mismatch.stderr.contains("the model takes [rows, 8, 8, 1]") && mismatch.stderr.contains("Reshape"),
                "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("m.keras").path))
    }

    @Test(.timeLimit(.minutes(5)))
    func badImageItemsAndShapesAreUsageErrorsNamingThem() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let save = ["--save", folder.appendingPathComponent("x.keras").path]
        let badItem = try train(folder, save, layers: "conv2d:4:3x3:sideways,flatten,dense:3:softmax")
        #expect(badItem.status == 64)
        #expect(badItem.stderr.contains("item 1 \"conv2d:4:3x3:sideways\": unknown option 'sideways'"), "\(badItem.stderr)")
        let badShape = try train(folder, save, inputs: "8x8xone")
        #expect(badShape.status == 64)
        #expect(badShape.stderr.contains("'8x8xone'") && badShape.stderr.contains("--inputs"), "\(badShape.stderr)")
        // A kernel larger than its valid-padded input: the layer, the shapes and the fix.
        let tooLarge = try train(folder, save, layers: "conv2d:4:9x9,flatten,dense:3:softmax")
        #expect(tooLarge.status == 1)
        #expect(tooLarge.stderr.contains("'conv2d'") && tooLarge.stderr.contains("9x9") && tooLarge.stderr.contains("8x8")
                && tooLarge.stderr.contains("\"same\"") && tooLarge.stderr.contains("--layers"), "\(tooLarge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.keras").path))
        let help = try batchwise(["train", "--help"])
        #expect(help.stdout.contains("conv2d:FILTERS:KERNEL") && help.stdout.contains("8x8x1"), "\(help.stdout)")
    }
}
