import Tensors

/// ReLU loops written so LLVM vectorizes them: every lane is loaded first and stored
/// unconditionally. (`if x < 0 { x = 0 }` compiles to a conditional store that cannot be
/// vectorized and mispredicts on random signs.)
enum VectorLoops {
    /// `out = x < 0 ? 0 : x` (NaN kept), into a separate buffer so the store is unconditional.
    @inline(__always)
    static func relu<S: BLASScalar>(_ x: UnsafePointer<S>, into out: UnsafeMutablePointer<S>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            out[i] = v < 0 ? 0 : v
        }
    }

    /// `g = y > 0 ? g : 0`.
    @inline(__always)
    static func reluBackward<S: BLASScalar>(_ g: UnsafeMutablePointer<S>, output y: UnsafePointer<S>, count: Int) {
        for i in 0..<count {
            let gi = g[i]
            let yi = y[i]
            g[i] = yi > 0 ? gi : 0
        }
    }
}
