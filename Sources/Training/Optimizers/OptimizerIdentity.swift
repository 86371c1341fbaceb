/// Which optimizer an ``OptimizerState`` belongs to: its kind and the hyper-parameters that
/// change what a step does with that state. The learning rate is deliberately not part of it:
/// lowering it when resuming (fine-tuning, a manual schedule) is legitimate, and the state
/// (moments, velocities, step count) means the same under any learning rate.
///
/// ```swift
/// Adam().identity.description   // "adam(amsgrad: false, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-07)"
/// SGD(momentum: 0.9).identity == SGD().identity                       // false
/// Adam(learningRate: 1e-4).identity == Adam().identity                // true
/// ```
public struct OptimizerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// Keras's name of the optimizer (`"adam"`, `"sgd"`), or the type's name for other optimizers.
    public let kind: String
    /// The hyper-parameters other than the learning rate, by Keras name, as Swift prints them;
    /// a `Double` prints the shortest text that reads back as the same value, so equal text
    /// means equal values.
    public let hyperParameters: [String: String]

    /// An identity; optimizers build their own in ``Optimizer/identity``.
    public init(kind: String, hyperParameters: [String: String] = [:]) {
        self.kind = kind
        self.hyperParameters = hyperParameters
    }

    /// `kind(name: value, ...)` with the names sorted, e.g. `"sgd(momentum: 0.9, nesterov: false)"`.
    public var description: String {
        "\(kind)(" + hyperParameters.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            .joined(separator: ", ") + ")"
    }
}

extension Optimizer {
    /// The type's name and no hyper-parameters: an optimizer defined outside Batchwise is told
    /// apart from others by its type only, unless it implements ``Optimizer/identity`` itself.
    public var identity: OptimizerIdentity { OptimizerIdentity(kind: String(describing: type(of: self))) }
}
