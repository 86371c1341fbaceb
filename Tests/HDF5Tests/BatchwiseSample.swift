import Foundation
@testable import HDF5

/// The file fixtures/hdf5/check_batchwise_file.py verifies with h5py and h5dump. Its values are
/// closed-form so the checker recomputes them independently.
enum BatchwiseSample {
    static let integerColumns: [(String, [Int64])] = [
        ("int8", [Int64(Int8.min), 0, 1, Int64(Int8.max)]),
        ("int16", [Int64(Int16.min), 0, 1, Int64(Int16.max)]),
        ("int32", [Int64(Int32.min), 0, 1, Int64(Int32.max)]),
        ("int64", [Int64.min, 0, 1, Int64.max]),
    ]

    static func write(to url: URL) throws {
        try HDF5File.atomicWrite(to: url) { file in
            try file.write((0..<12).map { Float($0) * 0.25 - 1.5 }, shape: [3, 4], to: "numeric/float32")
            try file.write((0..<6).map { Double($0) * .pi }, shape: [2, 3], to: "numeric/float64")
            try file.write([Int8.min, 0, 1, Int8.max], to: "numeric/int8")
            try file.write([Int16.min, 0, 1, Int16.max], to: "numeric/int16")
            try file.write([Int32.min, 0, 1, Int32.max], to: "numeric/int32")
            try file.write([Int64.min, 0, 1, Int64.max], to: "numeric/int64")
            try file.write([UInt8.min, 0, 1, UInt8.max], to: "numeric/uint8")
            try file.write([UInt16.min, 0, 1, UInt16.max], to: "numeric/uint16")
            try file.write([UInt32.min, 0, 1, UInt32.max], to: "numeric/uint32")
            try file.write([UInt64.min, 0, 1, UInt64.max], to: "numeric/uint64")
            try file.write([true, false, true, false, false, true], shape: [2, 3], to: "numeric/bool")
            try file.write((0..<800).map { Float($0 % 17) * 0.5 }, shape: [100, 8], to: "compressed/gzip_shuffle",
                           options: .compressed(level: 4, chunkShape: [10, 8]))
            let log = try file.createDataset("extendible", of: Float.self, shape: [0, 2],
                                             options: HDF5DatasetOptions(chunkShape: [2, 2], extendible: true))
            try log.append([Float(0), 1, 2, 3])
            try log.append([Float(4), 5])
            try file.createDataset("empty", of: Float.self, shape: [0, 3])
            try file.createDataset("scalar", of: Double.self, shape: []).write([2.5])
            try file.createGroup("nested/a/b/c")
            try file.setAttribute("title", "batchwise sample ✓")
            try file.setAttribute("fixed_title", "fixed-length", storage: .fixedLength)
            try file.setAttribute("layer_names", ["dense", "batch_normalization"], storage: .fixedLength)
            try file.setAttribute("vlen_names", ["kernel:0", "bias:0", "ünïcode"])
            try file.setAttribute("epsilon", 1e-3)
            try file.setAttribute("count", Int64(-42))
            try file.setAttribute("flag", true)
            try file.setAttribute("shape", [Int32(3), 4], on: "numeric")
            try file.setAttribute("units", "half-steps", on: "compressed/gzip_shuffle")
        }
    }
}
