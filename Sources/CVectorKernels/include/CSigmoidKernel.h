// The logistic sigmoid 1 / (1 + expf(-x)) of float32 values, eight at a time, with expf
// computed as glibc 2.28+'s single-precision exponential computes it on a CPU with FMA (the
// variant its IFUNC picks there): the same double-precision reduction, table, polynomial and
// fused multiply-adds, so each lane has the bits of the libm call. Compiled for AVX2 with FMA
// and used only after bw_cpu_has_avx2_fma() said yes and a probe against the C library's own
// expf matched bit for bit (Training's SigmoidKernel): another C library, or another expf
// variant, is found out by the probe and keeps the scalar loop.
#ifndef BATCHWISE_CSIGMOIDKERNEL_H
#define BATCHWISE_CSIGMOIDKERNEL_H

#include <stddef.h>

/// out[i] = 1 / (1 + e) with e = expf(-x[i]) as described above, for i in 0..<count, in
/// float32 (the add and the division rounded as written). Lanes whose |x| is 88 or more, NaN
/// or infinite take the C library's expf itself. `out` may be `x`. Returns 0 without touching
/// memory when bw_cpu_has_avx2_fma() is 0, else 1.
int bw_sigmoid_glibc_expf(const float *x, float *out, ptrdiff_t count);

/// expf(x[i]) for i in 0..<count with the same vector code (what the probe and the tests
/// compare with the C library's expf). Returns 0 without touching memory when
/// bw_cpu_has_avx2_fma() is 0, else 1.
int bw_expf_glibc(const float *x, float *out, ptrdiff_t count);

#endif
