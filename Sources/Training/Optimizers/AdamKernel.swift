import CVectorKernels
import Tensors
#if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
import _Builtin_intrinsics.intel
#endif

/// The per-scalar Adam update, eight lanes at a time. Lane arithmetic is IEEE and in the
/// same order as the scalar tail, so results do not depend on where the tail starts, and
/// every scalar is updated on its own: splitting a variable into chunks gives the same bits.
/// On a CPU with AVX the eight-lane loop runs as 256-bit instructions (`CVectorKernels`, the
/// same float operations in the same order): the square root and the division bound this
/// loop, and AVX does eight of each per instruction where SSE does four.
enum AdamKernel {
    /// Whether ``step(w:g:m:v:count:alpha:oneMinusBeta1:oneMinusBeta2:epsilon:extras:wide:)``
    /// may take the AVX loop on this CPU.
    static let hasWideVectors = bw_cpu_has_avx() != 0

    /// Variables of at least this many scalars are updated in ``chunkCount`` chunks on the
    /// product workers (`ProductWorkers`; the calling thread takes chunks too, so a busy
    /// machine degrades to the serial loop); smaller ones are not worth a hand-off.
    static let parallelThreshold = 1 << 16
    /// Chunks of a large variable: several per core, so a core that is taken away for a
    /// while costs one chunk, not half the update.
    static let chunkCount = 8

    /// Keras 3's base-optimizer steps around Adam's rule, folded into the same pass over a
    /// variable (each with the float32 operations, in the order, of ``GradientTransforms``):
    /// the global-norm clipping factor on the gradient, decoupled weight decay before the
    /// rule, and the EMA of the updated weight after it.
    struct Extras: @unchecked Sendable {
        /// `g · scale` before the rule (``GradientTransforms/globalClipScale(_:limit:)``).
        var gradientScale: Float?
        /// `w −= w·rate·learningRate` before the rule.
        var decay: (rate: Float, learningRate: Float)?
        /// `average = momentum·average + (1 − momentum)·w` after the rule; the buffer has
        /// the variable's count.
        var average: UnsafeMutablePointer<Float>?
        var emaMomentum: Float = 0

        static let none = Extras()
    }

    /// The buffers of one update, as addresses a chunk can rebuild its pointers from.
    private struct Buffers: @unchecked Sendable {
        let w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>
        let m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
        let extras: Extras
    }

    @inline(__always)
    static func step(
        w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count: Int, alpha: Float, oneMinusBeta1: Float,
        oneMinusBeta2: Float, epsilon: Float, extras: Extras = .none, wide: Bool = hasWideVectors
    ) {
        guard count >= parallelThreshold else {
            update(w: w, g: g, m: m, v: v, count: count, alpha: alpha, oneMinusBeta1: oneMinusBeta1,
                   oneMinusBeta2: oneMinusBeta2, epsilon: epsilon, extras: extras, wide: wide)
            return
        }
        let buffers = Buffers(w: w, g: g, m: m, v: v, extras: extras)
        // Chunk lengths are multiples of 8, so only the last chunk has a scalar tail.
        let chunk = ((count + chunkCount - 1) / chunkCount + 7) / 8 * 8
        ProductWorkers.forEachPart(chunkCount) { index in
            let start = index * chunk
            guard start < count else { return }
            var extras = buffers.extras
            extras.average = extras.average.map { $0 + start }
            update(w: buffers.w + start, g: buffers.g + start, m: buffers.m + start, v: buffers.v + start,
                   count: Swift.min(chunk, count - start), alpha: alpha, oneMinusBeta1: oneMinusBeta1,
                   oneMinusBeta2: oneMinusBeta2, epsilon: epsilon, extras: extras, wide: wide)
        }
    }

    /// The AVX loop starts where the weight is aligned to ``SlotPlacement/alignment`` bytes
    /// (the scalars before it take the lane-wise path, which gives the same bits), so that its
    /// loads and stores of the weight, and of slots placed in the weight's phase, never
    /// straddle two cache lines.
    @inline(__always)
    private static func update(
        w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count: Int, alpha: Float, oneMinusBeta1: Float,
        oneMinusBeta2: Float, epsilon: Float, extras: Extras, wide: Bool
    ) {
        let misalignment = Int(bitPattern: w) % SlotPlacement.alignment
        let head = wide && misalignment % MemoryLayout<Float>.stride == 0
            ? Swift.min(count, (SlotPlacement.alignment - misalignment) % SlotPlacement.alignment / MemoryLayout<Float>.stride)
            : 0
        if head > 0 {
            updateRun(w: w, g: g, m: m, v: v, count: head, alpha: alpha, oneMinusBeta1: oneMinusBeta1,
                      oneMinusBeta2: oneMinusBeta2, epsilon: epsilon, extras: extras, wide: false)
        }
        var rest = extras
        rest.average = extras.average.map { $0 + head }
        updateRun(w: w + head, g: g + head, m: m + head, v: v + head, count: count - head, alpha: alpha,
                  oneMinusBeta1: oneMinusBeta1, oneMinusBeta2: oneMinusBeta2, epsilon: epsilon, extras: rest, wide: wide)
    }

