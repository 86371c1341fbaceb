import Tensors

/// Stochastic gradient descent with optional (Nesterov) momentum, exactly as Keras:
/// `w -= lr·g`, or `v = momentum·v − lr·g; w += v` (Nesterov: `w += momentum·v − lr·g`).
///
/// ```swift
/// var sgd = SGD(learningRate: 0.01, momentum: 0.9, nesterov: true)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try sgd.apply(step.gradients, to: &model)
/// ```
public struct SGD: KerasOptimizer {
    public static let kerasClassName = "SGD"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// The velocity decay; 0 is plain gradient descent and keeps no slots.
    public let momentum: Double
    /// Whether the step looks ahead along the velocity (Keras's `nesterov`).
    public let nesterov: Bool

    /// SGD with Keras 3's defaults (learning rate 0.01, no momentum).
    public init(learningRate: Float = 0.01, momentum: Double = 0, nesterov: Bool = false) {
        self.init(options: OptimizerOptions(learningRate: learningRate), momentum: momentum, nesterov: nesterov)
    }

    /// SGD with any ``OptimizerOptions`` (schedule, weight decay, clipping, accumulation, EMA).
    public init(options: OptimizerOptions, momentum: Double = 0, nesterov: Bool = false) {
        self.options = options
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// `momentum` when there is momentum; nothing otherwise.
    public var slotGroups: [[String]] { momentum == 0 ? [] : [["momentum"]] }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        let lr = step.learningRate
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                guard momentum != 0 else {
                    for i in w.indices { w[i] -= g[i] * lr }
                    return
                }
                let mu = Float(momentum)
                slots[0].withUnsafeMutableBufferPointer { v in
                    for i in w.indices {
                        v[i] = v[i] * mu - g[i] * lr
                        w[i] += nesterov ? v[i] * mu - g[i] * lr : v[i]
                    }
                }
            }
        }
    }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("momentum", momentum)
        config.set("nesterov", nesterov)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> SGD {
        let momentum = try config["momentum"]?.number() ?? 0
        guard (0...1).contains(momentum) else {
            throw KerasConfigProblem.invalidOption("momentum", message: "\(momentum) is outside [0, 1]")
        }
        return SGD(options: options, momentum: momentum, nesterov: try config["nesterov"]?.bool() ?? false)
    }
}
