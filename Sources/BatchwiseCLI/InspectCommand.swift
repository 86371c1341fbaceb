import ArgumentParser
import Batchwise
import Foundation

/// `batchwise inspect FILE [--json] [--strict]`: the tree of groups, datasets and attributes,
/// unreadable entries marked (exit status 1 for them only with `--strict`).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print the groups, datasets (shape, dtype, chunks, filters) and attributes of an HDF5 file.",
        discussion: """
            For a Keras model (.keras archive, legacy .h5 with model_config) or a Batchwise checkpoint the model summary comes first (each layer's output shape and parameter count; image models show (None, height, width, channels)), then the tree of its weights. With --json such a file prints {"summary", "model", "weights"}: "model" holds the summary's table as data (name, input_shape, layers with name, class_name, output_shape and params, total/trainable/non_trainable params; null for the batch axis), "weights" the tree.

            An object that cannot be described is still listed, marked with the reason: a dangling soft link (with its target), an external link whose file or object is missing, an object libhdf5 cannot open. An object reached a second time (a hard link that closes a cycle) is marked "same as" the path where it is listed. A file that opens exits 0 with its marks; --strict exits 1 if anything is marked unreadable.
            """
    )

    @Flag(name: .long, help: "Print one JSON object {\"path\", \"kind\", \"attributes\", \"children\", ...} instead of text; marked entries carry \"link\", \"same_as\" and \"error\" (docs/RELIABILITY.md).")
    var json = false

    @Flag(name: .long, help: "Exit with status 1 (after printing the listing) if any object or attribute could not be read.")
    var strict = false

    @Argument(help: "The HDF5 file to inspect.")
    var file: String

    @OptionGroup var isolation: IsolationOptions

    func run() throws {
        try CommandFailure.reporting(prefix: "batchwise inspect") {
            if isolation.noIsolation {
                let rendering = try Self.render(URL(fileURLWithPath: file), json: json)
                print(rendering.text)
                if strict, let summary = rendering.unreadableSummary { throw CommandError(summary) }
            } else {
                // The child reads the file and renders; this process never opens it.
                let arguments = [ProbeKind.inspect.rawValue, "--file", file] + (json ? ["--json"] : []) + (strict ? ["--strict"] : [])
                let result = try IsolatedProbe.run(arguments, file: file, options: isolation)
                switch ProbeStatus(rawValue: result.status) {
                case .done?:
                    FileHandle.standardOutput.write(result.standardOutput)
                case .strictFailure?:
                    FileHandle.standardOutput.write(result.standardOutput)
                    throw CommandError(result.message)
                default:
                    throw ProbeFailure(errorDescription: result.message.isEmpty ? "cannot read \(file)" : result.message)
                }
            }
        }
    }

    /// What `inspect` prints, and what `--strict` refuses.
    struct Rendering {
        var text: String
        /// "--strict: N object(s) or attribute(s) could not be read: /a (...); ..." or nil if none.
        var unreadableSummary: String?

        init(text: String, trees: [HDF5Node]) {
            self.text = text
            var marks: [String] = []
            for node in trees.flatMap({ $0.allNodes() }) {
                if let error = node.error { marks.append("\(node.path) (\(error))") }
                for (name, value) in node.attributes.sorted(by: { $0.key < $1.key }) {
                    if case .unsupported(let detail) = value, detail.hasPrefix("error: ") { marks.append("\(node.path)@\(name) (\(detail))") }
                }
            }
            // The listing has them all; the error line names the first few.
            let shown = marks.prefix(10).joined(separator: "; ") + (marks.count > 10 ? "; and \(marks.count - 10) more" : "")
            unreadableSummary = marks.isEmpty ? nil : "--strict: \(marks.count) object(s) or attribute(s) could not be read: " + shown
        }
    }

    /// Everything `inspect` prints; also what the isolated probe (`probe-file inspect`) reads.
    static func render(_ url: URL, json: Bool) throws -> Rendering {
        if let model = try describeKerasModel(url) {
            if json {
                var members = [("summary", JSONText.quote(model.summary))]
                if let built = model.model { members.append(("model", modelJSON(built))) }
                members.append(("weights", model.weights.jsonText(indent: nil)))
                return Rendering(text: JSONText.object(members, indent: nil, depth: 0), trees: [model.weights])
            }
            return Rendering(text: model.summary + "\n\n" + model.weights.renderedText(), trees: [model.weights])
        }
        let tree = try describe(url)
        return Rendering(text: json ? tree.jsonText() : tree.renderedText(), trees: [tree])
    }

    /// The summary and weights tree of a Keras model file, nil for other files (and for
    /// Keras weights-only files, which have no architecture: they print as plain HDF5).
    private static func describeKerasModel(_ url: URL) throws -> (model: Sequential?, summary: String, weights: HDF5Node)? {
        if FileManager.default.fileExists(atPath: url.path), (try? NativeCheckpoint.isCheckpoint(at: url)) == true {
            let checkpoint = try NativeCheckpoint.load(from: url)
            let header = "Batchwise checkpoint: epoch \(checkpoint.snapshot.epoch), step \(checkpoint.snapshot.stepInEpoch), "
                + "global step \(checkpoint.snapshot.globalStep)\n"
            return (checkpoint.snapshot.model, header + checkpoint.snapshot.model.summary(), try describe(url))
        }
        guard FileManager.default.fileExists(atPath: url.path),
              let format = try? KerasModelFile.format(of: url),
              format == .kerasArchive || format == .legacyModel else { return nil }
        return try KerasModelFile.describeModel(url)
    }

    /// Friendly messages for the common non-HDF5 cases before libhdf5 sees the file.
    private static func describe(_ url: URL) throws -> HDF5Node {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CommandError("\(url.path): no such file")
        }
        guard !isDirectory.boolValue else { throw CommandError("\(url.path) is a directory, not an HDF5 file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size > 0 else { throw CommandError("\(url.path) is empty, not an HDF5 file") }
        let file = try HDF5File.open(at: url, mode: .readOnly, locking: .bestEffort)
        let tree = try file.treeDescription()
        try file.close()
        return tree
    }
}
