import CVectorKernels
import Tensors

/// The sigmoid of float32 values eight at a time (CVectorKernels' `bw_sigmoid_glibc_expf`),
/// with the C library's `expf` reproduced in vector registers: the sigmoid's `expf` calls were
/// about two thirds of a seed-model Dense layer's forward pass (288 a step, each a call of
/// about 33 instructions, plus the loop around them).
///
/// `expf` is not correctly rounded, so its bits are those of one implementation: the kernel
/// follows glibc's (2.28 on) FMA variant step for step. Whether the C library this process
/// runs with computes the same is checked, not assumed: on first use the kernel and the
/// library's `expf` (and the scalar sigmoid) are compared on ``probeValues``, and only on a
/// complete match is the kernel used from then on; otherwise the scalar loop stays.
enum SigmoidKernel {
    /// Whether the kernel gives this process's scalar sigmoid bit for bit (probed once).
    static let matchesScalarLoop: Bool = probe(reversedLanes: false)

    /// Writes `1 / (1 + expf(-x[i]))` for `count` scalars into `out` (which may be `x`) and
    /// returns true, or returns false without writing when the kernel is not used here.
    @inline(__always)
    static func sigmoid(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        matchesScalarLoop && bw_sigmoid_glibc_expf(x, out, count) == 1
    }

    /// The scalar sigmoid that ``Activation`` computes without the kernel.
    @inline(__always)
    static func scalarSigmoid(_ x: Float) -> Float { 1 / (1 + Float.exponential(-x)) }

    /// Values across the whole float range, both signs: 4,096 bit patterns evenly spaced from
    /// 0 to 100 (every exponent of the fast path, at many mantissas), the edges of glibc's fast
    /// path (|x| near 88), values where the sigmoid saturates, zeros, infinities and a NaN.
    static let probeValues: [Float] = {
        var values: [Float] = []
        let top = Float(100).bitPattern
        for i in 0..<2048 {
            let magnitude = Float(bitPattern: UInt32(UInt64(top) * UInt64(i) / 2048))
            values += [magnitude, -magnitude]
        }
        let edges: [Float] = [88, 88.5, 88.72283, 88.72284, 89, 103, 103.97208, 104, 87.99999, 0x1p-149, 0x1p-126,
                              1e-8, 17, 16.635532, 9.010913, .infinity, .greatestFiniteMagnitude, 0]
        values += edges.flatMap { [$0, -$0] } + [.nan]
        return values
    }()

    /// Whether `bw_expf_glibc` and `bw_sigmoid_glibc_expf` give the C library's `expf` and the
    /// scalar sigmoid on ``probeValues`` (false without AVX2 and FMA). `reversedLanes` (tests)
    /// compares each value's result with its neighbour's, to show that a mismatch is noticed.
    static func probe(reversedLanes: Bool) -> Bool {
        let values = probeValues
        var exponentials = [Float](repeating: 0, count: values.count)
        var sigmoids = [Float](repeating: 0, count: values.count)
        guard bw_expf_glibc(values, &exponentials, values.count) == 1,
              bw_sigmoid_glibc_expf(values, &sigmoids, values.count) == 1 else { return false }
        for index in values.indices {
            let compared = reversedLanes ? index ^ 1 : index
            guard Float.exponential(values[index]).bitPattern == exponentials[compared].bitPattern,
                  scalarSigmoid(values[index]).bitPattern == sigmoids[compared].bitPattern else { return false }
        }
        return true
    }
}
