import Foundation
import HDF5
import Testing
@testable import Checkpoints
import CheckpointsTestSupport

/// Issue 18 item 4: `batchwise inspect` shows a CNN's summary, each layer's output shape and
/// parameter count, for a `.keras` archive, legacy `.h5` files (Keras 3 and tf.keras) and a
/// native checkpoint, as text and as `--json` (`"model"`). The legacy files are checked against
/// the columns of Keras's own `model.summary()`, recorded by make_legacy_cnn_fixtures.py.
@Suite(.serialized) struct CLIInspectCNNTests {
    static let conv = KerasFixtures.directory.deletingLastPathComponent().appendingPathComponent("conv")
    static let compat = KerasFixtures.directory.deletingLastPathComponent().appendingPathComponent("compat/v1")

    /// One layer row of the summary: name, class, per-example output shape, parameters.
    struct Row: Equatable {
        var name: String, className: String, shape: [Int], params: Int
    }

    /// What Keras's summary says of the legacy CNN (`legacy_cnn.io.h5`).
    static func kerasRows() throws -> (rows: [Row], total: Int) {
        let file = try HDF5File.open(at: conv.appendingPathComponent("legacy_cnn.io.h5"))
        defer { try? file.close() }
        let names = try file.readAttribute("layer_names", as: [String].self)
        let classes = try file.readAttribute("layer_classes", as: [String].self)
        let shapes = try file.readAttribute("output_shapes", as: [Int64].self)
        let ranks = try file.readAttribute("output_ranks", as: [Int64].self)
        let params = try file.readAttribute("param_counts", as: [Int64].self)
        let rows = names.indices.map { i in
            Row(name: names[i], className: classes[i], shape: shapes[(i * 4 + 1)..<(i * 4 + Int(ranks[i]))].map { Int($0) },
                params: Int(params[i]))
        }
        return (rows, Int(try file.readAttribute("total_params", as: Int64.self)))
    }

    func inspect(_ url: URL, json: Bool) throws -> String {
        let run = try CLIIsolationTests.batchwise(["inspect"] + (json ? ["--json"] : []) + [url.path], deadline: 120)
        #expect(run.status == 0 && run.stderr.isEmpty, "\(url.lastPathComponent): \(run.stderr)")
        return run.stdout
    }

