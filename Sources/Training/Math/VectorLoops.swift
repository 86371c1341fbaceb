import Tensors

/// ReLU loops written so they compile to vector selects: every lane is loaded first and
/// stored unconditionally. (`if x < 0 { x = 0 }`, and even `g[i] = y[i] > 0 ? g[i] : 0` in
/// place, compile to a conditional scalar store that cannot be vectorized and mispredicts on
/// random signs: the in-place backward was 10% of the BN-MLP step.) `Float` takes explicit
/// `SIMD8` selects, which are exact (a select, no arithmetic); other scalars the plain loop.
enum VectorLoops {
    /// `out = x < 0 ? 0 : x` (NaN kept), into a separate buffer so the store is unconditional.
    @inline(__always)
    static func relu<S: BLASScalar>(_ x: UnsafePointer<S>, into out: UnsafeMutablePointer<S>, count: Int) {
        var i = 0
        if S.self == Float.self {
            typealias V8 = SIMD8<Float>
            let source = UnsafeRawPointer(x), target = UnsafeMutableRawPointer(out)
            while i + 8 <= count {
                let offset = i * MemoryLayout<Float>.stride
                let v = source.loadUnaligned(fromByteOffset: offset, as: V8.self)
                target.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: offset, as: V8.self)
                i += 8
            }
        }
        while i < count {
            let v = x[i]
            out[i] = v < 0 ? 0 : v
            i += 1
        }
    }

    /// `g = y > 0 ? g : 0` (zero where the output is zero or NaN).
    @inline(__always)
    static func reluBackward<S: BLASScalar>(_ g: UnsafeMutablePointer<S>, output y: UnsafePointer<S>, count: Int) {
        if S.self == Float.self {
            // One vector kernel for both directions of use (in place here, out of place in layers).
            let gradient = UnsafeMutableRawPointer(g).assumingMemoryBound(to: Float.self)
            ReLUGradientKernel.masked(gradient, output: UnsafeRawPointer(y).assumingMemoryBound(to: Float.self),
                                      into: gradient, count: count)
            return
        }
        var i = 0
        while i < count {
            let gi = g[i]
            let yi = y[i]
            g[i] = yi > 0 ? gi : 0
            i += 1
        }
    }
}
