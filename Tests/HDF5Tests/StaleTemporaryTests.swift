import Foundation
import Testing
@testable import HDF5
#if canImport(Glibc)
import Glibc
#endif

/// Temporaries of killed `atomicWrite`s are removed; those of live writers never are.
@Suite("Stale temporaries")
struct StaleTemporaryTests {
    /// A pid that belonged to a process that has exited (and was reaped).
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func onlyTemporariesOfDeadWritersOfThatFileAreRemoved() throws {
        try withTemporaryDirectory { dir in
            let target = dir.appendingPathComponent("run.h5")
            let live = Process()
            live.executableURL = URL(fileURLWithPath: "/bin/sleep")
            live.arguments = ["30"]
            try live.run()
            defer { kill(live.processIdentifier, SIGKILL); live.waitUntilExit() }
            let dead = try Self.deadPID()
            let names = [
                ".run.h5.tmp-\(dead)-abc",                      // dead writer of run.h5: removed
                ".run.h5.tmp-\(getpid())-def",                  // this process, still writing: kept
                ".run.h5.tmp-\(live.processIdentifier)-ghi",    // another live process: kept
                ".other.h5.tmp-\(dead)-abc",                    // dead writer, other file: kept
                "run.h5",                                       // the target itself: kept
                ".run.h5.tmp-notapid-x",                        // not our naming: kept
            ]
            for name in names { try Data([1]).write(to: dir.appendingPathComponent(name)) }
            let removed = try HDF5File.removeStaleTemporaries(of: target)
            #expect(removed.map(\.lastPathComponent) == [names[0]])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == Array(names.dropFirst()).sorted())
        }
    }

    @Test func writerPIDsAreParsedFromAtomicWriteNamesOnly() {
        #expect(HDF5File.temporaryWriterPID(".ckpt-7.h5.tmp-4242-k3j2") == 4242)
        #expect(HDF5File.temporaryWriterPID(".a.tmp-b.h5.tmp-17-x") == 17)
        #expect(HDF5File.temporaryWriterPID("ckpt-7.h5") == nil)
        #expect(HDF5File.temporaryWriterPID(".ckpt-7.h5.tmp-12") == nil)
        #expect(HDF5File.temporaryNamePrefix(for: URL(fileURLWithPath: "/x/run.h5")) == ".run.h5.tmp-")
    }
}