    /// Every row appears in the text table (`│ conv2d (Conv2D) │ (None, 8, 8, 4) │ 40 │`), in
    /// order, and in the JSON's `model.layers`, followed by the total.
    func expectSummary(of url: URL, rows: [Row], total: Int, inputShape: [Int]) throws {
        let text = try inspect(url, json: false)
        let lines = text.split(separator: "\n").map(String.init)
        var previous = -1
        for row in rows {
            let cells = "│ \(row.name) (\(row.className))"
            guard let index = lines.firstIndex(where: { $0.hasPrefix(cells + " ") }) else {
                Issue.record("\(url.lastPathComponent): no row for \(cells) in\n\(text)")
                continue
            }
            let columns = lines[index].split(separator: "│").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(columns.count == 3 && columns[1] == "(None, " + row.shape.map(String.init).joined(separator: ", ") + ")"
                    && columns[2] == "\(row.params)", "\(url.lastPathComponent): \(lines[index])")
            #expect(index > previous, "\(url.lastPathComponent): \(row.name) out of order")
            previous = index
        }
        #expect(text.contains(" Total params: \(total) ("), "\(url.lastPathComponent)")

        let json = try inspect(url, json: true)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any], "\(json.prefix(300))")
        #expect(root["summary"] is String && root["weights"] is [String: Any])
        func dimensions(_ value: Any?) -> [Int]? {
            guard let array = value as? [Any], array.first is NSNull else { return nil }
            return array.dropFirst().compactMap { ($0 as? NSNumber)?.intValue }
        }
        #expect(dimensions(model["input_shape"]) == inputShape)
        let layers = try #require(model["layers"] as? [[String: Any]])
        let found = layers.map { layer in
            Row(name: layer["name"] as? String ?? "", className: layer["class_name"] as? String ?? "",
                shape: dimensions(layer["output_shape"]) ?? [], params: (layer["params"] as? NSNumber)?.intValue ?? -1)
        }
        #expect(found == rows, "\(url.lastPathComponent)")
        #expect((model["total_params"] as? NSNumber)?.intValue == total)
        let trainable = (model["trainable_params"] as? NSNumber)?.intValue ?? 0
        let frozen = (model["non_trainable_params"] as? NSNumber)?.intValue ?? 0
        #expect(trainable + frozen == total && frozen > 0)
    }

    @Test(.timeLimit(.minutes(5)))
    func legacyH5CNNsShowKerasSummary() throws {
        let (rows, total) = try Self.kerasRows()
        #expect(rows.map(\.className).contains("Conv2D") && rows.first?.shape == [8, 8, 4])
        try expectSummary(of: Self.conv.appendingPathComponent("legacy_cnn.keras3.h5"), rows: rows, total: total, inputShape: [8, 8, 1])
        try expectSummary(of: Self.conv.appendingPathComponent("legacy_cnn.tf_keras.h5"), rows: rows, total: total, inputShape: [8, 8, 1])
    }

    /// fixtures/conv/cnn.keras: Conv2D(4, 3, same) → BN → ReLU → MaxPooling2D(2) → Conv2D(3, 2,
    /// valid) → GlobalAveragePooling2D → Dense(3); shapes and counts worked out by hand.
    @Test(.timeLimit(.minutes(5)))
    func aKerasArchiveCNNShowsItsShapes() throws {
        let rows = [
            Row(name: "conv2d", className: "Conv2D", shape: [8, 8, 4], params: 3 * 3 * 1 * 4 + 4),
            Row(name: "batch_normalization", className: "BatchNormalization", shape: [8, 8, 4], params: 4 * 4),
            Row(name: "re_lu", className: "ReLU", shape: [8, 8, 4], params: 0),
            Row(name: "max_pooling2d", className: "MaxPooling2D", shape: [4, 4, 4], params: 0),
            Row(name: "conv2d_1", className: "Conv2D", shape: [3, 3, 3], params: 2 * 2 * 4 * 3 + 3),
            Row(name: "global_average_pooling2d", className: "GlobalAveragePooling2D", shape: [3], params: 0),
            Row(name: "dense", className: "Dense", shape: [3], params: 3 * 3 + 3),
        ]
        try expectSummary(of: Self.conv.appendingPathComponent("cnn.keras"), rows: rows, total: 119, inputShape: [8, 8, 1])
    }

    /// The committed format_version 1 CNN checkpoint (see CNNCheckpointTests) on 6x6x1 images.
    @Test(.timeLimit(.minutes(5)))
    func aNativeCNNCheckpointShowsItsPositionAndShapes() throws {
        let url = Self.compat.appendingPathComponent("cnn-mid-epoch.checkpoint.h5")
        #expect(try inspect(url, json: false).hasPrefix("Batchwise checkpoint: epoch 1, step 2, global step 7\nModel: \"compat_cnn_v1\""))
        let rows = [
            Row(name: "conv2d", className: "Conv2D", shape: [6, 6, 3], params: 3 * 3 * 1 * 3 + 3),
            Row(name: "batch_normalization", className: "BatchNormalization", shape: [6, 6, 3], params: 3 * 4),
            Row(name: "re_lu", className: "ReLU", shape: [6, 6, 3], params: 0),
            Row(name: "max_pooling2d", className: "MaxPooling2D", shape: [3, 3, 3], params: 0),
            Row(name: "dropout", className: "Dropout", shape: [3, 3, 3], params: 0),
            Row(name: "flatten", className: "Flatten", shape: [27], params: 0),
            Row(name: "dense", className: "Dense", shape: [3], params: 27 * 3 + 3),
        ]
        try expectSummary(of: url, rows: rows, total: 30 + 12 + 84, inputShape: [6, 6, 1])
    }
}
