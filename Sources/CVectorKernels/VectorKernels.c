#include "CVectorKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_X86_64 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define BW_X86_64 0
#endif

// Every product and sum below must round on its own, as in the Swift loops.
#pragma STDC FP_CONTRACT OFF

#if BW_X86_64
static int cpu_has_avx_uncached(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int osxsave = 1u << 27, avx = 1u << 28;
    if ((ecx & (osxsave | avx)) != (osxsave | avx)) return 0;
    unsigned int low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    (void)high;
    return (low & 6u) == 6u;  // the OS saves the SSE and AVX register state
}
#endif

int bw_cpu_has_avx(void) {
#if BW_X86_64
    // CPUID traps to the hypervisor in a VM (microseconds), so the answer is kept; threads
    // racing on the first call store the same value.
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
        known = cpu_has_avx_uncached();
        __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

#if BW_X86_64
__attribute__((target("avx")))
static ptrdiff_t adam_update_avx(const bw_adam_arguments *a) {
    float *w = a->w, *m = a->m, *v = a->v, *average = a->average;
    const float *g = a->g;
    const __m256 beta1 = _mm256_set1_ps(a->one_minus_beta1), beta2 = _mm256_set1_ps(a->one_minus_beta2);
    const __m256 alpha = _mm256_set1_ps(a->alpha), epsilon = _mm256_set1_ps(a->epsilon);
    const __m256 scale = _mm256_set1_ps(a->scale);
    const __m256 rate = _mm256_set1_ps(a->decay_rate), rate_lr = _mm256_set1_ps(a->decay_learning_rate);
    const __m256 momentum = _mm256_set1_ps(a->ema_momentum), keep = _mm256_set1_ps(a->ema_keep);
    const int scales = a->scales, decays = a->decays;
    ptrdiff_t i = 0;
    for (; i + 8 <= a->count; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_loadu_ps(m + i);
        __m256 vi = _mm256_loadu_ps(v + i);
        __m256 wi = _mm256_loadu_ps(w + i);
        if (scales) gi = _mm256_mul_ps(gi, scale);
        if (decays) wi = _mm256_sub_ps(wi, _mm256_mul_ps(_mm256_mul_ps(wi, rate), rate_lr));
        mi = _mm256_add_ps(mi, _mm256_mul_ps(_mm256_sub_ps(gi, mi), beta1));
        vi = _mm256_add_ps(vi, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(gi, gi), vi), beta2));
        wi = _mm256_sub_ps(wi, _mm256_div_ps(_mm256_mul_ps(mi, alpha), _mm256_add_ps(_mm256_sqrt_ps(vi), epsilon)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(w + i, wi);
        if (average) {
            __m256 ai = _mm256_loadu_ps(average + i);
            _mm256_storeu_ps(average + i, _mm256_add_ps(_mm256_mul_ps(momentum, ai), _mm256_mul_ps(keep, wi)));
        }
    }
    return i;
}

__attribute__((target("avx")))
static double unordered_squared_sum_avx(const float *x, ptrdiff_t count, ptrdiff_t *summed) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    ptrdiff_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        __m256d a0 = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), a1 = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
        __m256d b0 = _mm256_cvtps_pd(_mm256_castps256_ps128(b)), b1 = _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1));
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(a0, a0));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(a1, a1));
        s2 = _mm256_add_pd(s2, _mm256_mul_pd(b0, b0));
        s3 = _mm256_add_pd(s3, _mm256_mul_pd(b1, b1));
    }
    *summed = i;
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}
#endif

ptrdiff_t bw_adam_update_avx(const bw_adam_arguments *arguments) {
#if BW_X86_64
    if (bw_cpu_has_avx()) return adam_update_avx(arguments);
#endif
    (void)arguments;
    return 0;
}

double bw_unordered_squared_sum_avx(const float *x, ptrdiff_t count, ptrdiff_t *summed) {
#if BW_X86_64
    if (bw_cpu_has_avx()) return unordered_squared_sum_avx(x, count, summed);
#endif
    (void)x;
    (void)count;
    *summed = 0;
    return 0;
}
