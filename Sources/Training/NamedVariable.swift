import Tensors

/// What a variable is for, as a layer describes it: checkpoints, optimizers and summaries
/// read the role instead of asking which layer a variable belongs to.
public enum VariableRole: Sendable, Hashable {
    /// Updated by optimizers from gradients (a kernel, a bias, gamma, beta).
    case trainable
    /// Updated by the forward pass, never by gradients (BatchNormalization's moving mean and variance).
    case movingStatistic
    /// Held fixed: a frozen layer's weights.
    case nonTrainable
}

/// One model variable with its Keras-style path name.
///
/// ```swift
/// for v in model.variables where !v.isTrainable { print(v.name, v.value.shape) }
/// // batch_normalization/moving_mean [1] ...
/// ```
public struct NamedVariable: Sendable, Equatable {
    /// `"<layer>/<variable>"`, for example `"dense_1/kernel"`; a layer reports the Keras local name (`"kernel"`).
    public var name: String
    /// The current value.
    public var value: Tensor<Float>
    /// What the variable is for.
    public var role: VariableRole

    /// Whether optimizers update it (moving statistics and frozen layers' variables are not).
    public var isTrainable: Bool {
        get { role == .trainable }
        set { role = newValue ? .trainable : (role == .movingStatistic ? .movingStatistic : .nonTrainable) }
    }

    /// A variable as a model reports it; checkpoints and Keras files match variables by `name`.
    public init(name: String, value: Tensor<Float>, role: VariableRole) {
        self.name = name
        self.value = value
        self.role = role
    }

    /// A trainable or non-trainable variable (``VariableRole/trainable`` or ``VariableRole/nonTrainable``).
    public init(name: String, value: Tensor<Float>, isTrainable: Bool) {
        self.init(name: name, value: value, role: isTrainable ? .trainable : .nonTrainable)
    }
}
