// Batchwise's own sgemm (COwnSgemm.h has the summation order): op(b) packed per block of the
// inner dimension into 16-column panels, a 6x16 micro-kernel whose every lane is one output
// scalar's FMA chain (lanes never mix), op(a) read in place. Ported from the stop 23 probe
// (Benchmarks/probes/own_gemm_kernel.c) without its experiment switches, plus a column loop
// that bounds the packed buffer for any shape.
#define _GNU_SOURCE 1
#include "COwnSgemm.h"
#include "CConvolutionKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_OWN_SGEMM_X86_64 1
#include <immintrin.h>
#include <pthread.h>
#include <sys/mman.h>
#else
#define BW_OWN_SGEMM_X86_64 0
#endif

// Every product and sum below rounds as written: the fused multiply-adds are explicit.
#pragma STDC FP_CONTRACT OFF

enum {
    BLOCK = 320,       // inner-dimension block (OpenBLAS's sgemm GEMM_Q on these kernels)
    UNROLL = 8,        // a halved block's first half is a multiple of this
    MR = 6, NR = 16,   // the micro-kernel's rows and columns
    MC = 132,          // rows of op(a) per pass over the panels (a multiple of MR; cache only)
    NC = 256,          // columns packed at a time (a multiple of NR; bounds the scratch)
};

ptrdiff_t bw_own_sgemm_block_length(ptrdiff_t remaining) {
    if (remaining >= 2 * BLOCK) return BLOCK;
    if (remaining > BLOCK) return ((remaining / 2 + UNROLL - 1) / UNROLL) * UNROLL;
    return remaining;
}

#if BW_OWN_SGEMM_X86_64
typedef struct {
    int transpose_a, transpose_b, accumulate;
    const float *a, *b;
    float *c;
    ptrdiff_t lda, ldb, ldc;
} product;

// ---------------------------------------------------------------- per-thread scratch
// Grown on demand, kept for the thread's next products, unmapped when the thread ends. Mapped
// pages rather than malloc: a thread's first product does not take memory out of the heap
// arenas in the middle of other code's allocations (the optimizer's slot placement relies on
// consecutive buffers, SlotPlacementTests).
typedef struct { void *memory; size_t bytes; } scratch;

static _Thread_local scratch thread_state;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_made;

/// The thread's exit (a key's destructor runs before the thread's own storage goes).
static void free_scratch(void *value) {
    scratch *s = value;
    munmap(s->memory, s->bytes);
    s->memory = NULL;
    s->bytes = 0;
}

static void make_scratch_key(void) { scratch_key_made = pthread_key_create(&scratch_key, free_scratch) == 0; }

/// `count` floats of the calling thread's scratch, page aligned; NULL when memory ran out
/// (the caller then packs one panel at a time into a buffer on its stack).
static float *thread_scratch(size_t count) {
    scratch *s = &thread_state;
    const size_t bytes = count * sizeof(float);
    if (s->bytes >= bytes) return s->memory;
    pthread_once(&scratch_once, make_scratch_key);
    if (!scratch_key_made || pthread_setspecific(scratch_key, s) != 0) return NULL;
    if (s->memory != NULL) munmap(s->memory, s->bytes);
    s->bytes = 0;
    s->memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->memory == MAP_FAILED) { s->memory = NULL; return NULL; }
    s->bytes = bytes;
    return s->memory;
}

