import HDF5

/// Compares what a checkpoint holds with what a model expects, collecting EVERY difference
/// (rather than stopping at the first) and the names that can be loaded as they are.
///
/// ```swift
/// var c = VariableComparison()
/// c.compare(expected: [("dense/kernel", [3, 2])], found: ["dense/kernel": (.float32, [3, 4])], what: "variable")
/// c.differences   // ["variable dense/kernel: expected float32 [3, 2], found float32 [3, 4]"]
/// ```
struct VariableComparison {
    private(set) var differences: [String] = []
    private(set) var loadable: Set<String> = []
    private(set) var loadableSlots: Set<String> = []

    /// What a checkpoint says about its model's input.
    enum StoredInput: Equatable {
        /// `/model@input_shape`: the shape of one example (format_version 2 and later).
        case shape([Int])
        /// `/model@input_features` alone: the input width (format_version 1).
        case features(Int)
    }

    /// A model built for another input than the checkpoint's differs even when every variable
    /// fits (a pooled CNN's kernels do not depend on the image size).
    mutating func compareInput(expected: [Int], found: StoredInput) {
        switch found {
        case let .shape(shape) where shape != expected:
            differences.append("input shape: the model takes examples of shape \(expected), the checkpoint's were \(shape) "
                + "(/model attribute input_shape)")
        case let .features(width) where width != expected.reduce(1, *):
            differences.append("input width: the model takes \(expected.reduce(1, *)) values per example (shape \(expected)), "
                + "the checkpoint's took \(width) (/model attribute input_features)")
        default:
            break
        }
    }

    mutating func compare(expected: [(String, [Int])], found: [String: (HDF5ElementType, [Int])], what: String) {
        let expectedNames = Set(expected.map(\.0))
        for (name, shape) in expected {
            guard let (type, foundShape) = found[name] else {
                differences.append("missing \(what) \(name) (expected float32 \(shape))")
                continue
            }
            if type != .float32 || foundShape != shape {
                differences.append("\(what) \(name): expected float32 \(shape), found \(type) \(foundShape)")
            } else {
                loadable.insert(name)
            }
        }
        for name in found.keys.sorted() where !expectedNames.contains(name) {
            let (type, shape) = found[name]!
            differences.append("unexpected \(what) \(name) (found \(type) \(shape))")
        }
    }

    /// Optimizer slots `"<variable>/<slot>"` must belong to a trainable variable of the model
    /// and have its shape and float32.
    /// `scalars` are the optimizer-wide values (Nadam's `u_product`), stored without a variable.
    mutating func compareSlots(found: [String: (HDF5ElementType, [Int])], trainable: [String: [Int]],
                               scalars: Set<String> = []) {
        for key in found.keys.sorted() {
            let (type, shape) = found[key]!
            if scalars.contains(key) {
                if type == .float32, shape.reduce(1, *) == 1 {
                    loadableSlots.insert(key)
                } else {
                    differences.append("optimizer value \(key): expected one float32, found \(type) \(shape)")
                }
                continue
            }
            guard let slash = key.lastIndex(of: "/"), let expected = trainable[String(key[..<slash])] else {
                differences.append("unexpected optimizer slot \(key) (no trainable variable \(key.split(separator: "/").dropLast().joined(separator: "/")))")
                continue
            }
            if type != .float32 || shape != expected {
                differences.append("optimizer slot \(key): expected float32 \(expected), found \(type) \(shape)")
            } else {
                loadableSlots.insert(key)
            }
        }
    }

    mutating func compareRandomStates(expected: Set<String>, found: Set<String>) {
        for layer in expected.subtracting(found).sorted() {
            differences.append("missing RNG state of Dropout layer \(layer)")
        }
        for layer in found.subtracting(expected).sorted() {
            differences.append("unexpected RNG state of layer \(layer) (the model has no Dropout layer of that name)")
        }
    }
}
