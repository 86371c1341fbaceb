#include "CTinyProducts.h"
#include "CConvolutionKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_TINY_X86_64 1
#include <immintrin.h>
#include <math.h>
#else
#define BW_TINY_X86_64 0
#endif

// Every product and sum below rounds as written: the fused multiply-adds are explicit.
#pragma STDC FP_CONTRACT OFF

#if BW_TINY_X86_64
/// Eight outputs side by side: c[i][j..<j+8] when op(b)'s rows are contiguous (b not
/// transposed). Each lane is its own FMA chain, so the lanes keep the scalar order.
__attribute__((target("avx2,fma")))
static inline __m256 row_block(const float *a, ptrdiff_t a_step, const float *b, ptrdiff_t ldb, ptrdiff_t k,
                               int reversed) {
    __m256 sum = _mm256_setzero_ps();
    if (reversed) {
        for (ptrdiff_t p = k - 1; p >= 0; p--)
            sum = _mm256_fmadd_ps(_mm256_set1_ps(a[p * a_step]), _mm256_loadu_ps(b + p * ldb), sum);
    } else {
        for (ptrdiff_t p = 0; p < k; p++)
            sum = _mm256_fmadd_ps(_mm256_set1_ps(a[p * a_step]), _mm256_loadu_ps(b + p * ldb), sum);
    }
    return sum;
}

/// Eight outputs down a column: c[i..<i+8][j] when op(a)'s columns are contiguous (a
/// transposed), for products with fewer than eight columns.
__attribute__((target("avx2,fma")))
static inline __m256 column_block(const float *a, ptrdiff_t lda, const float *b, ptrdiff_t b_step, ptrdiff_t k,
                                  int reversed) {
    __m256 sum = _mm256_setzero_ps();
    if (reversed) {
        for (ptrdiff_t p = k - 1; p >= 0; p--)
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(a + p * lda), _mm256_set1_ps(b[p * b_step]), sum);
    } else {
        for (ptrdiff_t p = 0; p < k; p++)
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(a + p * lda), _mm256_set1_ps(b[p * b_step]), sum);
    }
    return sum;
}

/// One output scalar: the FMA chain over the inner dimension.
__attribute__((target("avx2,fma")))
static inline float dot(const float *a, ptrdiff_t a_step, const float *b, ptrdiff_t b_step, ptrdiff_t k, int reversed) {
    float sum = 0;
    if (reversed) {
        for (ptrdiff_t p = k - 1; p >= 0; p--) sum = fmaf(a[p * a_step], b[p * b_step], sum);
    } else {
        for (ptrdiff_t p = 0; p < k; p++) sum = fmaf(a[p * a_step], b[p * b_step], sum);
    }
    return sum;
}

__attribute__((target("avx2,fma")))
static void tiny_sgemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                       const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                       int accumulate, float *c, ptrdiff_t ldc, int reversed) {
    // op(a)[i][p] = a[i * a_row + p * a_term]; op(b)[p][j] = b[p * b_term + j * b_column].
    const ptrdiff_t a_row = transpose_a ? 1 : lda, a_term = transpose_a ? lda : 1;
    const ptrdiff_t b_term = transpose_b ? 1 : ldb, b_column = transpose_b ? ldb : 1;
    ptrdiff_t i = 0;
    if (transpose_a && n < 8) {
        // Narrow outputs (a Dense(1) kernel gradient: 8 x 1 x 32): eight rows at a time.
        for (; i + 8 <= m; i += 8) {
            for (ptrdiff_t j = 0; j < n; j++) {
                float lanes[8];
                _mm256_storeu_ps(lanes, column_block(a + i, lda, b + j * b_column, b_term, k, reversed));
                for (int l = 0; l < 8; l++) {
                    float *out = c + (i + l) * ldc + j;
                    *out = accumulate ? *out + lanes[l] : lanes[l];
                }
            }
        }
    }
    for (; i < m; i++) {
        const float *a_i = a + i * a_row;
        float *c_i = c + i * ldc;
        ptrdiff_t j = 0;
        if (!transpose_b) {
            for (; j + 8 <= n; j += 8) {
                __m256 sum = row_block(a_i, a_term, b + j, ldb, k, reversed);
                if (accumulate) sum = _mm256_add_ps(_mm256_loadu_ps(c_i + j), sum);
                _mm256_storeu_ps(c_i + j, sum);
            }
        }
        for (; j < n; j++) {
            const float sum = dot(a_i, a_term, b + j * b_column, b_term, k, reversed);
            c_i[j] = accumulate ? c_i[j] + sum : sum;
        }
    }
}
#endif

int bw_tiny_sgemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                  int accumulate, float *c, ptrdiff_t ldc, int reversed) {
#if BW_TINY_X86_64
    if (bw_cpu_has_avx2_fma() && m > 0 && n > 0 && k > 0) {
        tiny_sgemm(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc, reversed);
        return 1;
    }
#endif
    return 0;
}

/// Open-addressed slots: 0 is free, else the key with bit 63 set when it matched.
enum { verdict_slots = 128 };
static unsigned long long verdicts[verdict_slots];
static const unsigned long long matched_bit = 1ull << 63;

static size_t first_slot(unsigned long long key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 57) % verdict_slots;
}

int bw_tiny_sgemm_verdict(unsigned long long key) {
    for (size_t probe = 0, slot = first_slot(key); probe < verdict_slots; probe++, slot = (slot + 1) % verdict_slots) {
        const unsigned long long entry = __atomic_load_n(&verdicts[slot], __ATOMIC_ACQUIRE);
        if (entry == 0) return -1;
        if ((entry & ~matched_bit) == key) return (entry & matched_bit) ? 1 : 0;
    }
    return -1;
}

void bw_tiny_sgemm_record(unsigned long long key, int matches) {
    const unsigned long long entry = key | (matches ? matched_bit : 0);
    for (size_t probe = 0, slot = first_slot(key); probe < verdict_slots; probe++, slot = (slot + 1) % verdict_slots) {
        unsigned long long expected = 0;
        if (__atomic_compare_exchange_n(&verdicts[slot], &expected, entry, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
        if ((expected & ~matched_bit) == key) return;   // another thread probed the same shape first
    }
}
