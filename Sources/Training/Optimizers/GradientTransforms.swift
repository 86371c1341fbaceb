#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Tensors

/// The float32 arithmetic of Keras 3's base optimizer around an optimizer's rule, in Keras's
/// operation order so that results match TensorFlow's to the last bits where they can.
enum GradientTransforms {
    /// `accumulator += gradient`
    static func add(_ gradient: Tensor<Float>, into accumulator: inout Tensor<Float>) {
        accumulator.withUnsafeMutableBufferPointer { a in
            gradient.withUnsafeBufferPointer { g in
                for i in a.indices { a[i] += g[i] }
            }
        }
    }

    /// `(gradient + accumulator) / steps`, resetting the accumulator to zeros.
    static func mean(_ gradient: Tensor<Float>, accumulated: inout Tensor<Float>, steps: Float) -> Tensor<Float> {
        var out = gradient
        out.withUnsafeMutableBufferPointer { o in
            accumulated.withUnsafeMutableBufferPointer { a in
                for i in o.indices {
                    o[i] = (o[i] + a[i]) / steps
                    a[i] = 0
                }
            }
        }
        return out
    }

    /// Keras's `_clip_gradients`: `clipnorm` (per gradient, as `tf.clip_by_norm`), else
    /// `global_clipnorm`, else `clipvalue`.
    static func clip(_ gradients: inout [Tensor<Float>], options: OptimizerOptions) {
        if let clipnorm = options.clipnorm, clipnorm > 0 {
            let limit = Float(clipnorm)
            for v in gradients.indices {
                let norm = squaredSum(gradients[v]).squareRoot()
                let denominator = max(norm, limit)
                map(&gradients[v]) { $0 * limit / denominator }
            }
        } else if let global = options.globalClipnorm, global > 0 {
            let scale = globalClipScale(gradients, limit: Float(global))
            for v in gradients.indices { map(&gradients[v]) { $0 * scale } }
        } else if let clipvalue = options.clipvalue, clipvalue > 0 {
            let limit = Float(clipvalue)
            for v in gradients.indices { map(&gradients[v]) { min(max($0, -limit), limit) } }
        }
    }

    /// The factor `global_clipnorm` multiplies every gradient by. Each gradient's Σ g² is one
    /// sequential double sum (its order fixes the bits), so only whole gradients run side by side.
    static func globalClipScale(_ gradients: [Tensor<Float>], limit: Float) -> Float {
        var sums = [Float](repeating: 0, count: gradients.count)
        let total = gradients.reduce(0) { $0 + $1.scalarCount }
        if total >= AdamKernel.parallelThreshold, gradients.count > 1 {
            sums.withUnsafeMutableBufferPointer { out in
                let address = SendableAddress(base: out.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: gradients.count) { v in
                    address.base[v] = squaredSum(gradients[v])
                }
            }
        } else {
            for v in gradients.indices { sums[v] = squaredSum(gradients[v]) }
        }
        let norm = Float(sums.reduce(0.0) { $0 + Double($1) }).squareRoot()
        // Keras: clip_norm · min(1/norm, 1/clip_norm), plus (norm − norm) to turn a non-finite norm into NaN.
        return limit * min(1 / norm, 1 / limit) + (norm - norm)
    }

    /// Where each concurrent task writes its own entry.
    private struct SendableAddress: @unchecked Sendable { let base: UnsafeMutablePointer<Float> }

    /// Keras's decoupled weight decay: `w −= w·decay·lr`.
    static func decay(_ value: inout Tensor<Float>, rate: Float, learningRate: Float) {
        map(&value) { $0 - $0 * rate * learningRate }
    }

    /// `average = momentum·average + (1 − momentum)·value`
    static func average(_ value: Tensor<Float>, into average: inout Tensor<Float>, momentum: Float) {
        let keep = 1 - momentum
        average.withUnsafeMutableBufferPointer { a in
            value.withUnsafeBufferPointer { w in
                for i in a.indices { a[i] = momentum * a[i] + keep * w[i] }
            }
        }
    }

    /// Σ x², accumulated in double so the order of summation does not matter at float32 precision.
    static func squaredSum(_ tensor: Tensor<Float>) -> Float {
        tensor.withUnsafeBufferPointer { x in Float(x.reduce(0.0) { $0 + Double($1) * Double($1) }) }
    }

    private static func map(_ tensor: inout Tensor<Float>, _ transform: (Float) -> Float) {
        tensor.withUnsafeMutableBufferPointer { x in
            for i in x.indices { x[i] = transform(x[i]) }
        }
    }
}
