import CHDF5
import Foundation
import Testing
@testable import HDF5

@Suite("Close degree SEMI: a leaked libhdf5 handle makes close fail loudly")
struct CloseDegreeTests {
    @Test func closeThrowsWhileARawHandleIsStillOpenInsteadOfLeavingTheFileHalfWritten() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("semi.h5")
            let file = try HDF5File.create(at: url)
            try file.write([Float(1), 2], to: "x")
            // Simulate a bug: a dataset id opened behind the wrapper's back and never closed.
            let leaked = HDF5Library.withLock { H5Dopen2(file.id, "/x", bw_H5P_DEFAULT()) }
            #expect(leaked >= 0)
            #expect(throws: HDF5Error.self) { try file.close() }
            #expect(file.isOpen, "a failed close keeps the file open so it can be retried")
            HDF5Library.withLock { _ = H5Dclose(leaked) }
            try file.close()
            #expect(!file.isOpen)
            #expect(try HDF5File.open(at: url).read("x", as: Float.self).values == [1, 2])
        }
    }
}
