#include "CSigmoidKernel.h"
#include "CConvolutionKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_SIGMOID_X86_64 1
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#else
#define BW_SIGMOID_X86_64 0
#endif

// Every operation rounds as written: the fused multiply-adds are explicit, where glibc's
// FMA build of e_expf.c has them (its disassembly: the reduction's product fused with the
// shift and with the subtraction of k, the three polynomial steps fused).
#pragma STDC FP_CONTRACT OFF

#if BW_SIGMOID_X86_64
/// glibc's __exp2f_data.tab for N = 32: asuint64(2^(i/32)) - (i << 47).
static const uint64_t exp2f_table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

/// 32/ln 2, the rounding shift 1.5·2^52 and the polynomial's coefficients (glibc's values).
#define INV_LN2_N 0x1.71547652b82fep+5
#define SHIFT 0x1.8p52
#define POLY_C0 0x1.c6af84b912394p-20
#define POLY_C1 0x1.ebfce50fac4f3p-13
#define POLY_C2 0x1.62e42ff0c52d6p-6

/// expf of four lanes whose |x| is below 88 (glibc's fast path).
__attribute__((target("avx2,fma")))
static inline __m128 expf4(__m128 x) {
    const __m256d inv_ln2_n = _mm256_set1_pd(INV_LN2_N), shift = _mm256_set1_pd(SHIFT);
    __m256d xd = _mm256_cvtps_pd(x);
    __m256d shifted = _mm256_fmadd_pd(inv_ln2_n, xd, shift);   // k + shift, k = round(x·N/ln 2)
    __m256i ki = _mm256_castpd_si256(shifted);
    __m256d kd = _mm256_sub_pd(shifted, shift);
    __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
    __m256i index = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
    __m256i t = _mm256_i64gather_epi64((const long long *)exp2f_table, index, 8);
    t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
    __m256d s = _mm256_castsi256_pd(t);
    __m256d z = _mm256_fmadd_pd(_mm256_set1_pd(POLY_C0), r, _mm256_set1_pd(POLY_C1));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(POLY_C2), r, _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    y = _mm256_mul_pd(y, s);
    return _mm256_cvtpd_ps(y);
}

/// Whether any of the eight lanes leaves glibc's fast path: top12(|x|) >= top12(88.0f).
__attribute__((target("avx2,fma")))
static inline int any_special(__m256 x) {
    __m256i top = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 20), _mm256_set1_epi32(0x7ff));
    __m256i special = _mm256_cmpgt_epi32(top, _mm256_set1_epi32(0x42a));
    return !_mm256_testz_si256(special, special);
}

/// expf of eight lanes, each as the C library computes it.
__attribute__((target("avx2,fma")))
static inline __m256 expf8(__m256 x) {
    if (any_special(x)) {
        float lanes[8];
        _mm256_storeu_ps(lanes, x);
        for (int i = 0; i < 8; i++) lanes[i] = expf(lanes[i]);
        return _mm256_loadu_ps(lanes);
    }
    return _mm256_set_m128(expf4(_mm256_extractf128_ps(x, 1)), expf4(_mm256_castps256_ps128(x)));
}

/// The sigmoid (`sigmoid` 1) or expf itself (0) of eight lanes.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 block(__m256 x, int sigmoid) {
    if (!sigmoid) return expf8(x);
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = expf8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

/// Inlined into each entry below, so that `sigmoid` is a constant there.
__attribute__((target("avx2,fma"), always_inline))
static inline void apply_avx2(const float *x, float *out, ptrdiff_t count, int sigmoid) {
    ptrdiff_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, block(_mm256_loadu_ps(x + i), sigmoid));
    if (i < count) {   // the last lanes through a padded block, so they take the same code
        float lanes[8] = {0};
        memcpy(lanes, x + i, (size_t)(count - i) * sizeof(float));
        _mm256_storeu_ps(lanes, block(_mm256_loadu_ps(lanes), sigmoid));
        memcpy(out + i, lanes, (size_t)(count - i) * sizeof(float));
    }
}

__attribute__((target("avx2,fma")))
static void sigmoid_avx2(const float *x, float *out, ptrdiff_t count) { apply_avx2(x, out, count, 1); }

__attribute__((target("avx2,fma")))
static void expf_avx2(const float *x, float *out, ptrdiff_t count) { apply_avx2(x, out, count, 0); }
#endif

/// The kernel (`sigmoid` 1: the sigmoid, 0: expf) when the CPU has AVX2 and FMA.
static int run(const float *x, float *out, ptrdiff_t count, int sigmoid) {
#if BW_SIGMOID_X86_64
    if (bw_cpu_has_avx2_fma()) {
        if (count > 0) (sigmoid ? sigmoid_avx2 : expf_avx2)(x, out, count);
        return 1;
    }
#endif
    (void)x; (void)out; (void)count; (void)sigmoid;
    return 0;
}

int bw_sigmoid_glibc_expf(const float *x, float *out, ptrdiff_t count) { return run(x, out, count, 1); }

int bw_expf_glibc(const float *x, float *out, ptrdiff_t count) { return run(x, out, count, 0); }
