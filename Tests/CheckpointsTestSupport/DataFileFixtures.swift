import Foundation
import HDF5
import Training
import Checkpoints

/// Models and HDF5 data files for the tests of bad data given to `batchwise train` /
/// `predict` (WorkflowsTests.DataValidationTests, and the CLI tests in CheckpointsTests).
package enum DataFileFixtures {
    /// A folder with a 3-input model (`m.keras`, sigmoid output) and a 3-class softmax model
    /// (`c.keras`), both compiled-free so that the job names loss and optimizer.
    package static func folder(_ label: String = #function) throws -> URL {
        let folder = try NativeFixtures.folder(label)
        try KerasModelFile.save(try NativeFixtures.model(seed: 4), to: folder.appendingPathComponent("m.keras"))
        let classifier = try Sequential(inputFeatures: 3, [Dense(units: 4, activation: .relu), Dense(units: 3, activation: .softmax)], seed: 2)
        try KerasModelFile.save(classifier, to: folder.appendingPathComponent("c.keras"))
        return folder
    }

    package static func writeData(_ folder: URL, x: [Double], xShape: [Int], y: [Double], yShape: [Int]? = nil,
                                  float64: Bool = false) throws -> URL {
        let url = folder.appendingPathComponent("d-\(UUID().uuidString).h5")
        try HDF5File.atomicWrite(to: url) { file in
            if float64 { try file.write(x, shape: xShape, to: "/x") } else { try file.write(x.map { Float($0) }, shape: xShape, to: "/x") }
            try file.write(y, shape: yShape ?? [y.count], to: "/y")
        }
        return url
    }

    /// 8 finite rows of 3 features.
    package static let goodX: [Double] = (0..<24).map { Double($0 % 5) - 2 }

    /// /x float32 [rows, 3] (row r = [first + r, 0.5, -1], gzip in chunks of `chunkRows` unless
    /// nil) and /y float64 [rows] = first + r, so a batch's targets name its rows.
    package static func writeRows(_ folder: URL, _ name: String, rows: Int, first: Int = 0, chunkRows: Int? = nil,
                      nanAt: Int? = nil) throws -> URL {
        let url = folder.appendingPathComponent(name)
        var x: [Float] = (0..<rows).flatMap { [Float(first + $0), 0.5, -1] }
        if let nanAt { x[nanAt * 3 + 1] = .nan }
        try HDF5File.atomicWrite(to: url) { file in
            let options: HDF5DatasetOptions = chunkRows.map { .compressed(level: 1, chunkShape: [$0, 3]) } ?? .contiguous
            try file.write(x, shape: [rows, 3], to: "/x", options: options)
            try file.write((0..<rows).map { Double(first + $0) }, shape: [rows], to: "/y")
        }
        return url
    }
}
