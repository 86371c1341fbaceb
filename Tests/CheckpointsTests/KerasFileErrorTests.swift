import Foundation
import HDF5
import Testing
import Training
import ZIPFoundation
@testable import Checkpoints
import CheckpointsTestSupport

/// Files that are not the Keras file they claim to be, archives missing a member, weights files
/// missing a variable or holding a stray one, and saves that cannot be put in place: each is a
/// `CheckpointError` naming the file and the member, group or dataset at fault, and a failed
/// save leaves no file behind.
@Suite("Keras files of the wrong kind or missing parts are refused naming the file and member")
struct KerasFileErrorTests {
    private func folder(_ label: String = #function) throws -> URL { try NativeFixtures.folder(label) }

    @Test("a missing path, a folder and an empty file are told apart")
    func notAFile() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let absent = folder.appendingPathComponent("absent.keras")
        let empty = folder.appendingPathComponent("empty.keras")
        try Data().write(to: empty)
        let subfolder = folder.appendingPathComponent("model.keras")
        try FileManager.default.createDirectory(at: subfolder, withIntermediateDirectories: false)
        #expect(throws: CheckpointError.invalidFile(file: absent.path, message: "no such file")) { try KerasModelFile.load(absent) }
        #expect(throws: CheckpointError.invalidFile(file: subfolder.path, message: "is a directory")) { try KerasModelFile.load(subfolder) }
        #expect(throws: CheckpointError.invalidFile(file: empty.path, message: "the file is empty")) { try KerasModelFile.load(empty) }
    }

