#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// Nadam (Adam with Nesterov momentum) exactly as Keras 3, including its optimizer-wide
/// `u_product` (the running product of the momentum schedule), which is saved with the slots.
///
/// ```swift
/// var nadam = Nadam(learningRate: 1e-3)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try nadam.apply(step.gradients, to: &model)
/// ```
public struct Nadam: MomentEstimatingOptimizer {
    public static let hasAMSGradOption = false
    public static let kerasClassName = "Nadam"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// Decay of the first-moment average.
    public let beta1: Double
    /// Decay of the second-moment average.
    public let beta2: Double
    /// Added to the root of the bias-corrected second moment.
    public let epsilon: Double

    /// Nadam with Keras 3's defaults.
    public init(learningRate: Float = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.init(options: OptimizerOptions(learningRate: learningRate), beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Nadam with any ``OptimizerOptions``.
    public init(options: OptimizerOptions, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.options = options
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var scalarSlots: [(name: String, initial: Float)] { [("u_product", 1)] }

    /// `u_product *= β1·(1 − 0.5·0.96^(t))`, once per update before the variables.
    public func updateScalars(_ scalars: inout [Float], step: OptimizerStep) {
        let t = Float(step.iterations + 1)
        scalars[0] = scalars[0] * Float(beta1) * (1 - 0.5 * powf(0.96, t))
    }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        let lr = step.learningRate, b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let localStep = Float(step.iterations + 1), nextStep = Float(step.iterations + 2)
        let uT = b1 * (1 - 0.5 * powf(0.96, localStep))
        let uT1 = b1 * (1 - 0.5 * powf(0.96, nextStep))
        let uProduct = scalars[0]
        let uProduct1 = uProduct * uT1
        let beta2Power = powf(b2, localStep)
        var velocity = Tensor<Float>(zeros: [0])
        swap(&velocity, &slots[1])
        defer { swap(&velocity, &slots[1]) }
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                slots[0].withUnsafeMutableBufferPointer { m in
                    velocity.withUnsafeMutableBufferPointer { v in
                        for i in w.indices {
                            m[i] += (g[i] - m[i]) * (1 - b1)
                            v[i] += (g[i] * g[i] - v[i]) * (1 - b2)
                            let mHat = (uT1 * m[i]) / (1 - uProduct1) + ((1 - uT) * g[i]) / (1 - uProduct)
                            let vHat = v[i] / (1 - beta2Power)
                            w[i] -= (mHat * lr) / (vHat.squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }
}
