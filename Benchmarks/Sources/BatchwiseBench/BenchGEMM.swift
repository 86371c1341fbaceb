import Batchwise
import Foundation

/// The matrix products of one training step of the BN MLP (784-256-256-10, batch 128), run
/// alone through the same `Float.gemm` the layers call (Batchwise's own sgemm on a CPU with AVX2
/// and FMA since stop 24, else OpenBLAS's): the rate the step's
/// GEMM work could reach on this machine, for the "fraction of the machine's GEMM rate" row.
///
/// Per step: the three forward products `x · W` (added onto the output, `beta` 1, as `DenseMath`
/// adds them onto the bias), the three kernel gradients `xᵀ · dz`, and the two input gradients
/// `dz · Wᵀ` of the second and third layer (the first layer's input needs none), as `DenseMath`
/// issues them.
struct MLPGEMMWorkload {
    /// `(m, n, k, transposeA, transposeB)` of each product, in step order.
    static let products: [(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool)] = {
        let batch = 128, widths = [784, 256, 256, 10]
        var forward: [(Int, Int, Int, Bool, Bool)] = []
        var backward: [(Int, Int, Int, Bool, Bool)] = []
        for layer in 0..<3 {
            let fanIn = widths[layer], fanOut = widths[layer + 1]
            forward.append((batch, fanOut, fanIn, false, false))          // z = x · W
            backward.insert((fanIn, fanOut, batch, true, false), at: 0)   // dW = xᵀ · dz
            if layer > 0 { backward.insert((batch, fanIn, fanOut, false, true), at: 1) }  // dx = dz · Wᵀ
        }
        return forward + backward
    }()

    /// Floating-point operations of one step (2·m·n·k per product).
    static var flopPerStep: Double { products.reduce(0) { $0 + 2 * Double($1.m * $1.n * $1.k) } }

    /// Floating-point operations per sample of the MLP step (1.21 M).
    static var flopPerSample: Double { flopPerStep / 128 }

    /// GFLOP/s of the step's products, repeated for `seconds` after a warm-up.
    static func gigaflopsPerSecond(seconds: Double) -> Double {
        var rng = SplitMix64(seed: 7)
        let buffers = products.map { product -> (a: [Float], b: [Float], c: [Float]) in
            ((0..<(product.m * product.k)).map { _ in rng.nextUniformFloat() - 0.5 },
             (0..<(product.k * product.n)).map { _ in rng.nextUniformFloat() - 0.5 },
             [Float](repeating: 0, count: product.m * product.n))
        }
        var outputs = buffers.map(\.c)
        func step() {
            for (index, product) in products.enumerated() {
                buffers[index].a.withUnsafeBufferPointer { a in
                    buffers[index].b.withUnsafeBufferPointer { b in
                        outputs[index].withUnsafeMutableBufferPointer { c in
                            Float.gemm(transposeA: product.transposeA, transposeB: product.transposeB,
                                       m: product.m, n: product.n, k: product.k, alpha: 1,
                                       a: a.baseAddress!, lda: product.transposeA ? product.m : product.k,
                                       b: b.baseAddress!, ldb: product.transposeB ? product.k : product.n,
                                       beta: product.transposeA || product.transposeB ? 0 : 1,
                                       c: c.baseAddress!, ldc: product.n)
                        }
                    }
                }
            }
        }
        for _ in 0..<20 { step() }
        var steps = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < seconds {
            for _ in 0..<16 { step() }
            steps += 16
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return Double(steps) * flopPerStep / elapsed / 1e9
    }
}
