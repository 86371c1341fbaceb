import Foundation
import HDF5
import ZIPFoundation

/// The `.keras` zip: `metadata.json`, `config.json` and `model.weights.h5`. The weights
/// member is extracted to a private temporary file because libhdf5 reads files, not memory.
enum KerasArchive {
    struct Contents {
        let config: String
        let metadata: String?
        /// The extracted `model.weights.h5`; the caller removes it.
        let weightsURL: URL
    }

    static func read(_ url: URL) throws -> Contents {
        let name = url.path
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw CheckpointError.invalidFile(file: name, message: "not a readable .keras (zip) archive: \(error)")
        }
        let config = try text(of: "config.json", in: archive, file: name)
        let metadata = archive["metadata.json"] == nil ? nil : try text(of: "metadata.json", in: archive, file: name)
        guard let weights = archive["model.weights.h5"] else {
            throw CheckpointError.missingObject(file: name, path: "model.weights.h5", message: "the archive has no such member")
        }
        let target = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchwise-keras-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).weights.h5")
        do {
            try DamagedMember.check(try archive.extract(weights, to: target), of: weights)
        } catch {
            try? FileManager.default.removeItem(at: target)
            throw CheckpointError.invalidFile(file: name, message: "cannot extract model.weights.h5: \(error)")
        }
        return Contents(config: config, metadata: metadata, weightsURL: target)
    }

    private static func text(of member: String, in archive: Archive, file: String) throws -> String {
        guard let entry = archive[member] else {
            throw CheckpointError.missingObject(file: file, path: member, message: "the archive has no such member")
        }
        var data = Data()
        // The header's size can lie (a zip bomb): count what actually comes out.
        struct TooLarge: Error {}
        do {
            let checksum = try archive.extract(entry) { chunk in
                guard data.count + chunk.count <= JSONLimits.maximumBytes else { throw TooLarge() }
                data.append(chunk)
            }
            try DamagedMember.check(checksum, of: entry)
        } catch is TooLarge {
            throw CheckpointError.invalidModelConfig(
                file: file + "/" + member, path: "$", message: "the member is larger than \(JSONLimits.maximumBytes) bytes")
        } catch {
            throw CheckpointError.invalidFile(file: file, message: "cannot extract \(member): \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CheckpointError.invalidFile(file: file, message: "\(member) is not UTF-8 text")
        }
        return text
    }

    /// A member whose bytes do not have the CRC-32 the archive records for it. ZIPFoundation's
    /// `extract` returns the checksum of what it read but does not compare it, so without this
    /// a changed byte in model.weights.h5 loaded as a silently different weight.
    struct DamagedMember: Error, CustomStringConvertible {
        let found: CRC32
        let recorded: CRC32
        var description: String {
            "the member is damaged: its CRC-32 is \(String(found, radix: 16)), the archive records \(String(recorded, radix: 16))"
        }

        static func check(_ checksum: CRC32, of entry: Entry) throws {
            guard checksum == entry.checksum else { throw DamagedMember(found: checksum, recorded: entry.checksum) }
        }
    }

    /// Writes the archive next to `url` under a temporary name, then renames it over `url`,
    /// so readers see either the old file or the complete new one.
    static func write(to url: URL, config: String, metadata: String, weights: (URL) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
        let temporaryZip = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(unique)")
        let temporaryWeights = directory.appendingPathComponent(".\(url.lastPathComponent).weights-\(unique).h5")
        defer {
            try? FileManager.default.removeItem(at: temporaryWeights)
            try? FileManager.default.removeItem(at: temporaryZip)
        }
        try weights(temporaryWeights)
        let weightsData = try Data(contentsOf: temporaryWeights)
        do {
            let archive = try Archive(url: temporaryZip, accessMode: .create)
            for (member, data) in [("metadata.json", Data(metadata.utf8)), ("config.json", Data(config.utf8)),
                                   ("model.weights.h5", weightsData)] {
                try archive.addEntry(with: member, type: .file, uncompressedSize: Int64(data.count),
                                     compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.invalidFile(file: url.path, message: "cannot write the archive: \(error)")
        }
        let handle = try FileHandle(forUpdating: temporaryZip)
        try handle.synchronize()
        try handle.close()
        guard rename(temporaryZip.path, url.path) == 0 else {
            throw CheckpointError.invalidFile(file: url.path, message: "cannot rename the temporary archive: errno \(errno)")
        }
    }
}