// ---------------------------------------------------------------- packing of op(b)
/// r[i] (eight floats of row i) becomes column i: r[i][j] <- r[j][i].
__attribute__((target("avx2,fma"), always_inline))
static inline void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) { t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/// Packs rows [p0, p0 + kc) of op(b)'s columns [j0, j1): panel q (columns j0 + 16q ..< +16,
/// zeros past j1) at packed + q·16·kc, row-major kc x 16.
__attribute__((target("avx2,fma")))
static void pack_b(const product *g, ptrdiff_t p0, ptrdiff_t kc, ptrdiff_t j0, ptrdiff_t j1, float *packed) {
    for (ptrdiff_t first = j0; first < j1; first += NR, packed += NR * kc) {
        const ptrdiff_t width = j1 - first < NR ? j1 - first : NR;
        if (!g->transpose_b) {   // op(b)[p][j] = b[p·ldb + j]
            for (ptrdiff_t p = 0; p < kc; p++) {
                const float *source = g->b + (p0 + p) * g->ldb + first;
                float *row = packed + p * NR;
                if (width == NR) {
                    _mm256_storeu_ps(row, _mm256_loadu_ps(source));
                    _mm256_storeu_ps(row + 8, _mm256_loadu_ps(source + 8));
                } else {
                    for (ptrdiff_t j = 0; j < NR; j++) row[j] = j < width ? source[j] : 0.0f;
                }
            }
        } else if (width == NR) {   // op(b)[p][j] = b[j·ldb + p]: 8x8 blocks transposed in registers
            ptrdiff_t p = 0;
            for (; p + 8 <= kc; p += 8)
                for (int half = 0; half < 2; half++) {
                    __m256 r[8];
                    for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(g->b + (first + 8 * half + j) * g->ldb + p0 + p);
                    transpose8(r);
                    for (int i = 0; i < 8; i++) _mm256_storeu_ps(packed + (p + i) * NR + 8 * half, r[i]);
                }
            for (; p < kc; p++)
                for (ptrdiff_t j = 0; j < NR; j++) packed[p * NR + j] = g->b[(first + j) * g->ldb + p0 + p];
        } else {
            memset(packed, 0, sizeof(float) * NR * (size_t)kc);
            for (ptrdiff_t j = 0; j < width; j++) {
                const float *source = g->b + (first + j) * g->ldb + p0;
                for (ptrdiff_t p = 0; p < kc; p++) packed[p * NR + j] = source[p];
            }
        }
    }
}

// ---------------------------------------------------------------- the micro-kernel
/// s[r][0..16) = the FMA chain from +0 over p < kc of a(r, p)·b(p, 0..16), where a(r, p) =
/// a[r·rs + p·cs] and b(p, j) = b[p·16 + j]; then c[r][j] = (c[r][j] or +0) + s[r][j] for rows
/// r < rows and lanes j < width (the other lanes came from zero padding and are dropped).
__attribute__((target("avx2,fma"), always_inline))
static inline void tile(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *b,
                        float *c, ptrdiff_t ldc, int rows, int width, int onto_zero) {
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00;
    __m256 s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    for (ptrdiff_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a);          s00 = _mm256_fmadd_ps(x, b0, s00); s01 = _mm256_fmadd_ps(x, b1, s01);
        x = _mm256_broadcast_ss(a + rs);     s10 = _mm256_fmadd_ps(x, b0, s10); s11 = _mm256_fmadd_ps(x, b1, s11);
        x = _mm256_broadcast_ss(a + 2 * rs); s20 = _mm256_fmadd_ps(x, b0, s20); s21 = _mm256_fmadd_ps(x, b1, s21);
        x = _mm256_broadcast_ss(a + 3 * rs); s30 = _mm256_fmadd_ps(x, b0, s30); s31 = _mm256_fmadd_ps(x, b1, s31);
        x = _mm256_broadcast_ss(a + 4 * rs); s40 = _mm256_fmadd_ps(x, b0, s40); s41 = _mm256_fmadd_ps(x, b1, s41);
        x = _mm256_broadcast_ss(a + 5 * rs); s50 = _mm256_fmadd_ps(x, b0, s50); s51 = _mm256_fmadd_ps(x, b1, s51);
        a += cs;
        b += NR;
    }
    const __m256 sums[MR][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}, {s40, s41}, {s50, s51}};
    if (rows == MR && width == NR) {
        const __m256 zero = _mm256_setzero_ps();
        for (int r = 0; r < MR; r++) {
            float *out = c + r * ldc;
            const __m256 old0 = onto_zero ? zero : _mm256_loadu_ps(out), old1 = onto_zero ? zero : _mm256_loadu_ps(out + 8);
            _mm256_storeu_ps(out, _mm256_add_ps(old0, sums[r][0]));
            _mm256_storeu_ps(out + 8, _mm256_add_ps(old1, sums[r][1]));
        }
    } else {
        float lanes[MR][NR];
        for (int r = 0; r < MR; r++) { _mm256_storeu_ps(lanes[r], sums[r][0]); _mm256_storeu_ps(lanes[r] + 8, sums[r][1]); }
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++) {
                float *out = c + r * ldc + j;
                *out = (onto_zero ? 0.0f : *out) + lanes[r][j];
            }
    }
}

/// op(a)'s rows one float apart (a transposed, or the packed short micro-panel): a(r, p) = a[r + p·cs].
__attribute__((target("avx2,fma")))
static void tile_unit_rows(ptrdiff_t kc, const float *a, ptrdiff_t cs, const float *b, float *c, ptrdiff_t ldc,
                           int rows, int width, int onto_zero) {
    tile(kc, a, 1, cs, b, c, ldc, rows, width, onto_zero);
}

/// op(a) = a untransposed: a(r, p) = a[r·rs + p].
__attribute__((target("avx2,fma")))
static void tile_unit_terms(ptrdiff_t kc, const float *a, ptrdiff_t rs, const float *b, float *c, ptrdiff_t ldc,
                            int rows, int width, int onto_zero) {
    tile(kc, a, rs, 1, b, c, ldc, rows, width, onto_zero);
}

