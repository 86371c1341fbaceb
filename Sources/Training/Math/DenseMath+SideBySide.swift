import Tensors

/// Dense's backward pass with its two large products side by side (issue 19).
///
/// The kernel gradient `xᵀ·dz` and the input gradient `dz·kernelᵀ` need nothing from each
/// other. When both are large enough that the product split would cut each of them in two
/// (``Tensors/BLASThreads/splitsLargeProducts``), running each as a whole single-threaded
/// product on its own core does the same arithmetic with one hand-off instead of two and
/// without the split's cost of packing the uncut operand twice (1–7% more CPU per product,
/// docs/perf/layers.md). The bits are those of one unsplit single-threaded call either way:
/// a product is only split where that keeps them (stop 19), which is what `BLASSplitTests` and
/// `DenseSideBySideTests` check.
extension DenseMath {
    /// ``backward(x:kernel:dz:kernelGradient:biasGradient:wantsParameters:wantsBias:wantsInput:)``
    /// for a layer that wants both the parameter and the input gradients: the two products on
    /// two threads, then the bias sums. `nil` (nothing done) when the products are not both
    /// large enough for the split (speed only: split or whole, their bits are the same).
    static func backwardSideBySide<S: BLASScalar>(
        x: Tensor<S>, kernel: Tensor<S>, dz: Tensor<S>,
        kernelGradient: inout Tensor<S>?, biasGradient: inout Tensor<S>?, wantsBias: Bool
    ) -> Tensor<S>? {
        guard x.rank == 2, dz.rank == 2, kernel.rank == 2 else { return nil }
        let batch = x.shape[0], inputs = kernel.shape[0], units = kernel.shape[1]
        guard BLASThreads.splitsProduct(m: inputs, n: units, k: batch),
              BLASThreads.splitsProduct(m: batch, n: inputs, k: units) else { return nil }
        var dk: Tensor<S>
        if let spare = kernelGradient, spare.shape == kernel.shape {
            kernelGradient = nil   // drop our reference so the write below needs no copy
            dk = spare
        } else {
            kernelGradient = nil
            dk = Tensor(zeros: kernel.shape)
        }
        // gemm with beta 0 never reads its output, so the input gradient is not zeroed first.
        let dxScalars = [S](unsafeUninitializedCapacity: batch * inputs) { pdx, initialized in
            x.withUnsafeBufferPointer { px in
                dz.withUnsafeBufferPointer { pdz in
                    kernel.withUnsafeBufferPointer { pw in
                        dk.withUnsafeMutableBufferPointer { pdk in
                            let buffers = SideBySideBuffers(x: px.baseAddress!, dz: pdz.baseAddress!, kernel: pw.baseAddress!,
                                                            kernelGradient: pdk.baseAddress!, inputGradient: pdx.baseAddress!)
                            // Inside the scope neither product is split: each is one call on one OpenBLAS thread.
                            BLASThreads.onOneThread {
                                ProductWorkers.forEachPart(2) { part in
                                    if part == 0 {
                                        S.gemm(transposeA: true, transposeB: false, m: inputs, n: units, k: batch, alpha: 1,
                                               a: buffers.x, lda: inputs, b: buffers.dz, ldb: units,
                                               beta: 0, c: buffers.kernelGradient, ldc: units)
                                    } else {
                                        S.gemm(transposeA: false, transposeB: true, m: batch, n: inputs, k: units, alpha: 1,
                                               a: buffers.dz, lda: units, b: buffers.kernel, ldb: units,
                                               beta: 0, c: buffers.inputGradient, ldc: inputs)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = batch * inputs
        }
        let dx = try! Tensor(shape: x.shape, scalars: dxScalars)
        kernelGradient = dk
        if wantsBias { columnSums(dz, into: &biasGradient) } else { biasGradient = nil }
        return dx
    }
}

/// The operands and outputs of the two products, shared with the worker that runs one of them
/// (each product writes its own output only).
private struct SideBySideBuffers<S>: @unchecked Sendable {
    let x: UnsafePointer<S>, dz: UnsafePointer<S>, kernel: UnsafePointer<S>
    let kernelGradient: UnsafeMutablePointer<S>, inputGradient: UnsafeMutablePointer<S>
}
