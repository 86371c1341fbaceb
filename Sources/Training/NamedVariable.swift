import Tensors

/// One model variable with its Keras-style path name.
///
/// ```swift
/// for v in model.variables where !v.isTrainable { print(v.name, v.value.shape) }
/// // batch_normalization/moving_mean [1] ...
/// ```
public struct NamedVariable: Sendable, Equatable {
    /// `"<layer>/<variable>"`, for example `"dense_1/kernel"`.
    public var name: String
    /// The current value.
    public var value: Tensor<Float>
    /// Whether optimizers update it (moving statistics and frozen layers' variables are not).
    public var isTrainable: Bool

    /// A variable as a model reports it; checkpoints and Keras files match variables by `name`.
    public init(name: String, value: Tensor<Float>, isTrainable: Bool) {
        self.name = name
        self.value = value
        self.isTrainable = isTrainable
    }
}
