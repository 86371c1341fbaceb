import Foundation
import Testing
import Training
@testable import Checkpoints

/// `OptimizerConfig(_:)` given an optimizer of the caller's own, which no Keras class
/// describes and so no checkpoint can rebuild: `CheckpointError.unsupported` naming the
/// optimizer type. No file is involved yet, so the message has no file part; before stop 21
/// it began with ": " (an empty file name), and no test reached this check.
@Suite("A checkpoint configuration of an optimizer no checkpoint can rebuild names the type")
struct OptimizerConfigErrorTests {
    @Test("an optimizer of the caller's own cannot be checkpointed")
    func handMadeOptimizer() throws {
        let expected = CheckpointError.unsupported(file: "", what: "optimizer HandMadeOptimizer cannot be checkpointed")
        #expect(throws: expected) { try OptimizerConfig(KerasOptimizerFileErrorTests.HandMadeOptimizer()) }
        #expect(expected.localizedDescription == "optimizer HandMadeOptimizer cannot be checkpointed")
        #expect(CheckpointError.unsupported(file: "m.keras", what: "x").localizedDescription == "m.keras: x")
        #expect(throws: Never.self) { try OptimizerConfig(SGD(learningRate: 0.1)) }
    }
}
