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
        let description = try describeModel(url)
        return (description.summary, description.weights)
    }

    /// ``describe(_:)`` with the model itself (nil when Batchwise cannot build it), for
    /// callers that lay out its ``/Training/Sequential/layerSummaries`` themselves.
    ///
    /// ```swift
    /// let (model, summary, weights) = try KerasModelFile.describeModel(URL(fileURLWithPath: "m.h5"))
    /// print(model?.layerSummaries.map(\.outputShape) ?? [], summary, weights.renderedText())
    /// ```
    public static func describeModel(_ url: URL) throws -> (model: Sequential?, summary: String, weights: HDF5Node) {
        let model: Sequential?, summary: String
        do {
            let loaded = try load(url).model
            model = loaded
            summary = loaded.summary()
        } catch {
            model = nil
            summary = "(no model summary: \((error as? LocalizedError)?.errorDescription ?? "\(error)"))"
        }
        switch try format(of: url) {
        case .kerasArchive:
            let contents = try KerasArchive.read(url)
            defer { try? FileManager.default.removeItem(at: contents.weightsURL) }
            return (model, summary, try withHDF5(contents.weightsURL) { try $0.treeDescription() })
        default:
            return (model, summary, try withHDF5(url) { try $0.treeDescription() })
        }
    }
}