// ---------------------------------------------------------------- one part of a product
static inline float op_a(const product *g, ptrdiff_t i, ptrdiff_t p) {
    return g->transpose_a ? g->a[p * g->lda + i] : g->a[i * g->lda + p];
}

/// Outputs [i0, i1) x [j0, j1), k > 0: for each run of `nc` columns (a multiple of NR), each
/// block of the inner dimension in order (so every output gets its block sums in block order),
/// each MC rows. `packed` holds kc x nc floats and `edge` MR x kc for the longest block kc.
__attribute__((target("avx2,fma")))
static void part(const product *g, ptrdiff_t k, ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1,
                 ptrdiff_t nc, float *packed, float *edge) {
    for (ptrdiff_t jc = j0; jc < j1; jc += nc) {
        const ptrdiff_t jc_end = j1 - jc < nc ? j1 : jc + nc;
        for (ptrdiff_t p0 = 0, kc; p0 < k; p0 += kc) {
            kc = bw_own_sgemm_block_length(k - p0);
            pack_b(g, p0, kc, jc, jc_end, packed);
            const int onto_zero = p0 == 0 && !g->accumulate;
            for (ptrdiff_t ic = i0; ic < i1; ic += MC) {
                const ptrdiff_t ic_end = i1 - ic < MC ? i1 : ic + MC;
                const ptrdiff_t edge_row = ic + ((ic_end - ic) / MR) * MR;
                if (edge_row < ic_end)   // the short micro-panel, zero-padded once for every panel
                    for (ptrdiff_t p = 0; p < kc; p++)
                        for (ptrdiff_t r = 0; r < MR; r++)
                            edge[p * MR + r] = edge_row + r < ic_end ? op_a(g, edge_row + r, p0 + p) : 0.0f;
                const float *panel = packed;
                for (ptrdiff_t first = jc; first < jc_end; first += NR, panel += NR * kc) {
                    const int width = jc_end - first < NR ? (int)(jc_end - first) : NR;
                    for (ptrdiff_t ir = ic; ir < ic_end; ir += MR) {
                        float *c = g->c + ir * g->ldc + first;
                        if (ir >= edge_row)
                            tile_unit_rows(kc, edge, MR, panel, c, g->ldc, (int)(ic_end - ir), width, onto_zero);
                        else if (g->transpose_a)
                            tile_unit_rows(kc, g->a + p0 * g->lda + ir, g->lda, panel, c, g->ldc, MR, width, onto_zero);
                        else
                            tile_unit_terms(kc, g->a + ir * g->lda + p0, g->lda, panel, c, g->ldc, MR, width, onto_zero);
                    }
                }
            }
        }
    }
}
#endif

int bw_own_sgemm_part(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                      const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                      int accumulate, float *c, ptrdiff_t ldc,
                      ptrdiff_t i0, ptrdiff_t i1, ptrdiff_t j0, ptrdiff_t j1) {
#if BW_OWN_SGEMM_X86_64
    if (!bw_cpu_has_avx2_fma() || m < 0 || n < 0 || k < 0 || i0 < 0 || i0 > i1 || i1 > m || j0 < 0 || j0 > j1 || j1 > n)
        return 0;
    if (i0 == i1 || j0 == j1) return 1;
    if (k == 0) {   // no terms: the old value, or +0
        if (!accumulate)
            for (ptrdiff_t i = i0; i < i1; i++) memset(c + i * ldc + j0, 0, sizeof(float) * (size_t)(j1 - j0));
        return 1;
    }
    const product g = {transpose_a != 0, transpose_b != 0, accumulate != 0, a, b, c, lda, ldb, ldc};
    // Every block has at most BLOCK terms (a halved stretch's second half may be the longer one: 321 = 160 + 161).
    const ptrdiff_t longest_block = k < BLOCK ? k : BLOCK;
    const ptrdiff_t widest = j1 - j0 < NC ? ((j1 - j0 + NR - 1) / NR) * NR : NC;
    float *packed = thread_scratch((size_t)(longest_block * widest + MR * longest_block));
    if (packed != NULL) {
        part(&g, k, i0, i1, j0, j1, widest, packed, packed + longest_block * widest);
    } else {   // out of memory: one panel at a time on the stack (27 KB), the same order and bits
        float panel[BLOCK * NR + MR * BLOCK] __attribute__((aligned(64)));
        part(&g, k, i0, i1, j0, j1, NR, panel, panel + longest_block * NR);
    }
    return 1;
#else
    (void)transpose_a; (void)transpose_b; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc; (void)i0; (void)i1; (void)j0; (void)j1;
    return 0;
#endif
}
