// One row times a matrix, c[0..<n] (+)= x[0..<k] · w[k][n] (a Dense layer's forward pass at
// batch 1, as in predicting one sample at a time): sgemm packs all of `w` into a buffer of its
// own on every call, which at batch 1 cost as much as the multiply-adds (docs/perf/layers.md,
// stop 22). This kernel reads `w` where it is. It sums in the order OpenBLAS's blocked sgemm
// does, so that its bits can be those of sgemm: the inner dimension is cut into blocks (all of
// it up to `block`; otherwise `block` terms while at least 2·block remain, and the last
// stretch between block and 2·block into two halves, the first rounded up to a multiple of
// `unroll`), each block is an FMA chain from zero in order, and each block's sum is added to
// the output in turn (onto +0 when not accumulating, as sgemm zeroes c first). Compiled for
// AVX2 with FMA; used only after bw_cpu_has_avx2_fma() said yes and a probe of the same shape
// matched sgemm bit for bit (Training's SingleRowProducts).
#ifndef BATCHWISE_CSINGLEROWPRODUCTS_H
#define BATCHWISE_CSINGLEROWPRODUCTS_H

#include <stddef.h>

/// c[j] = (c[j] or +0) + S_1 + S_2 + ... for j < n, where S_b is the FMA chain over block b of
/// x[p] · w[p * ldw + j] as described above. Returns 0 without touching memory when
/// bw_cpu_has_avx2_fma() is 0 or a size is not positive, else 1.
int bw_single_row_sgemm(ptrdiff_t n, ptrdiff_t k, const float *x, const float *w, ptrdiff_t ldw,
                        int accumulate, float *c, ptrdiff_t block, ptrdiff_t unroll);

/// The verdicts of Training's SingleRowProducts probes (a table like the tiny products' one,
/// of its own): see bw_tiny_verdict_lookup and bw_tiny_verdict_store in CTinyProducts.h.
int bw_single_row_verdict(unsigned long long key);
void bw_single_row_record(unsigned long long key, int matches);

#endif
