// Element-wise training kernels in 256-bit AVX, which the Swift modules cannot use: the package
// builds for baseline x86-64 (SSE2), and Swift cannot compile one function for a wider target.
// Each kernel is compiled for AVX alone and called only after bw_cpu_has_avx() said yes.
// Every lane does the IEEE float operations of the Swift loop it stands in for, in the same
// order (no fused multiply-add: AVX has none, and contraction is off), so results are the same
// bits (Tests/TrainingTests/WideKernelTests.swift compares them).
#ifndef BATCHWISE_CVECTORKERNELS_H
#define BATCHWISE_CVECTORKERNELS_H

#include <stddef.h>

/// 1 when the CPU runs AVX and the operating system saves its registers (CPUID + XGETBV),
/// else 0 (also on every non-x86-64 build). Asked once per process, then remembered.
int bw_cpu_has_avx(void);

/// How many cores the calling thread may run on (its CPU affinity mask; threads it starts
/// inherit it), or 0 when the system does not say (not Linux, or the call failed).
int bw_usable_core_count(void);

/// Binds the calling thread to one core (tests: a thread bound the way `mpirun` binds a rank).
/// 0 on success, -1 when the system refused or is not Linux.
int bw_bind_calling_thread_to_core(int core);

/// One Adam step with Keras's stages around it, over `count` scalars (AdamKernel in Training):
///   g' = g·scale                     (when `scales`)
///   w  = w − w·decay_rate·decay_learning_rate   (when `decays`)
///   m += (g' − m)·one_minus_beta1;  v += (g'·g' − v)·one_minus_beta2
///   w −= (m·alpha) / (sqrt(v) + epsilon)
///   average = ema_momentum·average + ema_keep·w   (when `average` is not NULL)
typedef struct {
    float *w;
    const float *g;
    float *m;
    float *v;
    float *average;
    ptrdiff_t count;
    float alpha, one_minus_beta1, one_minus_beta2, epsilon;
    int scales;
    float scale;
    int decays;
    float decay_rate, decay_learning_rate;
    float ema_momentum, ema_keep;
} bw_adam_arguments;

/// Updates the leading multiple of 8 of `arguments->count` scalars and returns how many it
/// updated (the caller does the rest); returns 0 without touching memory when
/// bw_cpu_has_avx() is 0.
ptrdiff_t bw_adam_update_avx(const bw_adam_arguments *arguments);

/// Σ x[i]² in double over the leading multiple of 16 of `count` floats, in an order of its
/// own (sixteen partial sums); `*summed` is set to how many it summed (0 without AVX).
double bw_unordered_squared_sum_avx(const float *x, ptrdiff_t count, ptrdiff_t *summed);

// The short-patch convolution products and the tiny-product kernel, declared in headers of their own.
#include "CConvolutionKernels.h"
#include "CTinyProducts.h"
#include "CSigmoidKernel.h"
#include "CSingleRowProducts.h"
#include "COwnSgemm.h"

#endif
