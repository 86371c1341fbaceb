// Matrix products too small for sgemm's per-call work to pay (a batch-32 step of a model with
// 1-8 units per layer: 32x8x1, 32x1x8, 1x8x32 ...): OpenBLAS spends far more instructions on
// its interface, checks and kernel dispatch than on the few hundred multiply-adds. Compiled
// for AVX2 with FMA and used only after bw_cpu_has_avx2_fma() said yes and a probe of the same
// shape matched sgemm bit for bit (Tensors' TinyProducts). Each output scalar is the fused
// multiply-add chain over the inner dimension in order from zero, then added to the old output
// when accumulating: the order OpenBLAS 0.3.21 computes such products in.
#ifndef BATCHWISE_CTINYPRODUCTS_H
#define BATCHWISE_CTINYPRODUCTS_H

#include <stddef.h>

/// c = op(a)·op(b) (+ c when `accumulate` is 1) for row-major buffers, `m x k` times `k x n`,
/// op transposing when `transpose_a` / `transpose_b` is 1; `lda`, `ldb`, `ldc` are the row
/// strides as stored. c[i][j] = fma(op(a)[i][k-1], op(b)[k-1][j], ... fma(op(a)[i][0],
/// op(b)[0][j], 0)), then c_old[i][j] + that sum when accumulating. `reversed` (tests only) sums
/// the terms from the last to the first instead, to show that a test notices a wrong order.
/// Returns 0 without touching memory when bw_cpu_has_avx2_fma() is 0 or a size is not positive,
/// else 1.
int bw_tiny_sgemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                  int accumulate, float *c, ptrdiff_t ldc, int reversed);

/// Whether the kernel above matched sgemm for a product shape (`key`, nonzero, packs the sizes
/// and flags; Tensors' TinyProducts makes it): -1 when no probe has been recorded for it, 0
/// when sgemm's bits differed, 1 when they matched. A fixed table of atomics, so the look-up
/// on every tiny product costs a hash and a load, and threads may race on it.
int bw_tiny_sgemm_verdict(unsigned long long key);

/// Records a probe's verdict for `key`: the first record per key stays; when the table is full
/// nothing is recorded (the shape then keeps going to sgemm after probing again).
void bw_tiny_sgemm_record(unsigned long long key, int matches);

#endif
