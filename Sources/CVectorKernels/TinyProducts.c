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
/// The operands as the kernel walks them: op(a)[i][p] = a[i * a_row + p * a_term] and
/// op(b)[p][j] = b[p * b_term + j * b_column]; the terms go from `first` in steps of `step`
/// (the last to the first when a test asks for the reversed order).
typedef struct {
    const float *a, *b;
    ptrdiff_t a_row, a_term, b_term, b_column, k, first, step;
} operands;

/// c[i][j..<j+8]: eight outputs side by side when op(b)'s rows are contiguous. Each lane is
/// its own FMA chain, so the lanes keep the scalar order.
__attribute__((target("avx2,fma")))
static inline __m256 row_block(const operands *o, ptrdiff_t i, ptrdiff_t j) {
    __m256 sum = _mm256_setzero_ps();
    const float *a = o->a + i * o->a_row, *b = o->b + j;
    for (ptrdiff_t q = 0, p = o->first; q < o->k; q++, p += o->step)
        sum = _mm256_fmadd_ps(_mm256_set1_ps(a[p * o->a_term]), _mm256_loadu_ps(b + p * o->b_term), sum);
    return sum;
}

/// c[i..<i+8][j]: eight outputs down a column, for products with fewer than eight columns
/// (a Dense(1) layer's forward, input and kernel gradients). op(a)'s column is loaded
/// directly when a is transposed and gathered (eight row strides apart) when it is not.
__attribute__((target("avx2,fma")))
static inline __m256 column_block(const operands *o, ptrdiff_t i, ptrdiff_t j) {
    __m256 sum = _mm256_setzero_ps();
    const float *a = o->a + i * o->a_row, *b = o->b + j * o->b_column;
    if (o->a_row == 1) {
        for (ptrdiff_t q = 0, p = o->first; q < o->k; q++, p += o->step)
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(a + p * o->a_term), _mm256_set1_ps(b[p * o->b_term]), sum);
    } else {
        const __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                _mm256_set1_epi32((int)o->a_row));
        for (ptrdiff_t q = 0, p = o->first; q < o->k; q++, p += o->step)
            sum = _mm256_fmadd_ps(_mm256_i32gather_ps(a + p * o->a_term, rows, 4), _mm256_set1_ps(b[p * o->b_term]), sum);
    }
    return sum;
}

/// One output scalar: the FMA chain over the inner dimension.
__attribute__((target("avx2,fma")))
static inline float dot(const operands *o, ptrdiff_t i, ptrdiff_t j) {
    float sum = 0;
    const float *a = o->a + i * o->a_row, *b = o->b + j * o->b_column;
    for (ptrdiff_t q = 0, p = o->first; q < o->k; q++, p += o->step)
        sum = fmaf(a[p * o->a_term], b[p * o->b_term], sum);
    return sum;
}

/// One term per output (k = 1, a Dense layer on one feature, or the input gradient of a
/// Dense(1) layer): an outer product, each output fma(a_i, b_j, 0) (not a plain product: an
/// FMA onto +0 turns an exact -0 into +0, as sgemm's chain from zero does).
__attribute__((target("avx2,fma")))
static void outer_product(const operands *o, ptrdiff_t m, ptrdiff_t n, int accumulate, float *c, ptrdiff_t ldc) {
    const __m256 zero = _mm256_setzero_ps();
    if (o->b_column == 1 && n == 8) {
        // One block per row (a Dense(8) layer on one feature and its input gradient): b stays
        // in a register and each row is a broadcast, an FMA, maybe an add, and a store.
        const __m256 b = _mm256_loadu_ps(o->b);
        const float *a = o->a;
        if (accumulate) {
            for (ptrdiff_t i = 0; i < m; i++, a += o->a_row, c += ldc)
                _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), _mm256_fmadd_ps(_mm256_set1_ps(*a), b, zero)));
        } else {
            for (ptrdiff_t i = 0; i < m; i++, a += o->a_row, c += ldc)
                _mm256_storeu_ps(c, _mm256_add_ps(zero, _mm256_fmadd_ps(_mm256_set1_ps(*a), b, zero)));
        }
        return;
    }
    if (o->b_column == 1 && n % 8 == 0) {
        // Whole blocks of eight: one loop per case, so each row is a few instructions.
        const float *a = o->a, *b = o->b;
        for (ptrdiff_t i = 0; i < m; i++, a += o->a_row, c += ldc) {
            const __m256 a_lanes = _mm256_set1_ps(*a);
            if (accumulate) {
                for (ptrdiff_t j = 0; j < n; j += 8)
                    _mm256_storeu_ps(c + j, _mm256_add_ps(_mm256_loadu_ps(c + j),
                                                          _mm256_fmadd_ps(a_lanes, _mm256_loadu_ps(b + j), zero)));
            } else {
                for (ptrdiff_t j = 0; j < n; j += 8)
                    _mm256_storeu_ps(c + j, _mm256_add_ps(zero, _mm256_fmadd_ps(a_lanes, _mm256_loadu_ps(b + j), zero)));
            }
        }
        return;
    }
    for (ptrdiff_t i = 0; i < m; i++) {
        const float a_i = o->a[i * o->a_row];
        const __m256 a_lanes = _mm256_set1_ps(a_i);
        float *c_i = c + i * ldc;
        ptrdiff_t j = 0;
        if (o->b_column == 1) {
            for (; j + 8 <= n; j += 8) {
                const __m256 product = _mm256_fmadd_ps(a_lanes, _mm256_loadu_ps(o->b + j), zero);
                _mm256_storeu_ps(c_i + j, _mm256_add_ps(accumulate ? _mm256_loadu_ps(c_i + j) : zero, product));
            }
        }
        for (; j < n; j++) {
            const float product = fmaf(a_i, o->b[j * o->b_column], 0);
            c_i[j] = (accumulate ? c_i[j] : 0.0f) + product;
        }
    }
}