    @inline(__always)
    private static func updateRun(
        w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count: Int, alpha: Float, oneMinusBeta1: Float,
        oneMinusBeta2: Float, epsilon: Float, extras: Extras, wide: Bool
    ) {
        var i = 0
        // Fewer than eight scalars never reach the AVX loop: the call and its arguments are
        // skipped (a small model's biases and normalization variables have one to eight).
        if wide, count >= 8 {
            var arguments = bw_adam_arguments(
                w: w, g: g, m: m, v: v, average: extras.average, count: count, alpha: alpha,
                one_minus_beta1: oneMinusBeta1, one_minus_beta2: oneMinusBeta2, epsilon: epsilon,
                scales: extras.gradientScale == nil ? 0 : 1, scale: extras.gradientScale ?? 1,
                decays: extras.decay == nil ? 0 : 1, decay_rate: extras.decay?.rate ?? 0,
                decay_learning_rate: extras.decay?.learningRate ?? 0,
                ema_momentum: extras.emaMomentum, ema_keep: 1 - extras.emaMomentum)
            i = bw_adam_update_avx(&arguments)
        }
        typealias V8 = SIMD8<Float>
        let wr = UnsafeMutableRawPointer(w), gr = UnsafeRawPointer(g)
        let mr = UnsafeMutableRawPointer(m), vr = UnsafeMutableRawPointer(v)
        let b1 = V8(repeating: oneMinusBeta1), b2 = V8(repeating: oneMinusBeta2)
        let a = V8(repeating: alpha), e = V8(repeating: epsilon)
        let scales = extras.gradientScale != nil, scale = extras.gradientScale ?? 1
        let decays = extras.decay != nil
        let rate = extras.decay?.rate ?? 0, rateLR = extras.decay?.learningRate ?? 0
        let average = extras.average
        let momentum = extras.emaMomentum, keep = 1 - extras.emaMomentum
        while i + 8 <= count {
            let offset = i * MemoryLayout<Float>.stride
            var gi = gr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var mi = mr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var vi = vr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var wi = wr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            if scales { gi = gi * scale }
            if decays { wi = wi - wi * rate * rateLR }
            mi += (gi - mi) * b1
            vi += (gi * gi - vi) * b2
            wi -= (mi * a) / (squareRoot(vi) + e)
            mr.storeBytes(of: mi, toByteOffset: offset, as: V8.self)
            vr.storeBytes(of: vi, toByteOffset: offset, as: V8.self)
            wr.storeBytes(of: wi, toByteOffset: offset, as: V8.self)
            if let average {
                let ar = UnsafeMutableRawPointer(average)
                let ai = ar.loadUnaligned(fromByteOffset: offset, as: V8.self)
                ar.storeBytes(of: momentum * ai + keep * wi, toByteOffset: offset, as: V8.self)
            }
            i += 8
        }
        while i < count {
            let gi = scales ? g[i] * scale : g[i]
            if decays { w[i] = w[i] - w[i] * rate * rateLR }
            m[i] += (gi - m[i]) * oneMinusBeta1
            v[i] += (gi * gi - v[i]) * oneMinusBeta2
            w[i] -= (m[i] * alpha) / (v[i].squareRoot() + epsilon)
            if let average { average[i] = momentum * average[i] + keep * w[i] }
            i += 1
        }
    }

    /// Lane-wise IEEE square root. `SIMD8.squareRoot()` becomes eight `sqrtf` calls with an
    /// errno check on Linux; `sqrtps` is the same correctly rounded root, four lanes at once.
    @inline(__always)
    static func squareRoot(_ x: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
        return SIMD8(lowHalf: _mm_sqrt_ps(x.lowHalf), highHalf: _mm_sqrt_ps(x.highHalf))
        #else
        return x.squareRoot()
        #endif
    }
}
