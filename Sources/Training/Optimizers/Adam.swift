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
public struct Adam: Optimizer {
    public var learningRate: Float
    /// Decay of the first-moment (mean gradient) average.
    public let beta1: Double
    /// Decay of the second-moment (squared gradient) average.
    public let beta2: Double
    /// Added to the root of the second moment so that tiny gradients do not blow up the step.
    public let epsilon: Double
    public private(set) var iterations: Int64 = 0
    private var store = SlotStore(slotNames: ["momentum", "velocity"])

    /// Adam with Keras 3's defaults; its state starts empty and its slots are created on the first step.
    public init(learningRate: Float = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// `adam` with `beta_1`, `beta_2` and `epsilon`.
    public var identity: OptimizerIdentity {
        OptimizerIdentity(kind: "adam", hyperParameters: ["beta_1": "\(beta1)", "beta_2": "\(beta2)", "epsilon": "\(epsilon)"])
    }

    public var state: OptimizerState {
        get { OptimizerState(iterations: iterations, slots: store.named) }
        set {
            iterations = newValue.iterations
            store.restore(newValue.slots)
        }
    }

    public mutating func apply(_ gradients: Gradients, to model: inout Sequential) throws {
        try store.prepare(for: model)
        // Keras casts β to float32 before the powers and evaluates 1 − β in double.
        let t = Float(iterations + 1)
        let beta1Power = powf(Float(beta1), t)
        let beta2Power = powf(Float(beta2), t)
        let alpha = learningRate * (1 - beta2Power).squareRoot() / (1 - beta1Power)
        let oneMinusBeta1 = Float(1 - beta1)
        let oneMinusBeta2 = Float(1 - beta2)
        let eps = Float(epsilon)
        // Moved out (not copied) so the slot buffers stay uniquely referenced: no CoW copies.
        var moments = store.take(slot: 0)
        var velocities = store.take(slot: 1)
        defer {
            store.put(moments, slot: 0)
            store.put(velocities, slot: 1)
        }
        try model.updateTrainableVariables(using: gradients) { index, value, gradient in
            try SGD.checkShape(value, gradient)
            try SGD.checkSlot(moments, index, value, store)
            value.withUnsafeMutableBufferPointer { w in
                gradient.withUnsafeBufferPointer { g in
                    guard !w.isEmpty else { return }
                    moments[index].withUnsafeMutableBufferPointer { m in
                        velocities[index].withUnsafeMutableBufferPointer { v in
                            AdamKernel.step(w: w.baseAddress!, g: g.baseAddress!, m: m.baseAddress!,
                                            v: v.baseAddress!, count: w.count, alpha: alpha,
                                            oneMinusBeta1: oneMinusBeta1, oneMinusBeta2: oneMinusBeta2, epsilon: eps)
                        }
                    }
                }
            }
        }
        iterations += 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
