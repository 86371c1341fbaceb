import Foundation
import HDF5
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Native checkpoints edited by hand (or truncated by a tool) and saves that cannot happen:
/// each is a `CheckpointError` naming the file and the object or attribute at fault, and a
/// failed save leaves neither the file nor a temporary behind.
@Suite("Damaged native checkpoints and impossible saves are refused naming the object")
struct NativeCheckpointErrorTests {
    static let sgd = OptimizerConfig.sgd(learningRate: 0.1, momentum: 0, nesterov: false)

    static func snapshot() throws -> TrainingSnapshot {
        TrainingSnapshot(model: try NativeFixtures.model(), optimizerState: OptimizerState(), iteratorState: nil,
                         epoch: 0, stepInEpoch: 0, globalStep: 0, history: History())
    }

    /// A fresh checkpoint (SGD, binary crossentropy), edited by `body`.
    static func damaged(_ label: String = #function, _ body: (HDF5File) throws -> Void) throws -> URL {
        let url = try NativeFixtures.folder(label).appendingPathComponent("ckpt.h5")
        try NativeCheckpoint.save(try snapshot(), optimizer: sgd, to: url, loss: .binaryCrossentropy)
        _ = try NativeCheckpoint.load(from: url)   // intact, it loads
        let file = try HDF5File.open(at: url, mode: .readWrite)
        try body(file)
        try file.close()
        return url
    }

