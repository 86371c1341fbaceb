#include "CSingleRowProducts.h"
#include "CTinyProducts.h"
#include "CConvolutionKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_SINGLE_ROW_X86_64 1
#include <immintrin.h>
#include <math.h>
#else
#define BW_SINGLE_ROW_X86_64 0
#endif

// Every product and sum below rounds as written: the fused multiply-adds are explicit.
#pragma STDC FP_CONTRACT OFF

#if BW_SINGLE_ROW_X86_64
/// How many terms the block starting with `remaining` terms left takes (OpenBLAS's level-3
/// driver's rule for the inner dimension).
static ptrdiff_t block_length(ptrdiff_t remaining, ptrdiff_t block, ptrdiff_t unroll) {
    if (remaining >= 2 * block) return block;
    if (remaining > block) return ((remaining / 2 + unroll - 1) / unroll) * unroll;
    return remaining;
}

/// Columns j..<j+64 (eight FMA chains side by side, enough of them to hide the FMA latency),
/// every block of the inner dimension in turn.
__attribute__((target("avx2,fma")))
static void columns64(ptrdiff_t k, const float *x, const float *w, ptrdiff_t ldw, int accumulate, float *c,
                      ptrdiff_t block, ptrdiff_t unroll) {
    __m256 out[8];
    for (int r = 0; r < 8; r++) out[r] = accumulate ? _mm256_loadu_ps(c + 8 * r) : _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k;) {
        const ptrdiff_t end = p + block_length(k - p, block, unroll);
        __m256 sum[8];
        for (int r = 0; r < 8; r++) sum[r] = _mm256_setzero_ps();
        for (; p < end; p++) {
            const __m256 term = _mm256_set1_ps(x[p]);
            const float *row = w + p * ldw;
            for (int r = 0; r < 8; r++) sum[r] = _mm256_fmadd_ps(term, _mm256_loadu_ps(row + 8 * r), sum[r]);
        }
        for (int r = 0; r < 8; r++) out[r] = _mm256_add_ps(out[r], sum[r]);
    }
    for (int r = 0; r < 8; r++) _mm256_storeu_ps(c + 8 * r, out[r]);
}

/// Columns j..<j+8: one chain per lane.
__attribute__((target("avx2,fma")))
static void columns8(ptrdiff_t k, const float *x, const float *w, ptrdiff_t ldw, int accumulate, float *c,
                     ptrdiff_t block, ptrdiff_t unroll) {
    __m256 out = accumulate ? _mm256_loadu_ps(c) : _mm256_setzero_ps();
    for (ptrdiff_t p = 0; p < k;) {
        const ptrdiff_t end = p + block_length(k - p, block, unroll);
        __m256 sum = _mm256_setzero_ps();
        for (; p < end; p++) sum = _mm256_fmadd_ps(_mm256_set1_ps(x[p]), _mm256_loadu_ps(w + p * ldw), sum);
        out = _mm256_add_ps(out, sum);
    }
    _mm256_storeu_ps(c, out);
}

/// One column.
__attribute__((target("avx2,fma")))
static float column1(ptrdiff_t k, const float *x, const float *w, ptrdiff_t ldw, float start,
                     ptrdiff_t block, ptrdiff_t unroll) {
    float out = start;
    for (ptrdiff_t p = 0; p < k;) {
        const ptrdiff_t end = p + block_length(k - p, block, unroll);
        float sum = 0;
        for (; p < end; p++) sum = fmaf(x[p], w[p * ldw], sum);
        out = out + sum;
    }
    return out;
}
#endif

int bw_single_row_sgemm(ptrdiff_t n, ptrdiff_t k, const float *x, const float *w, ptrdiff_t ldw,
                        int accumulate, float *c, ptrdiff_t block, ptrdiff_t unroll) {
#if BW_SINGLE_ROW_X86_64
    if (bw_cpu_has_avx2_fma() && n > 0 && k > 0 && block > 0 && unroll > 0) {
        ptrdiff_t j = 0;
        for (; j + 64 <= n; j += 64) columns64(k, x, w + j, ldw, accumulate, c + j, block, unroll);
        for (; j + 8 <= n; j += 8) columns8(k, x, w + j, ldw, accumulate, c + j, block, unroll);
        for (; j < n; j++) c[j] = column1(k, x, w + j, ldw, accumulate ? c[j] : 0.0f, block, unroll);
        return 1;
    }
#endif
    return 0;
}

static bw_tiny_verdict_table process_verdicts;

int bw_single_row_verdict(unsigned long long key) { return bw_tiny_verdict_lookup(&process_verdicts, key); }

void bw_single_row_record(unsigned long long key, int matches) { bw_tiny_verdict_store(&process_verdicts, key, matches); }
