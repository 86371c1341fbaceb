import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Callback states in native checkpoints (`/callbacks/<name>`) that cannot be written, or that
/// a hand edit broke: each is a `CheckpointError.invalidCheckpoint` naming the file and the
/// object at fault, and a refused save leaves neither the file nor a temporary behind.
@Suite("Callback states that cannot be saved or were damaged are refused naming the object")
struct NativeCallbackStateErrorTests {
    /// A snapshot of the fixture model whose EarlyStopping state keeps a copy of the model.
    static func snapshot(_ state: CallbackState) throws -> TrainingSnapshot {
        var snapshot = try NativeCheckpointErrorTests.snapshot()
        snapshot.callbackStates = ["EarlyStopping": state]
        return snapshot
    }

    @Test("a key that is both a value and a setting is refused at the save, and nothing is written")
    func keyBothValueAndSetting() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("ckpt.h5")
        let state = CallbackState(values: ["best": 0.5, "monitor": 1], settings: ["monitor": "loss"])
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/callbacks/EarlyStopping",
                                                          reason: "'monitor' is both a value and a setting of the callback state")) {
            try NativeCheckpoint.save(try Self.snapshot(state), optimizer: NativeCheckpointErrorTests.sgd, to: url, loss: .binaryCrossentropy)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the refused save left a file")
    }

    @Test("a callback or running-sum name that is no HDF5 link name is refused at the save, naming the checkpoint",
          arguments: ["a/b", "..", ""])
    func logNameNotALinkName(name: String) throws {
        let folder = try NativeFixtures.folder("logNameNotALinkName")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("ckpt.h5")
        var callbacks = try NativeCheckpointErrorTests.snapshot(), sums = callbacks
        callbacks.callbackStates = [name: CallbackState(values: ["best": 0.5])]
        sums.runningSums = [name: RunningSum(total: 1, weight: 1)]
        for (snapshot, group) in [(callbacks, "/callbacks"), (sums, "/running_sums")] {
            #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: group,
                                                              reason: "log name '\(name)' cannot be an HDF5 link name")) {
                try NativeCheckpoint.save(snapshot, optimizer: NativeCheckpointErrorTests.sgd, to: url, loss: .binaryCrossentropy)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the refused save left a file")
    }

    /// A checkpoint whose EarlyStopping state keeps the model, then `body` edits the kept copy.
    private func damagedKeptModel(_ label: String = #function, _ body: (HDF5File, _ variable: NamedVariable) throws -> Void) throws
        -> (url: URL, variable: NamedVariable) {
        let model = try NativeFixtures.model()
        let url = try NativeFixtures.folder(label).appendingPathComponent("ckpt.h5")
        let state = CallbackState(values: ["best": 0.5], settings: ["monitor": "loss"], model: model)
        try NativeCheckpoint.save(try Self.snapshot(state), optimizer: NativeCheckpointErrorTests.sgd, to: url, loss: .binaryCrossentropy)
        let intact = try NativeCheckpoint.load(from: url)
        #expect(intact.snapshot.callbackStates["EarlyStopping"]?.model != nil, "the kept model was not saved")
        let variable = try #require(model.variables.first)
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try body(file, variable)
        try file.close()
        return (url, variable)
    }

    @Test("a kept model's variable of the wrong shape names its dataset and both shapes")
    func keptModelWrongShape() throws {
        let (url, variable) = try damagedKeptModel { file, variable in
            let path = "/callbacks/EarlyStopping/model/\(variable.name)"
            try file.remove(path)
            try file.write([Float](repeating: 0, count: 5), shape: [5], to: path)
        }
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/callbacks/EarlyStopping/model/\(variable.name)",
                                                          reason: "shape [5], the model's \(variable.value.shape)")) {
            try NativeCheckpoint.load(from: url)
        }
    }

    @Test("a kept model without one of its variables names the missing dataset")
    func keptModelMissingVariable() throws {
        let (url, variable) = try damagedKeptModel { file, variable in
            try file.remove("/callbacks/EarlyStopping/model/\(variable.name)")
        }
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/callbacks/EarlyStopping/model/\(variable.name)",
                                                          reason: "missing variable of the kept model")) {
            try NativeCheckpoint.load(from: url)
        }
    }
}
