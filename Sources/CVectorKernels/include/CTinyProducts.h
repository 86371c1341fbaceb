// Matrix products too small for sgemm's per-call work to pay (a batch-32 step of a model with
// 1-8 units per layer: 32x8x1, 32x1x8, 1x8x32 ...): OpenBLAS spends far more instructions on
// its interface, checks and kernel dispatch than on the few hundred multiply-adds. Compiled
// for AVX2 with FMA and used only after bw_cpu_has_avx2_fma() said yes and a probe of the same
// shape matched the product path's bits (Tensors' TinyProducts). Each output scalar is the fused
// multiply-add chain over the inner dimension in order from zero, then added to the old output
// when accumulating and to +0 otherwise: for up to 320 terms the order of Batchwise's own sgemm
// (COwnSgemm.h), and the order OpenBLAS 0.3.21 computes such products in.
#ifndef BATCHWISE_CTINYPRODUCTS_H
#define BATCHWISE_CTINYPRODUCTS_H

#include <stddef.h>

/// c = op(a)·op(b) (+ c when `accumulate` is 1) for row-major buffers, `m x k` times `k x n`,
/// op transposing when `transpose_a` / `transpose_b` is 1; `lda`, `ldb`, `ldc` are the row
/// strides as stored. c[i][j] = fma(op(a)[i][k-1], op(b)[k-1][j], ... fma(op(a)[i][0],
/// op(b)[0][j], 0)), then c_old[i][j] + that sum when accumulating and +0 + that sum otherwise
/// (a sum of -0 stores +0, as the own sgemm's). `reversed` (tests only) sums
/// the terms from the last to the first instead, to show that a test notices a wrong order.
/// Returns 0 without touching memory when bw_cpu_has_avx2_fma() is 0 or a size is not positive,
/// else 1.
int bw_tiny_sgemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                  int accumulate, float *c, ptrdiff_t ldc, int reversed);

/// Probe verdicts per product shape: open-addressed slots of atomics, each 0 (free) or a key
/// with bit 63 set when the kernel matched sgemm. At most BW_TINY_VERDICT_LIMIT shapes are
/// recorded; a zero-filled table is empty.
enum { BW_TINY_VERDICT_SLOTS = 1024, BW_TINY_VERDICT_LIMIT = 768 };
typedef struct {
    unsigned long long slots[BW_TINY_VERDICT_SLOTS];
    unsigned long long used;
} bw_tiny_verdict_table;

/// The verdict for `key` (nonzero; Tensors' TinyProducts packs the sizes and flags into it): 1
/// when the kernel matched sgemm, 0 when it did not, -1 when no probe is recorded and there
/// is room for one, -2 when none is recorded and the table is full (the product stays with
/// sgemm without probing). A hash and a few loads, safe from any thread.
int bw_tiny_verdict_lookup(bw_tiny_verdict_table *table, unsigned long long key);

/// Records a probe's verdict for `key`: the first record per key stays; beyond
/// BW_TINY_VERDICT_LIMIT shapes nothing more is recorded.
void bw_tiny_verdict_store(bw_tiny_verdict_table *table, unsigned long long key, int matches);

/// bw_tiny_verdict_lookup on the process's table.
int bw_tiny_sgemm_verdict(unsigned long long key);

/// bw_tiny_verdict_store on the process's table.
void bw_tiny_sgemm_record(unsigned long long key, int matches);

#endif
