import Testing
import Tensors
@testable import Training

/// `Layer.tape(fromErased:)`, the cast a model's backward pass uses instead of `as?`: the
/// layer's own tape comes back whole; any other value (another layer's tape, a value of the
/// same size) gives nil, and so does an optional holding the tape (which `as?` would unwrap;
/// a model stores its tapes unwrapped).
@Suite struct ErasedTapeCastTests {
    @Test func ownTapeComesBackAndOtherValuesGiveNil() throws {
        let input = try Tensor<Float>(shape: [2, 3], scalars: [1, -2, 3, -4, 5, -6])
        let output = try Tensor<Float>(shape: [2, 1], scalars: [0.25, -0.5])
        let denseTape: any Sendable = Dense.Tape(input: input, output: output)
        let recovered = try #require(Dense.tape(fromErased: denseTape))
        #expect(recovered.input.scalars == input.scalars && recovered.input.shape == input.shape)
        #expect(recovered.output.scalars == output.scalars && recovered.output.shape == output.shape)

        let normalizationTape: any Sendable = BatchNormalization.Tape(input: input, mean: [1], inverseStd: [2],
                                                                      usedBatchStatistics: true)
        #expect(Dense.tape(fromErased: normalizationTape) == nil)
        #expect(BatchNormalization.tape(fromErased: denseTape) == nil)
        #expect(BatchNormalization.tape(fromErased: normalizationTape)?.mean == [1])
        // Two tensors, as Dense's tape: the same size is not the same type.
        let pair: any Sendable = (input, output)
        #expect(Dense.tape(fromErased: pair) == nil)
        let optional: any Sendable = Dense.Tape?.some(Dense.Tape(input: input, output: output))
        #expect(Dense.tape(fromErased: optional) == nil)
    }
}
