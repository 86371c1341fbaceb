import Foundation
import HDF5

/// The data file of the data-parallel CLI error tests: `rows` rows of `features` features
/// (deterministic values in -1...1) at `/x` and class labels in 0..<3 at `/y`.
///
/// ```swift
/// try DataParallelTestData.write(to: folder.appendingPathComponent("d.h5"), rows: 64)
/// ```
enum DataParallelTestData {
    static func write(to url: URL, rows: Int, features: Int = 4) throws {
        let x: [Float] = (0..<(rows * features)).map { index -> Float in Float((index * 37) % 101) / 50 - 1 }
        let y: [Float] = (0..<rows).map { row -> Float in Float((row * 7) % 3) }
        try HDF5File.atomicWrite(to: url) { file in
            try file.write(x, shape: [rows, features], to: "/x")
            try file.write(y, shape: [rows], to: "/y")
        }
    }
}
