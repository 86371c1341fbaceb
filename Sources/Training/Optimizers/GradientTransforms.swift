#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CVectorKernels
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

    /// The factor `global_clipnorm` multiplies every gradient by.
    static func globalClipScale(_ gradients: [Tensor<Float>], limit: Float) -> Float {
        let norm = Float(squaredSums(gradients).reduce(0.0) { $0 + Double($1) }).squareRoot()
        // Keras: clip_norm · min(1/norm, 1/clip_norm), plus (norm − norm) to turn a non-finite norm into NaN.
        return limit * min(1 / norm, 1 / limit) + (norm - norm)
    }

    /// Each gradient's ``squaredSum(_:wide:)``. Above ``AdamKernel/parallelThreshold`` scalars in
    /// all, the unordered sums run as pieces of about an eighth of the total on the product
    /// workers (`ProductWorkers`), so that one large gradient is not one thread's work;
    /// a gradient's pieces add up to an unordered sum like any other, checked as in
    /// ``squaredSum(_:wide:)``.
    static func squaredSums(_ gradients: [Tensor<Float>], wide: Bool = AdamKernel.hasWideVectors) -> [Float] {
        let total = gradients.reduce(0) { $0 + $1.scalarCount }
        guard total >= AdamKernel.parallelThreshold else { return gradients.map { squaredSum($0, wide: wide) } }
        let pieceLength = (total / AdamKernel.chunkCount + 15) / 16 * 16
        let pieces = gradients.enumerated().flatMap { v, gradient in
            stride(from: 0, to: gradient.scalarCount, by: pieceLength).map { start in
                (gradient: v, start: start, count: Swift.min(pieceLength, gradient.scalarCount - start))
            }
        }
        var partials = [Double](repeating: 0, count: pieces.count)
        partials.withUnsafeMutableBufferPointer { out in
            let address = SendableAddress(base: out.baseAddress!)
            ProductWorkers.forEachPart(pieces.count) { p in
                let piece = pieces[p]
                address.base[p] = gradients[piece.gradient].withUnsafeBufferPointer { x in
                    unorderedSquaredSum(UnsafeBufferPointer(rebasing: x[piece.start..<(piece.start + piece.count)]), wide: wide)
                }
            }
        }
        var unordered = [Double](repeating: 0, count: gradients.count)
        for (p, piece) in pieces.enumerated() { unordered[piece.gradient] += partials[p] }
        return gradients.indices.map { v in
            gradients[v].withUnsafeBufferPointer { sequentialSquaredSum($0, unordered: unordered[v]) }
        }
    }

    /// Where each concurrent task writes its own entry.
    private struct SendableAddress<Element>: @unchecked Sendable { let base: UnsafeMutablePointer<Element> }

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
    /// The result is that of the sequential double sum, always: each x² is exact in double and
    /// non-negative, so any order of summing them lands within 2(n−1)·u·Σ of the sequential sum;
    /// when everything in a wider interval around the unordered sum rounds to one float, that
    /// float is the sequential sum's, and the serial chain of additions is skipped.
    static func squaredSum(_ tensor: Tensor<Float>, wide: Bool = AdamKernel.hasWideVectors) -> Float {
        tensor.withUnsafeBufferPointer { x in sequentialSquaredSum(x, unordered: unorderedSquaredSum(x, wide: wide)) }
    }

    /// The float of the sequential double sum of x², given `unordered`, the same squares
    /// summed in any order (see ``squaredSum(_:wide:)``).
    static func sequentialSquaredSum(_ x: UnsafeBufferPointer<Float>, unordered: Double) -> Float {
        let bound = unordered * Double(4 * x.count) * Double.ulpOfOne
        let low = Float(unordered - bound), high = Float(unordered + bound)
        if low == high { return low }
        return Float(x.reduce(0.0) { $0 + Double($1) * Double($1) })
    }

    /// Σ x² in double, in interleaved partial sums (no chain of dependent additions): the
    /// leading multiple of 16 in AVX where the CPU has it (`wide`), the rest in eight scalar
    /// partial sums.
    static func unorderedSquaredSum(_ x: UnsafeBufferPointer<Float>, wide: Bool = AdamKernel.hasWideVectors) -> Double {
        guard let base = x.baseAddress else { return 0 }
        var i = 0
        var wideSum = 0.0
        if wide { wideSum = bw_unordered_squared_sum_avx(base, x.count, &i) }
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
        while i + 8 <= x.count {
            let a0 = Double(x[i]), a1 = Double(x[i + 1]), a2 = Double(x[i + 2]), a3 = Double(x[i + 3])
            let a4 = Double(x[i + 4]), a5 = Double(x[i + 5]), a6 = Double(x[i + 6]), a7 = Double(x[i + 7])
            s0 += a0 * a0; s1 += a1 * a1; s2 += a2 * a2; s3 += a3 * a3
            s4 += a4 * a4; s5 += a5 * a5; s6 += a6 * a6; s7 += a7 * a7
            i += 8
        }
        while i < x.count {
            s0 += Double(x[i]) * Double(x[i])
            i += 1
        }
        return wideSum + (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
    }

    private static func map(_ tensor: inout Tensor<Float>, _ transform: (Float) -> Float) {
        tensor.withUnsafeMutableBufferPointer { x in
            for i in x.indices { x[i] = transform(x[i]) }
        }
    }
}
