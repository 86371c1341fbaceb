import Foundation
import Testing
@testable import HDF5

/// In-memory saves write the core driver's buffer directly (clearing the superblock status
/// flags on the way); the bytes on disk must equal libhdf5's own copy of the image.
@Suite("In-memory files are published byte for byte as libhdf5's image copy")
struct FileImageTests {
    private func sampleFile(label: URL) throws -> HDF5File {
        let file = try HDF5File.createInMemory(label: label)
        try file.writeUnretained((0..<300_000).map(Float.init), shape: [600, 500], to: "/model/dense/kernel")
        _ = try file.write([Int64(3)], shape: [], to: "/optimizer/iterations")
        try file.setAttribute("format", "test", on: "/")
        try file.setAttribute("names", ["a", "b"], on: "/model")
        return file
    }

    @Test(arguments: [true, false])
    func theWrittenFileEqualsTheImageCopy(zeroCopy: Bool) throws {
        try withTemporaryDirectory { dir in
            let target = dir.appendingPathComponent("x.h5")
            let file = try sampleFile(label: target)
            #expect(try file.canPublishWithoutCopy())
            let expected = try file.flushedImageCopy()
            try file.publishImage(toNewFile: target.path, sync: false, zeroCopy: zeroCopy)
            let written = try [UInt8](Data(contentsOf: target))
            #expect(written.count == expected.count)
            #expect(written == expected)
            // The live buffer says "open for writing"; the published file must not.
            #expect(written[20..<24].allSatisfy { $0 == 0 })
            let reopened = try HDF5File.open(at: target)
            #expect(try reopened.read("/model/dense/kernel", as: Float.self).values.last == 299_999)
            #expect(try reopened.readAttribute("names", of: "/model", as: [String].self) == ["a", "b"])
        }
    }

    @Test func anExistingTargetIsAnErrorAndTheFileIsStillClosed() throws {
        try withTemporaryDirectory { dir in
            let target = dir.appendingPathComponent("taken.h5")
            try Data("occupied".utf8).write(to: target)
            let file = try sampleFile(label: target)
            #expect(throws: HDF5Error.self) { try file.publishImage(toNewFile: target.path, sync: false) }
            #expect(try String(contentsOf: target, encoding: .utf8) == "occupied")
            #expect(throws: HDF5Error.self) { try file.flushedImageCopy() }   // closed: no longer usable
        }
    }
}
