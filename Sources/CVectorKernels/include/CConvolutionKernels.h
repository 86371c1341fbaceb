// Products of a convolution whose patch rows are short (a grey or few-channel image's first
// layer: 3x3x1 = 9 taps), where a general sgemm spends most of its time packing operands and
// moving the output. Compiled for AVX2 with FMA and called only after
// bw_cpu_has_avx2_fma() said yes. Each output scalar is the fused multiply-add chain of
// Batchwise's own sgemm kernel (COwnSgemm.h: one FMA per term in order from +0, the chain
// restarted every K block, block sums added in order), so the results are its bits, which
// Float.gemm gives on AVX2/FMA machines (Tests/TrainingTests/ShortPatchKernelTests.swift compares them).
#ifndef BATCHWISE_CCONVOLUTIONKERNELS_H
#define BATCHWISE_CCONVOLUTIONKERNELS_H

#include <stddef.h>

/// 1 when the CPU runs AVX2 and FMA and the operating system saves the AVX registers, else 0.
int bw_cpu_has_avx2_fma(void);

/// out[r][f] = bias[f] + Σ_t patches[r][t]·kernel[t][f] for `rows` rows of `depth` taps and
/// `filters` outputs (`filters` a multiple of 8, `depth` at most 32): the sum is the FMA chain
/// over t from zero, then the bias is added. Returns 0 without touching memory when
/// bw_cpu_has_avx2_fma() is 0 or the shape is outside those limits, else 1.
int bw_short_patch_convolution(const float *patches, ptrdiff_t rows, ptrdiff_t depth, const float *kernel,
                               const float *bias, ptrdiff_t filters, float *out);

/// gradient[t][f] = Σ_r patches[r][t]·upstream[r][f] over `rows` rows for the filters
/// `first_filter ..< first_filter + filter_count` (a multiple of 8) of `filters`, `depth` at
/// most 32 taps. The rows go in blocks of `block` (a last stretch between one and two blocks
/// halved, its first half rounded up to `unroll`, as bw_own_sgemm_block_length does with 320
/// and 8): an FMA chain from zero per block, the block sums added
/// in order onto zero. Returns 0 without touching memory when bw_cpu_has_avx2_fma() is 0 or
/// the shape is outside those limits, else 1.
int bw_short_patch_kernel_gradient(const float *patches, const float *upstream, ptrdiff_t rows, ptrdiff_t depth,
                                   ptrdiff_t filters, ptrdiff_t first_filter, ptrdiff_t filter_count,
                                   ptrdiff_t block, ptrdiff_t unroll, float *gradient);

#endif
