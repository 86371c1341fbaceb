import Foundation
import HDF5
import Training

extension KerasModelFile {
    /// What `batchwise inspect` shows for a Keras model file: the model summary and the
    /// HDF5 tree of its weights (for `.keras`, the archive's `model.weights.h5`). A model
    /// Batchwise cannot build still shows its weights, with the reason in place of the summary.
    ///
    /// ```swift
    /// let (summary, weights) = try KerasModelFile.describe(URL(fileURLWithPath: "m.keras"))
    /// print(summary); print(weights.renderedText())
    /// ```
    public static func describe(_ url: URL) throws -> (summary: String, weights: HDF5Node) {
        let summary: String
        do {
            summary = try load(url).model.summary()
        } catch {
            summary = "(no model summary: \((error as? LocalizedError)?.errorDescription ?? "\(error)"))"
        }
        switch try format(of: url) {
        case .kerasArchive:
            let contents = try KerasArchive.read(url)
            defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
            return (summary, try withHDF5(contents.weightsURL) { try $0.treeDescription() })
        default:
            return (summary, try withHDF5(url) { try $0.treeDescription() })
        }
    }
}
