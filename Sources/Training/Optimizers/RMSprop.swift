import Tensors

/// RMSprop exactly as Keras 3: `v = ρ·v + (1 − ρ)·g²`; centered, `a = ρ·a + (1 − ρ)·g` and the
/// denominator `v − a² + ε` (else `v + ε`); `Δ = lr·g / sqrt(denominator)`; with momentum
/// `m = μ·m + Δ; w −= m`, else `w −= Δ`.
///
/// ```swift
/// var rmsprop = RMSprop(learningRate: 1e-3, momentum: 0.9, centered: true)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try rmsprop.apply(step.gradients, to: &model)
/// ```
public struct RMSprop: KerasOptimizer {
    public static let kerasClassName = "RMSprop"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// Decay of the squared-gradient average (Keras's `rho`).
    public let rho: Double
    /// Momentum of the update; 0 keeps no momentum slot.
    public let momentum: Double
    /// Added to the denominator before the square root.
    public let epsilon: Double
    /// Whether the squared average is centred by the mean gradient's square.
    public let centered: Bool

    /// RMSprop with Keras 3's defaults.
    public init(learningRate: Float = 0.001, rho: Double = 0.9, momentum: Double = 0, epsilon: Double = 1e-7,
                centered: Bool = false) {
        self.init(options: OptimizerOptions(learningRate: learningRate), rho: rho, momentum: momentum,
                  epsilon: epsilon, centered: centered)
    }

    /// RMSprop with any ``OptimizerOptions``.
    public init(options: OptimizerOptions, rho: Double = 0.9, momentum: Double = 0, epsilon: Double = 1e-7,
                centered: Bool = false) {
        self.options = options
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
    }

    /// Keras creates `velocity`, then `momentum` (when > 0), then `average_gradient` (centered), each for all variables.
    public var slotGroups: [[String]] {
        [["velocity"]] + (momentum > 0 ? [["momentum"]] : []) + (centered ? [["average_gradient"]] : [])
    }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        let lr = step.learningRate, rho = Float(rho), oneMinusRho = Float(1 - self.rho), eps = Float(epsilon)
        let mu = Float(momentum)
        // Slots are moved out (not copied) so their buffers stay uniquely referenced.
        let momentumIndex = momentum > 0 ? 1 : nil as Int?
        let averageIndex = centered ? (momentum > 0 ? 2 : 1) : nil as Int?
        var momentums = Tensor<Float>(zeros: [0]), velocities = Tensor<Float>(zeros: [0])
        var average = Tensor<Float>(zeros: [0])
        swap(&velocities, &slots[0])
        if let momentumIndex { swap(&momentums, &slots[momentumIndex]) }
        if let averageIndex { swap(&average, &slots[averageIndex]) }
        defer {
            swap(&velocities, &slots[0])
            if let momentumIndex { swap(&momentums, &slots[momentumIndex]) }
            if let averageIndex { swap(&average, &slots[averageIndex]) }
        }
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                velocities.withUnsafeMutableBufferPointer { v in
                    momentums.withUnsafeMutableBufferPointer { m in
                        average.withUnsafeMutableBufferPointer { a in
                            for i in w.indices {
                                v[i] = rho * v[i] + oneMinusRho * (g[i] * g[i])
                                let denominator: Float
                                if centered {
                                    a[i] = rho * a[i] + oneMinusRho * g[i]
                                    denominator = v[i] - a[i] * a[i] + eps
                                } else {
                                    denominator = v[i] + eps
                                }
                                let increment = (lr * g[i]) / denominator.squareRoot()
                                if momentumIndex != nil {
                                    m[i] = mu * m[i] + increment
                                    w[i] -= m[i]
                                } else {
                                    w[i] -= increment
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("rho", rho)
        config.set("momentum", momentum)
        config.set("epsilon", epsilon)
        config.set("centered", centered)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> RMSprop {
        RMSprop(options: options, rho: try config["rho"]?.number() ?? 0.9, momentum: try config["momentum"]?.number() ?? 0,
                epsilon: try config["epsilon"]?.number() ?? 1e-7, centered: try config["centered"]?.bool() ?? false)
    }
}

/// Adagrad exactly as Keras 3: `a += g²; w −= lr·g / sqrt(a + ε)`, with `a` starting at
/// `initial_accumulator_value`.
///
/// ```swift
/// var adagrad = Adagrad(learningRate: 0.01)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try adagrad.apply(step.gradients, to: &model)
/// ```
public struct Adagrad: KerasOptimizer {
    public static let kerasClassName = "Adagrad"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// The value every accumulator starts at.
    public let initialAccumulatorValue: Double
    /// Added to the accumulator before the square root.
    public let epsilon: Double

    /// Adagrad with Keras 3's defaults.
    public init(learningRate: Float = 0.001, initialAccumulatorValue: Double = 0.1, epsilon: Double = 1e-7) {
        self.init(options: OptimizerOptions(learningRate: learningRate), initialAccumulatorValue: initialAccumulatorValue,
                  epsilon: epsilon)
    }

    /// Adagrad with any ``OptimizerOptions``.
    public init(options: OptimizerOptions, initialAccumulatorValue: Double = 0.1, epsilon: Double = 1e-7) {
        self.options = options
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
    }

    public var slotGroups: [[String]] { [["accumulator"]] }
    public func initialValue(ofSlot slot: String) -> Float { Float(initialAccumulatorValue) }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        let lr = step.learningRate, eps = Float(epsilon)
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                slots[0].withUnsafeMutableBufferPointer { a in
                    for i in w.indices {
                        a[i] += g[i] * g[i]
                        w[i] -= (lr * g[i]) / (a[i] + eps).squareRoot()
                    }
                }
            }
        }
    }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("initial_accumulator_value", initialAccumulatorValue)
        config.set("epsilon", epsilon)
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> Adagrad {
        Adagrad(options: options, initialAccumulatorValue: try config["initial_accumulator_value"]?.number() ?? 0.1,
                epsilon: try config["epsilon"]?.number() ?? 1e-7)
    }
}