__attribute__((target("avx2,fma")))
static void tiny_sgemm(const operands *o, ptrdiff_t m, ptrdiff_t n, int accumulate, float *c, ptrdiff_t ldc) {
    if (o->k == 1) {
        outer_product(o, m, n, accumulate, c, ldc);
        return;
    }
    ptrdiff_t i = 0;
    // The gather's offsets are 32-bit: eight rows must lie within 2^31 bytes.
    if (n < 8 && m >= 8 && (o->a_row == 1 || o->a_row < (1 << 27))) {
        for (; i + 8 <= m; i += 8) {
            for (ptrdiff_t j = 0; j < n; j++) {
                const __m256 sum = column_block(o, i, j);
                if (ldc == 1) {
                    float *out = c + i;
                    _mm256_storeu_ps(out, _mm256_add_ps(accumulate ? _mm256_loadu_ps(out) : _mm256_setzero_ps(), sum));
                } else {
                    float lanes[8];
                    _mm256_storeu_ps(lanes, sum);
                    for (int l = 0; l < 8; l++) {
                        float *out = c + (i + l) * ldc + j;
                        *out = (accumulate ? *out : 0.0f) + lanes[l];
                    }
                }
            }
        }
    }
    for (; i < m; i++) {
        float *c_i = c + i * ldc;
        ptrdiff_t j = 0;
        if (o->b_column == 1) {
            for (; j + 8 <= n; j += 8) {
                const __m256 sum = row_block(o, i, j);
                _mm256_storeu_ps(c_i + j, _mm256_add_ps(accumulate ? _mm256_loadu_ps(c_i + j) : _mm256_setzero_ps(), sum));
            }
        }
        for (; j < n; j++) {
            const float sum = dot(o, i, j);
            c_i[j] = (accumulate ? c_i[j] : 0.0f) + sum;
        }
    }
}
#endif

int bw_tiny_sgemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                  int accumulate, float *c, ptrdiff_t ldc, int reversed) {
#if BW_TINY_X86_64
    if (bw_cpu_has_avx2_fma() && m > 0 && n > 0 && k > 0) {
        // A transposed b with one term per output (k = 1, ldb = 1) has contiguous rows too.
        const operands o = {
            .a = a, .b = b,
            .a_row = transpose_a ? 1 : lda, .a_term = transpose_a ? lda : 1,
            .b_term = transpose_b ? 1 : ldb, .b_column = transpose_b ? ldb : 1,
            .k = k, .first = reversed ? k - 1 : 0, .step = reversed ? -1 : 1,
        };
        tiny_sgemm(&o, m, n, accumulate, c, ldc);
        return 1;
    }
#endif
    return 0;
}

static const unsigned long long matched_bit = 1ull << 63;

static size_t first_slot(unsigned long long key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 54) % BW_TINY_VERDICT_SLOTS;   // the top 10 bits
}

int bw_tiny_verdict_lookup(bw_tiny_verdict_table *table, unsigned long long key) {
    for (size_t probe = 0, slot = first_slot(key); probe < BW_TINY_VERDICT_SLOTS;
         probe++, slot = (slot + 1) % BW_TINY_VERDICT_SLOTS) {
        const unsigned long long entry = __atomic_load_n(&table->slots[slot], __ATOMIC_ACQUIRE);
        if (entry == 0) return __atomic_load_n(&table->used, __ATOMIC_ACQUIRE) >= BW_TINY_VERDICT_LIMIT ? -2 : -1;
        if ((entry & ~matched_bit) == key) return (entry & matched_bit) ? 1 : 0;
    }
    return -2;
}

void bw_tiny_verdict_store(bw_tiny_verdict_table *table, unsigned long long key, int matches) {
    // Claim room first: the table never fills beyond the limit, so a look-up always meets a
    // free slot within a few probes. Threads racing here may over-count for a moment; a
    // look-up then says "full" and that product goes to sgemm, which is always correct.
    if (__atomic_add_fetch(&table->used, 1, __ATOMIC_ACQ_REL) > BW_TINY_VERDICT_LIMIT) {
        __atomic_sub_fetch(&table->used, 1, __ATOMIC_ACQ_REL);
        return;
    }
    const unsigned long long entry = key | (matches ? matched_bit : 0);
    for (size_t probe = 0, slot = first_slot(key); probe < BW_TINY_VERDICT_SLOTS;
         probe++, slot = (slot + 1) % BW_TINY_VERDICT_SLOTS) {
        unsigned long long expected = 0;
        if (__atomic_compare_exchange_n(&table->slots[slot], &expected, entry, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
        if ((expected & ~matched_bit) == key) break;   // another thread probed the same shape first
    }
    __atomic_sub_fetch(&table->used, 1, __ATOMIC_ACQ_REL);
}

static bw_tiny_verdict_table process_verdicts;

int bw_tiny_sgemm_verdict(unsigned long long key) { return bw_tiny_verdict_lookup(&process_verdicts, key); }

void bw_tiny_sgemm_record(unsigned long long key, int matches) { bw_tiny_verdict_store(&process_verdicts, key, matches); }
