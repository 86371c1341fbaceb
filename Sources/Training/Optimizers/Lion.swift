import Tensors

/// Lion exactly as Keras 3: `w −= lr·sign(β1·m + (1 − β1)·g)`, then `m = β2·m + (1 − β2)·g`.
///
/// ```swift
/// var lion = Lion(learningRate: 1e-4)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try lion.apply(step.gradients, to: &model)
/// ```
public struct Lion: KerasOptimizer {
    public static let kerasClassName = "Lion"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// Interpolation between momentum and gradient for the update's sign.
    public let beta1: Double
    /// Decay of the momentum.
    public let beta2: Double

    /// Lion with Keras 3's defaults.
    public init(learningRate: Float = 0.001, beta1: Double = 0.9, beta2: Double = 0.99) {
        self.init(options: OptimizerOptions(learningRate: learningRate), beta1: beta1, beta2: beta2)
    }

    /// Lion with any ``OptimizerOptions``.
    public init(options: OptimizerOptions, beta1: Double = 0.9, beta2: Double = 0.99) {
        self.options = options
        self.beta1 = beta1
        self.beta2 = beta2
    }

    public var slotGroups: [[String]] { [["momentum"]] }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        let lr = step.learningRate, b1 = Float(beta1), b2 = Float(beta2)
        // Keras casts β to float32 first, so 1 − β is a float32 subtraction here.
        let oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                slots[0].withUnsafeMutableBufferPointer { m in
                    for i in w.indices {
                        let direction = m[i] * b1 + g[i] * oneMinusB1
                        let sign: Float = direction > 0 ? 1 : (direction < 0 ? -1 : 0)
                        w[i] -= lr * sign
                        m[i] = m[i] * b2 + g[i] * oneMinusB2
                    }
                }
            }
        }
    }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("beta_1", beta1)
        config.set("beta_2", beta2)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> Lion {
        let beta1 = try config["beta_1"]?.number() ?? 0.9
        guard beta1 > 0, beta1 <= 1 else {
            throw KerasConfigProblem.invalidOption("beta_1", message: "\(beta1) is outside (0, 1]")
        }
        return Lion(options: options, beta1: beta1, beta2: try config["beta_2"]?.number() ?? 0.99)
    }
}
