import Foundation
import HDF5
import Tensors
import Testing
import Training
@testable import Checkpoints
import CheckpointsTestSupport

/// Checks both prediction modes of `model` against the Keras reference.
func expectPredictions(_ model: Sequential, _ reference: KerasFixtures.Reference, _ label: String) throws {
    let inference = try model(reference.inputs, mode: .inference)
    let batch = try model.withBatchNormStatistics(.batch)(reference.inputs, mode: .inference)
    #expect(scaledError(inference, reference.inference) <= 1, "\(label): inference outputs differ from Keras")
    #expect(scaledError(batch, reference.batchStatistics) <= 1, "\(label): batch-statistics outputs differ from Keras")
}
