import Foundation
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// `.keras` archives damaged after they were written (a byte changed in a member, as a bad
/// disk or a broken download does) and an archive whose config.json is larger than the JSON
/// limit: each is a `CheckpointError` naming the file and the member, never a model loaded
/// from damaged bytes. Batchwise writes its members uncompressed, so each member's bytes can
/// be found and changed in place; the zip's CRC-32 then no longer matches. Before stop 21 the
/// reader never compared the CRC-32 (ZIPFoundation's `extract` only returns it): a changed
/// byte in model.weights.h5 loaded without an error, as a silently different file.
@Suite("Damaged .keras archives name the file and the member")
struct KerasArchiveDamageErrorTests {
    /// A fresh `.keras` file of the native fixture model.
    static func archive(_ label: String = #function) throws -> (folder: URL, url: URL) {
        let folder = try NativeFixtures.folder(label)
        let url = folder.appendingPathComponent("model.keras")
        try KerasModelFile.save(try NativeFixtures.model(), to: url)
        _ = try KerasModelFile.load(url)   // intact, it loads
        return (folder, url)
    }

    /// Changes one byte `offset` bytes after the first occurrence of `marker` in the file.
    static func damage(_ url: URL, after marker: [UInt8], offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let start = try #require(bytes.indices.first { bytes[$0...].starts(with: marker) }, "marker not found")
        bytes[start + offset] ^= 0x20
        try Data(bytes).write(to: url)
    }

    @Test("a changed byte in config.json names the file and the member")
    func damagedConfig() throws {
        let (folder, url) = try Self.archive()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.damage(url, after: Array(#""class_name":"Sequential""#.utf8), offset: 14)
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
        guard case let .invalidFile(file, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && message.hasPrefix("cannot extract config.json: the member is damaged: its CRC-32 is "), "\(message)")
    }

    @Test("a changed byte in model.weights.h5 names the file and the member")
    func damagedWeights() throws {
        let (folder, url) = try Self.archive()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.damage(url, after: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A], offset: 200)
        let error = #expect(throws: CheckpointError.self) { try KerasModelFile.load(url) }
        guard case let .invalidFile(file, message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(file == url.path && message.hasPrefix("cannot extract model.weights.h5: the member is damaged: its CRC-32 is "), "\(message)")
    }

    @Test("a config.json member larger than the JSON limit is refused while extracting, naming the member")
    func oversizedConfig() throws {
        let folder = try NativeFixtures.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("huge.keras")
        // Valid JSON padded past the limit with spaces: only its size is wrong.
        let config = "{}" + String(repeating: " ", count: JSONLimits.maximumBytes)
        try KerasArchive.write(to: url, config: config, metadata: "{}") { weightsURL in
            try Data(contentsOf: KerasFixtures.url("seed_model.weights.h5")).write(to: weightsURL)
        }
        #expect(throws: CheckpointError.invalidModelConfig(file: url.path + "/config.json", path: "$",
                                                           message: "the member is larger than \(JSONLimits.maximumBytes) bytes")) {
            try KerasModelFile.load(url)
        }
    }
}