    @Test("a checkpoint without its /model group")
    func missingModelGroup() throws {
        let url = try Self.damaged { try $0.remove("/model") }
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/model", reason: "missing group")) {
            try NativeCheckpoint.load(from: url)
        }
    }

    @Test("a current-format checkpoint without /model@input_shape")
    func missingInputShape() throws {
        let url = try Self.damaged { try $0.removeAttribute("input_shape", of: "/model") }
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: url) }
        guard case let .invalidCheckpoint(file, object, reason) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && object == "/model")
        #expect(reason.hasPrefix("attribute 'input_shape' is missing (format_version ") && reason.contains("record the shape of one input example"),
                "\(reason)")
    }

    @Test("an input_shape of impossible sizes, or one input_features contradicts")
    func badInputShape() throws {
        let zero = try Self.damaged { try $0.setAttribute("input_shape", [Int64(3), 0], on: "/model") }
        #expect(throws: CheckpointError.invalidCheckpoint(
            file: zero.path, object: "/model",
            reason: "attribute 'input_shape' must list 1 to 8 positive sizes (the shape of one input example, e.g. [8, 8, 1]), found [3, 0]")) {
            try NativeCheckpoint.load(from: zero)
        }
        let contradicted = try Self.damaged { try $0.setAttribute("input_features", Int64(4), on: "/model") }
        #expect(throws: CheckpointError.invalidCheckpoint(
            file: contradicted.path, object: "/model", reason: "attribute 'input_features' is 4, but input_shape [3] holds 3 values")) {
            try NativeCheckpoint.load(from: contradicted)
        }
        let negative = try Self.damaged { try $0.setAttribute("input_features", Int64(-1), on: "/model") }
        #expect(throws: CheckpointError.invalidCheckpoint(
            file: negative.path, object: "/model", reason: "attribute 'input_features' must be a positive number of input values, found -1")) {
            try NativeCheckpoint.load(from: negative)
        }
    }

    @Test("a running sum that is not a [total, weight] pair names its dataset")
    func malformedRunningSum() throws {
        let url = try Self.damaged { file in
            try file.write([1.0, 2.0, 3.0], to: "/running_sums/loss")
        }
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/running_sums/loss",
                                                          reason: "expected [total, weight], found 3 values")) {
            try NativeCheckpoint.load(from: url)
        }
    }

    @Test("a history series shorter than the epochs names its dataset")
    func shortHistory() throws {
        let url = try Self.damaged { file in
            try file.write([Int64(1), 2], to: "/history/epochs")
            try file.write([0.5], to: "/history/logs/loss")
        }
        #expect(throws: CheckpointError.invalidCheckpoint(file: url.path, object: "/history/logs/loss", reason: "1 values for 2 epochs")) {
            try NativeCheckpoint.load(from: url)
        }
    }

    @Test("an iterator state that does not decode names its dataset")
    func undecodableIteratorState() throws {
        let url = try Self.damaged { try $0.write([UInt8]("{not json".utf8), to: "/iterator_state") }
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: url) }
        guard case let .invalidCheckpoint(file, object, reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && object == "/iterator_state" && reason.hasPrefix("cannot decode the iterator state: "), "\(reason)")
    }

    @Test("a loss Batchwise does not have is refused by name")
    func unknownLoss() throws {
        let url = try Self.damaged { try $0.setAttribute("loss", "hinge") }
        #expect(throws: CheckpointError.unsupported(file: url.path, what: "loss 'hinge'")) { try NativeCheckpoint.load(from: url) }
    }

    @Test("an optimizer attribute out of range, missing, or of the wrong type names the attribute")
    func badOptimizerAttribute() throws {
        for attribute in ["learning_rate", "kind"] {
            let missing = try Self.damaged("missing-\(attribute)") { try $0.removeAttribute(attribute, of: "/optimizer") }
            #expect(throws: CheckpointError.invalidCheckpoint(file: missing.path, object: "/optimizer", reason: "attribute '\(attribute)' is missing")) {
                try NativeCheckpoint.load(from: missing)
            }
        }
        let textRate = try Self.damaged { try $0.setAttribute("learning_rate", "fast", on: "/optimizer") }
        let rateError = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: textRate) }
        guard case let .invalidCheckpoint(_, rateObject, rateReason)? = rateError else { Issue.record("got \(String(describing: rateError))"); return }
        #expect(rateObject == "/optimizer" && rateReason.hasPrefix("attribute 'learning_rate': "), "\(rateReason)")

        let negative = try Self.damaged { try $0.setAttribute("momentum", -0.5, on: "/optimizer") }
        let rangeError = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: negative) }
        guard case let .invalidCheckpoint(file, object, reason)? = rangeError else { Issue.record("got \(String(describing: rangeError))"); return }
        #expect(file == negative.path && object == "/optimizer" && reason.hasPrefix("attribute 'momentum': -0.5"), "\(reason)")

        let text = try Self.damaged { try $0.setAttribute("momentum", "fast", on: "/optimizer") }
        let typeError = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: text) }
        guard case let .invalidCheckpoint(_, typeObject, typeReason)? = typeError else { Issue.record("got \(String(describing: typeError))"); return }
        #expect(typeObject == "/optimizer" && typeReason.hasPrefix("attribute 'momentum': "), "\(typeReason)")
    }

    @Test("loading a path that does not exist names it; no HDF5 error stack is the message")
    func loadMissingFile() throws {
        let url = try NativeFixtures.folder().appendingPathComponent("absent.h5")
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.load(from: url) }
        guard case let .invalidCheckpoint(file, object, reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && object == "/" && reason.hasPrefix("cannot open: "), "\(reason)")
    }

    @Test("saving into a folder that does not exist fails naming the file and writes nothing")
    func saveIntoMissingFolder() throws {
        let folder = try NativeFixtures.folder()
        let url = folder.appendingPathComponent("absent").appendingPathComponent("ckpt.h5")
        let error = #expect(throws: CheckpointError.self) { try NativeCheckpoint.save(try Self.snapshot(), optimizer: Self.sgd, to: url) }
        guard case let .invalidCheckpoint(file, object, reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && object == "/" && reason.hasPrefix("cannot save: "), "\(reason)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test("a checkpoint folder keeping fewer than one file, or under a regular file, is refused")
    func badCheckpointDirectory() throws {
        let folder = try NativeFixtures.folder()
        #expect(throws: CheckpointError.unsupported(file: folder.path, what: "keepLast must be at least 1, got 0")) {
            try CheckpointDirectory(url: folder, keepLast: 0, optimizer: Self.sgd)
        }
        let plain = folder.appendingPathComponent("plain")
        try Data("x".utf8).write(to: plain)
        let nested = plain.appendingPathComponent("ckpts")
        let error = #expect(throws: CheckpointError.self) { try CheckpointDirectory(url: nested, optimizer: Self.sgd) }
        guard case let .invalidCheckpoint(file, _, reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == nested.path && reason.hasPrefix("cannot create folder: "), "\(reason)")
    }
}
