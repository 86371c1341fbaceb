/// Read access to one Keras layer's `config` object, as a layer decodes itself from it
/// (``Layer/decodeKerasConfig(_:name:)``). The Keras reader supplies the value; every getter
/// throws an error naming the file and the JSON path of a value of the wrong type.
///
/// The protocol keeps layers independent of the JSON representation the reader uses.
public protocol KerasConfigReading {
    /// The member `key`, or nil when it is absent or JSON null.
    subscript(key: String) -> Self? { get }
    /// The member `key`; throws when it is absent or null.
    func required(_ key: String) throws -> Self
    /// The value as a number (a JSON `true` is not a number).
    func number() throws -> Double
    /// The value as an integral number.
    func integer() throws -> Int
    /// The value as `true` or `false`.
    func bool() throws -> Bool
    /// The value as a string.
    func string() throws -> String
    /// The value's elements, when it is an array.
    func array() throws -> [Self]
    /// A short rendering of the value for error messages.
    var text: String { get }
    /// The largest layer width the reader accepts (a hostile `units` must not allocate).
    var maximumWidth: Int { get }
}

/// Write access to one Keras layer's `config` object, as a layer encodes its own options
/// (``Layer/encodeKerasConfig(to:)``); the name, `trainable` and `dtype` every layer has are
/// written by the Keras writer.
public protocol KerasConfigWriting {
    /// Sets `key` to an integer.
    mutating func set(_ key: String, _ value: Int)
    /// Sets `key` to a number.
    mutating func set(_ key: String, _ value: Double)
    /// Sets `key` to `true` or `false`.
    mutating func set(_ key: String, _ value: Bool)
    /// Sets `key` to a string.
    mutating func set(_ key: String, _ value: String)
    /// Sets `key` to a list of integers (`kernel_size: [3, 3]`).
    mutating func set(_ key: String, _ value: [Int])
    /// Sets `key` to a list of integer lists (ZeroPadding2D's `padding: [[1, 1], [2, 2]]`).
    mutating func set(_ key: String, _ value: [[Int]])
    /// Sets `key` to JSON null.
    mutating func setNull(_ key: String)
    /// Sets `key` to a Keras initializer object (`GlorotUniform`, `Zeros`, ...); `seeded`
    /// adds the `seed: null` member Keras writes for random initializers.
    mutating func setInitializer(_ key: String, className: String, seeded: Bool)
}

/// Why a layer cannot be built from its Keras config. The Keras reader adds the file, the
/// layer's name and class, and the JSON path.
public enum KerasConfigProblem: Error, Sendable, Equatable {
    /// An option Batchwise cannot reproduce exactly (`renorm: true`), with its value as written.
    case unsupportedOption(String, value: String)
    /// An option whose value is out of range; `message` starts with the value and says why.
    case invalidOption(String, message: String)
}

/// One attribute a layer adds to its group in a native checkpoint (`momentum`, `rng_state`).
public enum LayerAttribute: Sendable, Equatable {
    /// Written as a float64 attribute.
    case double(Double)
    /// Written as a uint64 attribute.
    case unsigned(UInt64)
    /// Written as an int8 attribute, 1 or 0 (as the layer group's `trainable`).
    case flag(Bool)
}

/// The layer types a Keras config can name, each found by its ``Layer/kerasClassName``.
/// Its `all` is generated at build time (Plugins/TypeRegistryPlugin): every type of this module
/// that conforms to ``Layer``, so a new layer is its own file and nothing else.
package enum KerasLayerTypes {}

extension KerasConfigReading {
    /// The `activation` option (`"relu"`), `.linear` when absent; an unknown name is refused.
    func activation() throws -> Activation {
        guard let value = self["activation"] else { return .linear }
        guard let name = try? value.string(), let activation = Activation(rawValue: name) else {
            throw KerasConfigProblem.unsupportedOption("activation", value: value.text)
        }
        return activation
    }

    /// Refuses each option of `options` that is present and not null.
    package func refuseNonNull(_ options: [String]) throws {
        for option in options {
            if let value = self[option] { throw KerasConfigProblem.unsupportedOption(option, value: value.text) }
        }
    }

    /// An axis given as an integer or a one-element list; nil for anything else.
    package static func singleAxis(_ axis: Self) -> Int? {
        (try? axis.integer()) ?? (try? axis.array().map { try $0.integer() }).flatMap { $0.count == 1 ? $0[0] : nil }
    }

    /// An `axis` option that must name the last axis, `-1` or `[-1]` (LayerNormalization's
    /// and GroupNormalization's, whose input rank a config does not fix).
    func requireLastAxis() throws {
        guard let axis = self["axis"] else { return }
        let value = Self.singleAxis(axis)
        guard value == -1 else { throw KerasConfigProblem.unsupportedOption("axis", value: axis.text) }
    }

    /// An `axis` option that must name the feature axis, the last one: `-1`, or its positive
    /// index (`1` of a rank-2 input, `3` of NHWC images, as tf.keras writes it), given as an
    /// integer or a one-element list. A config does not fix the input rank, so a positive
    /// index is checked against the layer's input by the model reader (`KerasModelConfig`).
    func requireFeatureAxis() throws {
        guard let axis = self["axis"] else { return }
        guard let value = Self.singleAxis(axis), value == -1 || value >= 1 else {
            throw KerasConfigProblem.unsupportedOption("axis", value: axis.text)
        }
    }
}
