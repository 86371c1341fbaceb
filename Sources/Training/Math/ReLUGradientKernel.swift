import Tensors

/// The relu backward `∂L/∂x = output > 0 ? ∂L/∂y : 0` for `Float`, out of place and in
/// explicit 8-lane vectors.
///
/// The scalar loop `g[i] = y[i] > 0 ? g[i] : 0` in place is compiled into a compare and a
/// conditional store of zero, which mispredicts on every other element of random signs; on
/// a 128×26×26×32 convolution activation that one loop was 12% of a training step. A select
/// between vectors has no branch, and writing a new buffer saves the copy that mutating a
/// shared upstream gradient would make first. NaN outputs give 0, as in the scalar loop.
enum ReLUGradientKernel {
    /// `upstream` where `output > 0`, else zero; both have the same shape. O(count).
    static func masked(_ upstream: Tensor<Float>, output: Tensor<Float>) -> Tensor<Float> {
        let count = upstream.scalarCount
        // Zero uninitialized capacity would write to the shared empty-array storage (a data race).
        guard count > 0 else { return upstream }
        let scalars = upstream.withUnsafeBufferPointer { gs in
            output.withUnsafeBufferPointer { ys in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    // Large activations in runs side by side (each scalar on its own, so the same bits).
                    let g = SharedAddress(base: UnsafeMutablePointer(mutating: gs.baseAddress!))
                    let y = SharedAddress(base: UnsafeMutablePointer(mutating: ys.baseAddress!))
                    let target = SharedAddress(base: out.baseAddress!)
                    ParallelParts.forEach(rows: count, parts: ParallelParts.automatic(rows: count, width: 1)) { run in
                        masked(g.base + run.lowerBound, output: y.base + run.lowerBound, into: target.base + run.lowerBound,
                               count: run.count)
                    }
                    initialized = count
                }
            }
        }
        return Tensor(computedShape: upstream.shape, scalars)
    }

    /// The same over raw buffers. `target` may be `g` itself (each 8-lane block is read before it
    /// is written), but must not otherwise overlap the inputs.
    static func masked(_ g: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                       into target: UnsafeMutablePointer<Float>, count: Int) {
        let zero = SIMD8<Float>(repeating: 0)
        let rawG = UnsafeRawPointer(g), rawY = UnsafeRawPointer(y), rawTarget = UnsafeMutableRawPointer(target)
        let stride = MemoryLayout<Float>.stride
        var i = 0
        while i + 8 <= count {
            let gv = rawG.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self)
            let yv = rawY.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self)
            rawTarget.storeBytes(of: zero.replacing(with: gv, where: yv .> zero), toByteOffset: i * stride, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            target[i] = y[i] > 0 ? g[i] : 0
            i += 1
        }
    }
}
