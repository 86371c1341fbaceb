import Tensors

/// Stochastic gradient descent with optional (Nesterov) momentum, exactly as Keras:
/// `w -= lr·g`, or `v = momentum·v − lr·g; w += v` (Nesterov: `w += momentum·v − lr·g`).
///
/// ```swift
/// var sgd = SGD(learningRate: 0.01, momentum: 0.9, nesterov: true)
/// let step = try model.trainingStep(x: x, y: y, loss: .meanSquaredError)
/// try sgd.apply(step.gradients, to: &model)
/// ```
public struct SGD: Optimizer {
    public var learningRate: Float
    /// The velocity decay; 0 is plain gradient descent and keeps no slots.
    public let momentum: Double
    /// Whether the step looks ahead along the velocity (Keras's `nesterov`).
    public let nesterov: Bool
    public private(set) var iterations: Int64 = 0
    private var store = SlotStore(slotNames: ["momentum"])

    /// SGD with Keras 3's defaults (learning rate 0.01, no momentum).
    public init(learningRate: Float = 0.01, momentum: Double = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// `sgd` with `momentum` and `nesterov`.
    public var identity: OptimizerIdentity {
        OptimizerIdentity(kind: "sgd", hyperParameters: ["momentum": "\(momentum)", "nesterov": "\(nesterov)"])
    }

    public var state: OptimizerState {
        get { OptimizerState(iterations: iterations, slots: momentum == 0 ? [:] : store.named) }
        set {
            iterations = newValue.iterations
            store.restore(newValue.slots)
        }
    }

    public mutating func apply(_ gradients: Gradients, to model: inout Sequential) throws {
        let lr = learningRate
        let mu = Float(momentum)
        if momentum == 0 {
            try model.updateTrainableVariables(using: gradients) { _, value, gradient in
                try Self.checkShape(value, gradient)
                value.withUnsafeMutableBufferPointer { w in
                    gradient.withUnsafeBufferPointer { g in
                        for i in w.indices { w[i] -= g[i] * lr }
                    }
                }
            }
        } else {
            try store.prepare(for: model)
            let nesterov = self.nesterov
            var velocities = store.take(slot: 0)
            defer { store.put(velocities, slot: 0) }
            try model.updateTrainableVariables(using: gradients) { index, value, gradient in
                try Self.checkShape(value, gradient)
                try Self.checkSlot(velocities, index, value, store)
                value.withUnsafeMutableBufferPointer { w in
                    gradient.withUnsafeBufferPointer { g in
                        velocities[index].withUnsafeMutableBufferPointer { v in
                            for i in w.indices {
                                v[i] = -g[i] * lr + v[i] * mu
                                w[i] += nesterov ? -g[i] * lr + v[i] * mu : v[i]
                            }
                        }
                    }
                }
            }
        }
        iterations += 1
    }

    /// Catches an optimizer reused on a model with other variables (slots are by position).
    static func checkSlot(_ slots: [Tensor<Float>], _ index: Int, _ value: Tensor<Float>, _ store: SlotStore) throws {
        guard index < slots.count, slots[index].shape == value.shape else {
            let name = index < store.variableNames.count ? store.variableNames[index] : "#\(index)"
            throw TrainingError.optimizerStateMismatch(
                variable: name, message: "this optimizer was built for another model's variables")
        }
    }

    static func checkShape(_ value: Tensor<Float>, _ gradient: Tensor<Float>) throws {
        guard value.shape == gradient.shape else {
            throw TrainingError.shapeMismatch(layer: "gradient", expected: value.shape, found: gradient.shape)
        }
    }
}
