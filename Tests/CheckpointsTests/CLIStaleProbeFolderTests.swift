import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A command killed while its probe child ran (SIGKILL skips `defer`) leaves a
/// `batchwise-probe-<pid>-…` or `batchwise-<kind>-copy-<pid>-…` folder in the temporary
/// directory; the next command that probes removes those of dead owners, and only those.
@Suite struct CLIStaleProbeFolderTests {
    @Test func theNextProbeRemovesOldFoldersOfDeadCommandsOnly() throws {
        let temporary = FileManager.default.temporaryDirectory
            .appendingPathComponent("stale-probe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let dead = try StaleTemporaryPID.dead()
        let old = Date().addingTimeInterval(-2 * 3_600)
        let folders: [(name: String, modified: Date, removed: Bool)] = [
            ("batchwise-probe-\(dead)-A", old, true),             // killed command's probe
            ("batchwise-model-copy-\(dead)-B", old, true),        // killed command's copy
            ("batchwise-probe-\(dead)-C", Date(), false),         // too recent: maybe another container's
            ("batchwise-probe-\(getpid())-D", old, false),        // owner alive
            ("batchwise-probe-notapid-E", old, false),            // not our naming
            ("something-else-\(dead)", old, false),               // not ours at all
        ]
        for folder in folders {
            let url = temporary.appendingPathComponent(folder.name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data([1]).write(to: url.appendingPathComponent("stdout"))
            try FileManager.default.setAttributes([.modificationDate: folder.modified], ofItemAtPath: url.path)
        }
        let model = CLIIsolationTests.models.appendingPathComponent("activations_mix.keras")
        let run = try CLIIsolationTests.batchwise(["inspect", model.path], environment: ["TMPDIR": temporary.path])
        #expect(run.status == 0, "\(run.stderr)")
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: temporary.path))
        #expect(left == Set(folders.filter { !$0.removed }.map(\.name)),
                "the probe's own folder is gone too; only stale folders of dead owners were removed")
    }
}
