/// The per-scalar Adam update, eight lanes at a time. Lane arithmetic is IEEE and in the
/// same order as the scalar tail, so results do not depend on where the tail starts.
enum AdamKernel {
    @inline(__always)
    static func step(
        w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count: Int, alpha: Float, oneMinusBeta1: Float,
        oneMinusBeta2: Float, epsilon: Float
    ) {
        typealias V8 = SIMD8<Float>
        let wr = UnsafeMutableRawPointer(w), gr = UnsafeRawPointer(g)
        let mr = UnsafeMutableRawPointer(m), vr = UnsafeMutableRawPointer(v)
        let b1 = V8(repeating: oneMinusBeta1), b2 = V8(repeating: oneMinusBeta2)
        let a = V8(repeating: alpha), e = V8(repeating: epsilon)
        var i = 0
        while i + 8 <= count {
            let offset = i * MemoryLayout<Float>.stride
            let gi = gr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var mi = mr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var vi = vr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            var wi = wr.loadUnaligned(fromByteOffset: offset, as: V8.self)
            mi += (gi - mi) * b1
            vi += (gi * gi - vi) * b2
            wi -= (mi * a) / (vi.squareRoot() + e)
            mr.storeBytes(of: mi, toByteOffset: offset, as: V8.self)
            vr.storeBytes(of: vi, toByteOffset: offset, as: V8.self)
            wr.storeBytes(of: wi, toByteOffset: offset, as: V8.self)
            i += 8
        }
        while i < count {
            m[i] += (g[i] - m[i]) * oneMinusBeta1
            v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2
            w[i] -= (m[i] * alpha) / (v[i].squareRoot() + epsilon)
            i += 1
        }
    }
}
