import Foundation
import Tensors
import Training

/// An identity layer that throws on one rank only, once armed: a custom layer whose forward or
/// backward pass fails on the rows of one rank (a data-dependent failure) while the other ranks'
/// steps go on into the collectives after it (synchronized BatchNormalization's sums, the
/// gradients' reduction). Its error names the layer, as a layer's errors should
/// (`TrainingError`, "Writing a layer"), so that a test can check the name reaches the job's output.
struct FlakyLayer: Layer {
    enum Pass: String { case forward, backward }

    /// Whether the layer throws, shared by the copies of the model a trainer keeps: the `train`
    /// check runs a healthy step first (to count its collectives), then arms the layer.
    final class Trigger: @unchecked Sendable {
        private let lock = NSLock()
        private var isArmed = false
        var armed: Bool {
            get { lock.withLock { isArmed } }
            set { lock.withLock { isArmed = newValue } }
        }
    }

    static let namePrefix = "flaky"
    var name = ""
    var isTrainable = true
    private(set) var inputShape: [Int]?
    /// The pass that throws on this rank, nil on the ranks where nothing fails.
    let failingPass: Pass?
    let rank: Int
    let trigger: Trigger

    init(failingPass: Pass?, rank: Int, trigger: Trigger) {
        self.failingPass = failingPass
        self.rank = rank
        self.trigger = trigger
    }

    func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }

    mutating func build(inputShape: [Int], seed: UInt64) throws -> [Int] {
        self.inputShape = inputShape
        return inputShape
    }

    func forward(_ input: Tensor<Float>, mode: ExecutionMode) throws -> LayerOutput<Void> {
        try failIfArmed(in: .forward, rows: input.rowCount)
        return LayerOutput(output: input, tape: ())
    }

    func backward(_ upstream: Tensor<Float>, tape: Void, gradients: inout LayerGradients,
                  needsInputGradient: Bool) throws -> Tensor<Float>? {
        try failIfArmed(in: .backward, rows: upstream.rowCount)
        return needsInputGradient ? upstream : nil
    }

    var variables: [NamedVariable] { [] }

    mutating func setVariable(_ localName: String, to value: Tensor<Float>) throws {
        throw TrainingError.unknownVariable(name: "\(name)/\(localName)", available: [])
    }

    private func failIfArmed(in pass: Pass, rows: Int) throws {
        guard pass == failingPass, trigger.armed else { return }
        throw TrainingError.invalidArgument(layer: name, message: "cannot take rank \(rank)'s \(rows) rows in the \(pass.rawValue) pass")
    }
}