    @Test("text that is neither zip nor HDF5 is refused by content, whatever its name")
    func neitherZipNorHDF5() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.h5")
        try Data("not a model, just text".utf8).write(to: url)
        #expect(throws: CheckpointError.invalidFile(file: url.path, message: "neither a .keras (zip) archive nor an HDF5 file")) {
            try KerasModelFile.load(url)
        }
    }

    @Test("a native checkpoint given as a Keras file points at NativeCheckpoint.load")
    func nativeCheckpoint() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("ckpt.h5")
        let snapshot = TrainingSnapshot(model: try NativeFixtures.model(), optimizerState: OptimizerState(), iteratorState: nil,
                                        epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
        try NativeCheckpoint.save(snapshot, optimizer: .sgd(learningRate: 0.1, momentum: 0, nesterov: false), to: url)
        #expect(throws: CheckpointError.invalidFile(
            file: url.path, message: "a Batchwise checkpoint, not a Keras file (load it with NativeCheckpoint.load)")) {
            try KerasModelFile.load(url)
        }
    }

    @Test("an HDF5 file of data, and a legacy file without model_config, are not Keras models")
    func hdf5ButNotKeras() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data.h5")
        try HDF5File.atomicWrite(to: data) { try $0.write([Float](repeating: 1, count: 6), shape: [2, 3], to: "/x") }
        #expect(throws: CheckpointError.invalidFile(
            file: data.path, message: "an HDF5 file but not a Keras model or weights file (no /layers, model_config or layer_names)")) {
            try KerasModelFile.load(data)
        }
        let legacy = folder.appendingPathComponent("legacy.h5")
        try HDF5File.atomicWrite(to: legacy) { try $0.createGroup("/model_weights") }
        #expect(throws: CheckpointError.missingObject(file: legacy.path, path: "/@model_config",
                                                      message: "a legacy model file without its model_config attribute")) {
            try KerasModelFile.load(legacy)
        }
    }

    @Test("a weights-only file given to load (not loadWeights) says it has no architecture")
    func weightsOnly() throws {
        for (name, kind) in [("seed_model.weights.h5", "weights.h5"), ("seed_model.legacy-weights.h5", "legacy weights h5")] {
            let url = KerasFixtures.url(name)
            #expect(throws: CheckpointError.invalidFile(
                file: url.path,
                message: "a \(kind) file holds weights only, no architecture: load it into a model with KerasModelFile.loadWeights, "
                    + "or use a .keras or full-model .h5 file")) {
                try KerasModelFile.load(url)
            }
        }
    }

    /// A zip holding `members` (name → text), written with ZIPFoundation like any zip tool.
    private func zip(_ url: URL, _ members: [(String, Data)]) throws {
        let archive = try Archive(url: url, accessMode: .create)
        for (member, data) in members {
            try archive.addEntry(with: member, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    @Test("a .keras archive missing config.json or model.weights.h5 names the member; a non-UTF-8 config is refused")
    func archiveMembers() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Data(contentsOf: KerasFixtures.url("seed_model.weights.h5"))
        let config = Data(try KerasFixtures.reference("seed_model").modelJSON.utf8)

        let noConfig = folder.appendingPathComponent("no-config.keras")
        try zip(noConfig, [("metadata.json", Data("{}".utf8)), ("model.weights.h5", weights)])
        #expect(throws: CheckpointError.missingObject(file: noConfig.path, path: "config.json", message: "the archive has no such member")) {
            try KerasModelFile.load(noConfig)
        }
        let noWeights = folder.appendingPathComponent("no-weights.keras")
        try zip(noWeights, [("config.json", config)])
        #expect(throws: CheckpointError.missingObject(file: noWeights.path, path: "model.weights.h5",
                                                      message: "the archive has no such member")) {
            try KerasModelFile.load(noWeights)
        }
        let latin1 = folder.appendingPathComponent("latin1.keras")
        try zip(latin1, [("config.json", Data([0x7B, 0xFF, 0xFE, 0x7D])), ("model.weights.h5", weights)])
        #expect(throws: CheckpointError.invalidFile(file: latin1.path, message: "config.json is not UTF-8 text")) {
            try KerasModelFile.load(latin1)
        }
        // The same members, complete, load: the refusals above are the missing or bad member's.
        let complete = folder.appendingPathComponent("complete.keras")
        try zip(complete, [("config.json", config), ("model.weights.h5", weights)])
        #expect(try KerasModelFile.load(complete).model.layers.count == 4)
    }

    @Test("saving under a name that is no Keras format is refused and writes nothing")
    func saveUnknownExtension() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.onnx")
        #expect(throws: CheckpointError.unsupported(file: url.path, what: "cannot tell the Keras format from the name; use .keras or .weights.h5")) {
            try KerasModelFile.save(try NativeFixtures.model(), to: url)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test("saving a .keras into a missing folder fails naming the path and leaves nothing behind", arguments: ["m.keras", "m.weights.h5"])
    func saveIntoMissingFolder(name: String) throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("absent").appendingPathComponent(name)
        let error = #expect(throws: (any Error).self) { try KerasModelFile.save(try NativeFixtures.model(), to: url) }
        let text = (error as? LocalizedError)?.errorDescription ?? ""
        #expect(error is HDF5Error || error is CheckpointError, "untyped: \(String(describing: error))")
        #expect(text.contains(folder.appendingPathComponent("absent").path), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// A writable copy of `seed_model.weights.h5` and the model it belongs to.
    private func weightsCopy(in folder: URL) throws -> (URL, Sequential) {
        let url = folder.appendingPathComponent("w.weights.h5")
        try FileManager.default.copyItem(at: KerasFixtures.url("seed_model.weights.h5"), to: url)
        let model = try KerasModelConfig.model(fromJSON: try KerasFixtures.reference("seed_model").modelJSON, file: "json")
        return (url, model)
    }

    private func edit(_ url: URL, _ body: (HDF5File) throws -> Void) throws {
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try body(file)
        try file.close()
    }

    @Test("Keras 3 weights with a missing layer group, a stray layer, a group for a variable or a gap name the path")
    func weightsStructure() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var (url, model) = try weightsCopy(in: folder)
        let before = model.variables
        try edit(url) { try $0.remove("/layers/dense/vars") }
        #expect(throws: CheckpointError.missingObject(file: url.path, path: "/layers/dense/vars",
                                                      message: "no variables for layer 'dense' (Dense)")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }

        (url, model) = try weightsCopy(in: try self.folder("stray"))
        try edit(url) { file in
            try file.createGroup("/layers/extra/vars")
            try file.write([Float](repeating: 0, count: 2), shape: [2], to: "/layers/extra/vars/0")
        }
        #expect(throws: CheckpointError.invalidFile(
            file: url.path, message: "/layers/extra holds variables but the model has no layer 'extra' (layers: "
                + model.layers.map(\.name).joined(separator: ", ") + ")")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }

        (url, model) = try weightsCopy(in: try self.folder("group"))
        try edit(url) { file in
            try file.remove("/layers/dense/vars/1")
            try file.createGroup("/layers/dense/vars/1")
        }
        #expect(throws: CheckpointError.invalidFile(file: url.path, message: "/layers/dense/vars/1 is not a numbered variable dataset")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }

        (url, model) = try weightsCopy(in: try self.folder("gap"))
        try edit(url) { file in
            let bias = try file.read("/layers/dense/vars/1", as: Float.self)
            try file.remove("/layers/dense/vars/1")
            try file.write(bias.values, shape: bias.shape, to: "/layers/dense/vars/2")
        }
        #expect(throws: CheckpointError.missingObject(file: url.path, path: "/layers/dense/vars/1", message: "variable 1 is missing")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }
        #expect(model.variables == before, "a refused load leaves the model as it was")
    }

    @Test("a weights file whose /layers is a dataset, not a group, is not Keras 3 weights")
    func layersNotAGroup() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("odd.weights.h5")
        try HDF5File.atomicWrite(to: url) { try $0.write([Float(1)], to: "/layers") }
        var model = try NativeFixtures.model()
        #expect(throws: CheckpointError.missingObject(file: url.path, path: "/layers", message: "not a Keras 3 weights file (no /layers group)")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }
    }

    @Test("legacy weights with a misplaced or missing weight_names name the group and weight")
    func legacyWeightNames() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("w.h5")
        try FileManager.default.copyItem(at: KerasFixtures.url("seed_model.legacy-weights.h5"), to: url)
        var model = try KerasModelConfig.model(fromJSON: try KerasFixtures.reference("seed_model").modelJSON, file: "json")
        let group = "/dense"
        let reader = try HDF5File.open(at: url)
        let names = try reader.readAttribute("weight_names", of: group, as: [String].self)
        try reader.close()
        try #require(names.count == 2)
        try edit(url) { try $0.setAttribute("weight_names", [names[1], names[0]], on: group) }
        #expect(throws: CheckpointError.invalidFile(
            file: url.path, message: "\(group): weight '\(names[1])' is in the place of 'kernel' of layer 'dense'")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }
        try edit(url) { try $0.removeAttribute("weight_names", of: group) }
        #expect(throws: CheckpointError.missingObject(file: url.path, path: "\(group)@weight_names", message: "missing attribute")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }
        try edit(url) { try $0.setAttribute("weight_names", [1.0, 2.0], on: group) }
        #expect(throws: CheckpointError.invalidFile(file: url.path, message: "\(group)@weight_names is not a list of strings")) {
            try KerasModelFile.loadWeights(url, into: &model)
        }
    }
}
