import Foundation
import Testing
@testable import HDF5

@Suite("Random rows read straight from contiguous read-only files agree with libhdf5")
struct DirectRowsTests {
    @Test func directReadsMatchLibhdf5ReadsForEveryNativeType() throws {
        let file = try HDF5File.open(at: Fixtures.h5pyWritten)
        let floats = try file.dataset(at: "numeric/float32")
        #expect(floats.directOffset != nil)
        let whole = try floats.read(as: Float.self).values
        #expect(try floats.readRows(at: [2, 0, 2], as: Float.self).values == Array(whole[8..<12] + whole[0..<4] + whole[8..<12]))
        // Widening to Double cannot use raw bytes, so it goes through libhdf5 and must agree.
        #expect(try floats.readRows(at: [1], as: Double.self).values == whole[4..<8].map(Double.init))
        let bools = try file.dataset(at: "numeric/bool")
        #expect(try bools.readRows(at: [1, 0], as: Bool.self).values == [false, false, true, true, false, true])
        let uint16 = try file.dataset(at: "numeric/uint16")
        #expect(try uint16.readRows(at: [3, 0], as: UInt16.self).values == [UInt16.max, 0])
        #expect(try file.dataset(at: "compressed/gzip_shuffle").directOffset == nil)
    }

    @Test func writableFilesAndUnallocatedDatasetsUseLibhdf5() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("d.h5")
            let file = try HDF5File.create(at: url)
            let written = try file.write((0..<6).map { Float($0) }, shape: [3, 2], to: "x")
            #expect(written.directOffset == nil, "pending writes may sit in libhdf5's caches")
            try file.createDataset("never", of: Float.self, shape: [4, 2])
            try file.close()

            let reader = try HDF5File.open(at: url)
            let x = try reader.dataset(at: "x")
            #expect(x.directOffset != nil)
            #expect(try x.readRows(at: [2, 1], as: Float.self).values == [4, 5, 2, 3])
            let never = try reader.dataset(at: "never")
            #expect(never.directOffset == nil)
            #expect(try never.readRows(at: [3, 0], as: Float.self).values == [0, 0, 0, 0])
        }
    }

    @Test func aReadOnlyOpenSharingAWritersFileSeesTheUnflushedRows() throws {
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("shared.h5")
            let writer = try HDF5File.create(at: url)
            try writer.write([Float](repeating: 0, count: 8), shape: [4, 2], to: "x")
            try writer.flush()
            try writer.dataset(at: "x").writeRows([Float(7), 8], startingAt: 3)  // may sit in libhdf5's caches
            let reader = try HDF5File.open(at: url, mode: .readOnly)
            let x = try reader.dataset(at: "x")
            #expect(x.directOffset == nil)
            #expect(try x.readRows(at: [3], as: Float.self).values == [7, 8])
        }
    }
}
