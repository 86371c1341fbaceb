import Tensors

/// Branch-free loops for ReLU, eight lanes at a time. A scalar `x < 0 ? 0 : x` compiles to a
/// conditional store that mispredicts on random signs; a lane blend does not.
enum VectorLoops {
    /// `x = x < 0 ? 0 : x` (NaN stays NaN).
    @inline(__always)
    static func relu<S: BLASScalar>(_ x: UnsafeMutablePointer<S>, count: Int) {
        let raw = UnsafeMutableRawPointer(x)
        let width = MemoryLayout<SIMD8<S>>.size
        var i = 0, offset = 0
        while i + 8 <= count {
            var v = raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<S>.self)
            v.replace(with: 0, where: v .< 0)
            raw.storeBytes(of: v, toByteOffset: offset, as: SIMD8<S>.self)
            i += 8
            offset += width
        }
        while i < count {
            if x[i] < 0 { x[i] = 0 }
            i += 1
        }
    }

    /// `g = y > 0 ? g : 0`.
    @inline(__always)
    static func reluBackward<S: BLASScalar>(_ g: UnsafeMutablePointer<S>, output y: UnsafePointer<S>, count: Int) {
        let graw = UnsafeMutableRawPointer(g), yraw = UnsafeRawPointer(y)
        let width = MemoryLayout<SIMD8<S>>.size
        var i = 0, offset = 0
        while i + 8 <= count {
            var v = graw.loadUnaligned(fromByteOffset: offset, as: SIMD8<S>.self)
            let out = yraw.loadUnaligned(fromByteOffset: offset, as: SIMD8<S>.self)
            v.replace(with: 0, where: .!(out .> 0))
            graw.storeBytes(of: v, toByteOffset: offset, as: SIMD8<S>.self)
            i += 8
            offset += width
        }
        while i < count {
            if !(y[i] > 0) { g[i] = 0 }
            i += 1
        }
    }
}
