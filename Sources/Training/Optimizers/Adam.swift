#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// Adam exactly as Keras 3: with `t = iterations + 1`,
/// `m += (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`,
/// `α = lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ)`, `w −= α·m / (sqrt(v) + ε)` — ε is added to the
/// square root of the NON-bias-corrected `v`.
///
/// ```swift
/// var adam = Adam(learningRate: 1e-3)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try adam.apply(step.gradients, to: &model)
/// let checkpoint = adam.state        // iterations + "<variable>/momentum", "/velocity"
/// ```
public struct Adam: MomentEstimatingOptimizer, FusableAdamRule {
    public static let kerasClassName = "Adam"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// Decay of the first-moment (mean gradient) average.
    public let beta1: Double
    /// Decay of the second-moment (squared gradient) average.
    public let beta2: Double
    /// Added to the root of the second moment so that tiny gradients do not blow up the step.
    public let epsilon: Double

    /// Adam with Keras 3's defaults; its state starts empty and its slots are created on the first step.
    public init(learningRate: Float = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.init(options: OptimizerOptions(learningRate: learningRate), beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Adam with any ``OptimizerOptions`` (schedule, weight decay, clipping, accumulation, EMA).
    public init(options: OptimizerOptions, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.options = options
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        Self.update(&value, gradient: gradient, slots: &slots, step: step, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Adam's rule, shared with ``AdamW``.
    static func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       step: OptimizerStep, beta1: Double, beta2: Double, epsilon: Double,
                       extras: AdamKernel.Extras = .none) {
        update(&value, gradient: gradient, slots: &slots, alpha: stepSize(step, beta1: beta1, beta2: beta2),
               beta1: beta1, beta2: beta2, epsilon: epsilon, extras: extras)
    }

    /// The bias-corrected step size `α = lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ)`: the same number for
    /// every variable of one update, so a caller updating several computes it once (its two
    /// `powf` calls cost more than Adam's arithmetic on a small variable).
    static func stepSize(_ step: OptimizerStep, beta1: Double, beta2: Double) -> Float {
        // Keras casts β to float32 before the powers and evaluates 1 − β in double.
        let t = Float(step.iterations + 1)
        return step.learningRate * (1 - powf(Float(beta2), t)).squareRoot() / (1 - powf(Float(beta1), t))
    }

    /// Adam's rule with the step size `alpha` from ``stepSize(_:beta1:beta2:)``.
    static func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       alpha: Float, beta1: Double, beta2: Double, epsilon: Double,
                       extras: AdamKernel.Extras = .none) {
        // Both slots are reached through the slot array's buffer, so they stay uniquely
        // referenced (no CoW copies) without moving one out through a placeholder tensor,
        // which cost an allocation per variable and step.
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                guard !w.isEmpty else { return }
                slots.withUnsafeMutableBufferPointer { slotBuffer in
                    let slot = slotBuffer
                    slot[0].withUnsafeMutableBufferPointer { m in
                        slot[1].withUnsafeMutableBufferPointer { v in
                            AdamKernel.step(w: w.baseAddress!, g: g.baseAddress!, m: m.baseAddress!, v: v.baseAddress!,
                                            count: w.count, alpha: alpha, oneMinusBeta1: Float(1 - beta1),
                                            oneMinusBeta2: Float(1 - beta2), epsilon: Float(epsilon), extras: extras)
                        }
                    }
                }
            }
        }
    }

}

/// AdamW: Adam with decoupled weight decay (Keras's `AdamW`, `weight_decay` 0.004 by default).
/// The decay is ``OptimizerOptions/weightDecay``, applied before the Adam rule as Keras does.
///
/// ```swift
/// var adamW = AdamW(learningRate: 1e-3, weightDecay: 0.01)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try adamW.apply(step.gradients, to: &model)
/// ```
public struct AdamW: MomentEstimatingOptimizer, FusableAdamRule {
    public static let kerasClassName = "AdamW"
    public var options: OptimizerOptions
    public var core = OptimizerCore()
    /// Decay of the first-moment average.
    public let beta1: Double
    /// Decay of the second-moment average.
    public let beta2: Double
    /// Added to the root of the second moment.
    public let epsilon: Double

    /// AdamW with Keras 3's defaults.
    public init(learningRate: Float = 0.001, weightDecay: Double = 0.004, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-7) {
        var options = OptimizerOptions(learningRate: learningRate)
        options.weightDecay = weightDecay
        self.init(options: options, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// AdamW with any ``OptimizerOptions``; its `weightDecay` is the decoupled decay (Keras's
    /// default 0.004 when nil: AdamW always decays).
    public init(options: OptimizerOptions, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        var options = options
        if options.weightDecay == nil { options.weightDecay = 0.004 }
        self.options = options
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public func update(_ value: inout Tensor<Float>, gradient: Tensor<Float>, slots: inout [Tensor<Float>],
                       scalars: [Float], step: OptimizerStep) {
        Adam.update(&value, gradient: gradient, slots: &slots, step: step, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

}

/// An optimizer whose rule is exactly ``Adam``'s, so that ``OptimizerCore`` may fold clipping,
/// weight decay and the EMA into Adam's pass over each variable (``AdamKernel/Extras``).
protocol FusableAdamRule: MomentEstimatingOptimizer {}

/// ``Adam``, ``AdamW`` and ``Nadam``: two moment averages per variable (`momentum`,
/// `velocity`), their decays and ε, and the Keras config of those.
public protocol MomentEstimatingOptimizer: KerasOptimizer {
    /// Decay of the first-moment average.
    var beta1: Double { get }
    /// Decay of the second-moment average.
    var beta2: Double { get }
    /// Added to the root of the second moment.
    var epsilon: Double { get }
    /// The optimizer with these settings and an empty state.
    init(options: OptimizerOptions, beta1: Double, beta2: Double, epsilon: Double)
    /// Whether Keras's class has an `amsgrad` option (Adam, AdamW), which Batchwise writes as
    /// `false` and refuses when `true`.
    static var hasAMSGradOption: Bool { get }
}

extension MomentEstimatingOptimizer {
    public static var hasAMSGradOption: Bool { true }
    public var slotGroups: [[String]] { momentEstimatingSlotGroups }

    public func encodeKerasConfig<Config: KerasConfigWriting>(to config: inout Config) {
        config.set("beta_1", beta1)
        config.set("beta_2", beta2)
        config.set("epsilon", epsilon)
        if Self.hasAMSGradOption { config.set("amsgrad", false) }
    }

    public static func decodeKerasConfig<Config: KerasConfigReading>(_ config: Config, options: OptimizerOptions) throws -> Self {
        if let amsgrad = config["amsgrad"], try amsgrad.bool() {
            throw KerasConfigProblem.unsupportedOption("amsgrad", value: "true")
        }
        return Self(options: options, beta1: try config["beta_1"]?.number() ?? 0.9,
                    beta2: try config["beta_2"]?.number() ?? 0.999, epsilon: try config["epsilon"]?.number() ?? 1e-7)
    }
}

/// ``MomentEstimatingOptimizer/slotGroups``: one constant list, so that an update neither
/// builds it nor compares its names (``OptimizerCore/LayoutCache`` finds it equal by identity).
private let momentEstimatingSlotGroups = [["momentum", "velocity"]]
