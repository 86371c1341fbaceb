import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Batchwise's `.keras` and `.weights.h5` output compared, field by field, with what Keras 3
/// itself writes for the same architectures (`fixtures/keras-written/`, made by
/// `make_fixtures.py` there; committed, so no Python runs here). A key the writer drops, renames
/// or spells differently fails the test with its JSON or HDF5 path.
@Suite("Batchwise writes the config.json, metadata.json and weight layout Keras 3 writes")
struct KerasWrittenFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/keras-written")

    /// The only differences allowed, because Keras itself varies them from run to run or
    /// version to version:
    /// - `shared_object_id` (config.json, in a layer's `dtype` policy): a Python object id that
    ///   Keras adds to every layer after the first and that changes on every run; Batchwise
    ///   leaves it out (Keras loads files without it).
    /// - `date_saved` (metadata.json): the time of the save.
    /// - `keras_version` (metadata.json): the writer's version; Batchwise writes the Keras
    ///   version whose format it follows, the fixture the version that made it.
    static let ignoredConfigKeys: Set<String> = ["shared_object_id"]
    static let ignoredMetadataKeys: Set<String> = ["date_saved", "keras_version"]

    /// Keys Keras 3.15.1 writes that Batchwise may leave out (Keras fills in the same defaults),
    /// because Keras versions differ on them: BatchNormalization's `renorm`, `renorm_clipping`,
    /// `renorm_momentum` (added back to Keras 3 by keras-team/keras#22047, January 2026), Dense's
    /// `quantization_config` and the initializers' `input_axes` / `output_axes` (recent
    /// arguments too). A Keras 3 release that lacks such an argument refuses a config that
    /// names it ("Unrecognized keyword arguments passed to BatchNormalization: {'renorm': ...}",
    /// keras-team/keras#19063), so leaving them out keeps Batchwise's files loadable there.
    /// When Batchwise does write one of them, its value must still be Keras's.
    static let versionDependentConfigKeys: Set<String> = [
        "renorm", "renorm_clipping", "renorm_momentum", "quantization_config", "input_axes", "output_axes",
    ]

    /// Every architecture Batchwise saves in KerasSaveTests.
    static let models = KerasFixtures.models + ["swift_mixed"]

    /// Saves `name` with Batchwise as KerasSaveTests does, into `folder`: a Keras fixture model
    /// loaded from its `.keras` with its optimizer and loss, or the Swift-trained model.
    static func writeWithBatchwise(_ name: String, to folder: URL) throws -> (archive: URL, weights: URL) {
        let archive = folder.appendingPathComponent("\(name).keras")
        let weights = folder.appendingPathComponent("\(name).weights.h5")
        if name == "swift_mixed" {
            let (model, sgd, _) = try KerasSwiftTrainedExportTests.trainedModel()
            try KerasModelFile.save(model, optimizer: sgd, loss: .sparseCategoricalCrossentropy, to: archive)
            try KerasModelFile.save(model, optimizer: sgd, to: weights)
        } else {
            let original = try KerasModelFile.load(KerasFixtures.url("\(name).keras"))
            try KerasModelFile.save(original.model, optimizer: original.optimizer, loss: original.loss, to: archive)
            try KerasModelFile.save(original.model, optimizer: original.optimizer, to: weights)
        }
        return (archive, weights)
    }

    /// Writes `name` with Batchwise into a temporary folder, opens the archive and hands both
    /// to `body`; removes everything afterwards.
    static func withBatchwiseFiles(_ name: String,
                                   _ body: ((archive: URL, weights: URL), KerasArchive.Contents) throws -> Void) throws {
        let folder = try KerasFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = try writeWithBatchwise(name, to: folder)
        let contents = try KerasArchive.read(written.archive)
        defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
        try body(written, contents)
    }

    static func fixture(_ file: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent(file)))
    }

    @Test("config.json equals Keras's, key by key and value by value", arguments: models)
    func configJSON(model name: String) throws {
        try Self.withBatchwiseFiles(name) { _, contents in
            let differences = JSONValue.differences(keras: try Self.fixture("\(name).config.json"),
                                                    batchwise: try JSONValue.parse(Data(contents.config.utf8)),
                                                    ignoring: Self.ignoredConfigKeys, mayOmit: Self.versionDependentConfigKeys)
            #expect(differences.isEmpty, "\(name) config.json:\n\(differences.joined(separator: "\n"))")
        }
    }

    @Test("metadata.json has Keras's keys", arguments: models)
    func metadataJSON(model name: String) throws {
        try Self.withBatchwiseFiles(name) { _, contents in
            let keras = try Self.fixture("\(name).metadata.json")
            let ours = try JSONValue.parse(Data(try #require(contents.metadata, "no metadata.json").utf8))
            #expect(JSONValue.differences(keras: keras, batchwise: ours, ignoring: Self.ignoredMetadataKeys).isEmpty)
            // Ignored values, but the keys must be there, with Keras's spelling.
            #expect(ours.objectKeys == keras.objectKeys)
        }
    }

    @Test("the HDF5 layout (paths, shapes, dtypes, attributes) and the archive members equal Keras's", arguments: models)
    func weightLayout(model name: String) throws {
        try Self.withBatchwiseFiles(name) { written, contents in
            let keras = try Self.fixture("\(name).layout.json")
            for (key, url) in [("weights_h5", written.weights), ("keras_archive_model_weights_h5", contents.weightsURL)] {
                let differences = JSONValue.differences(keras: try #require(keras[key]).keyedByPath,
                                                        batchwise: try Self.layout(of: url).keyedByPath, ignoring: [])
                #expect(differences.isEmpty, "\(name) \(key):\n\(differences.joined(separator: "\n"))")
            }
            let members = try ZIPMembers.names(in: written.archive)
            #expect(JSONValue.array(members.sorted().map(JSONValue.string)) == keras["keras_archive_members"])
        }
    }

    @Test("the comparison reports a dropped, a renamed and a changed key (it can fail)")
    func comparisonCanFail() throws {
        let keras = try Self.fixture("seed_model.config.json")
        #expect(JSONValue.differences(keras: keras, batchwise: keras, ignoring: []).isEmpty)
        guard case var .object(root) = keras, case var .object(config) = root["config"] else {
            Issue.record("seed_model.config.json is not an object with a config object")
            return
        }
        let name = config.removeValue(forKey: "name")
        root["config"] = .object(config)
        #expect(JSONValue.differences(keras: keras, batchwise: .object(root), ignoring: []) == ["$.config.name: missing"])
        config["model_name"] = name
        root["config"] = .object(config)
        #expect(JSONValue.differences(keras: keras, batchwise: .object(root), ignoring: []).count == 2)
        config["name"] = .string("other")
        config["model_name"] = nil
        root["config"] = .object(config)
        #expect(JSONValue.differences(keras: keras, batchwise: .object(root), ignoring: []).count == 1)
        // JSON types are kept apart: true is not 1, 8 is not "8".
        #expect(try JSONValue.parse(Data("[true]".utf8)) != JSONValue.parse(Data("[1]".utf8)))
        #expect(try JSONValue.parse(Data("[8]".utf8)) != JSONValue.parse(Data("[\"8\"]".utf8)))
    }

    /// The layout of an HDF5 file in the fixture's form: objects sorted by path, each with its
    /// kind, attributes and (datasets) shape and dtype.
    static func layout(of url: URL) throws -> JSONValue {
        let file = try HDF5File.open(at: url)
        defer { try? file.close() }
        var entries: [JSONValue] = []
        func visit(_ node: HDF5Node) {
            var entry: [String: JSONValue] = [
                "path": .string(node.path), "kind": .string(node.kind == .dataset ? "dataset" : "group"),
                "attributes": .object(node.attributes.mapValues(JSONValue.init)),
            ]
            if let shape = node.shape { entry["shape"] = .array(shape.map { .number(Double($0)) }) }
            if let dtype = node.dtype { entry["dtype"] = .string(dtype) }
            entries.append(.object(entry))
            node.children?.forEach(visit)
        }
        visit(try file.treeDescription())
        return .array(entries.sorted { ($0["path"]?.stringValue ?? "") < ($1["path"]?.stringValue ?? "") })
    }
}
