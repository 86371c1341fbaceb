// Batchwise's own single-precision matrix product (issue 19, docs/perf/layers.md stops 23 and 24):
// row-major c = op(a)·op(b) (+ c when accumulating), with a summation order per output scalar that
// depends on the inner dimension k alone, never on the scalar's place, the part of the output
// computed, the transposes or the thread, so that any cut of a product into parts gives the bits
// of the whole call by construction.
//
// The order, per output scalar c[i][j]:
//   - k is cut into blocks by its length alone: blocks of 320 terms while at least 640 remain; a
//     last stretch of more than 320 and fewer than 640 terms into two, the first half rounded up
//     to a multiple of 8 (784 = 320 + 232 + 232); 320 terms or fewer are one block;
//   - in each block, one fused multiply-add chain from +0 in term order:
//     s = fma(op(a)[i][p], op(b)[p][j], s) for p from the block's first term to its last;
//   - the block sums are added in block order, s_1 then s_2 ..., to the output's old value when
//     accumulating and to +0 otherwise (the old value is then never read: NaN there stays out).
//     With k = 0 the output is the old value (accumulating) or +0.
// Compiled for AVX2 with FMA (a 6x16 micro-kernel, op(b) packed in 16-column panels per block,
// op(a) read in place) and used only when bw_cpu_has_avx2_fma() says yes.
#ifndef BATCHWISE_COWNSGEMM_H
#define BATCHWISE_COWNSGEMM_H

#include <stddef.h>

/// Terms in the block that starts with `remaining` terms of the inner dimension left (the rule
/// above); `remaining` > 0.
ptrdiff_t bw_own_sgemm_block_length(ptrdiff_t remaining);

/// Computes the outputs c[i][j] for i in [i0, i1), j in [j0, j1) of the m x n product of
/// op(a) (m x k; stored k x m when `transpose_a`) and op(b) (k x n; stored n x k when
/// `transpose_b`), `lda`, `ldb`, `ldc` the row strides as stored, in the order above; other
/// outputs are not touched. Returns 0 without touching memory when bw_cpu_has_avx2_fma() is 0,
/// a size is negative or the part is not within the product (0 <= i0 <= i1 <= m, 0 <= j0 <=
/// j1 <= n), else 1 (it never fails otherwise). Scratch is per thread, grown on demand and
/// reused (bounded by the column blocking: at most about 330 KB a thread), freed when the
/// thread ends; without memory for it the kernel packs one panel at a time on its stack.
int bw_own_sgemm_part(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                      const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                      int accumulate, float *c, ptrdiff_t ldc,
                      ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1);

#endif
