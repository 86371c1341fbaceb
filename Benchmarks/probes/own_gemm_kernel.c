/*
 * Stop 23 probe: the kernel (packing of op(B), the 6x16 micro-kernel, one part of a product).
 * Built together with own_gemm.c; the command and the summation order are at the top of it.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "own_gemm_kernel.h"
/* Every product and sum rounds as written: the FMAs are explicit intrinsics, and no a*b+c is left for
 * the compiler to contract (build without -ffast-math). */

int kBlock = 320;   /* 0: one chain over the whole inner dimension */
int directB = 0;     /* 1: an untransposed op(B)'s full panels are read in place, not packed */
int mcBlock = 132;  /* rows of op(A) per pass over the B panels (cache blocking only) */


/* Length of the inner-dimension block that starts with `remaining` terms left (k alone decides). */
static int blockLength(int remaining) {
    if (kBlock <= 0) return remaining;
    if (remaining >= 2 * kBlock) return kBlock;
    if (remaining > kBlock) return ((remaining / 2 + UNROLL - 1) / UNROLL) * UNROLL;
    return remaining;
}

int panels(int n) { return (n + NR - 1) / NR; }

/* ---------------------------------------------------------------- packing of op(B) */
/* Packed layout of the whole op(B): block of rows [p0, p0+kc) at offset panels(n)·NR·p0,
 * within it panel jp (columns jp·16..+16, zero beyond n) at jp·NR·kc, row-major kc x 16. */
/* r[i] (eight floats of row i) becomes column i: r[i][j] ← r[j][i]. */
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

static int readsBInPlace(const Gemm *g, int jp) { return directB && !g->tb && jp * NR + NR <= g->n; }

static void packB(const Gemm *g, int p0, int kc, int jp0, int jp1, float *packed) {
    float *block = packed + (size_t)panels(g->n) * NR * p0;
    for (int jp = jp0; jp < jp1; jp++) {
        if (readsBInPlace(g, jp)) continue;
        float *dest = block + (size_t)jp * NR * kc;
        int j0 = jp * NR, width = g->n - j0 < NR ? g->n - j0 : NR;
        if (!g->tb) {
            for (int p = 0; p < kc; p++) {
                const float *src = g->b + (size_t)(p0 + p) * g->ldb + j0;
                if (width == NR) {
                    _mm256_storeu_ps(dest + p * NR, _mm256_loadu_ps(src));
                    _mm256_storeu_ps(dest + p * NR + 8, _mm256_loadu_ps(src + 8));
                } else {
                    for (int c = 0; c < NR; c++) dest[p * NR + c] = c < width ? src[c] : 0.0f;
                }
            }
        } else if (width == NR) {   /* op(B) = Bᵀ: 8x8 blocks transposed in registers */
            int p = 0;
            for (; p + 8 <= kc; p += 8)
                for (int half = 0; half < 2; half++) {
                    __m256 r[8];
                    for (int c = 0; c < 8; c++) r[c] = _mm256_loadu_ps(g->b + (size_t)(j0 + 8 * half + c) * g->ldb + p0 + p);
                    transpose8(r);
                    for (int i = 0; i < 8; i++) _mm256_storeu_ps(dest + (p + i) * NR + 8 * half, r[i]);
                }
            for (; p < kc; p++)
                for (int c = 0; c < NR; c++) dest[p * NR + c] = g->b[(size_t)(j0 + c) * g->ldb + p0 + p];
        } else {
            memset(dest, 0, sizeof(float) * NR * kc);
            for (int c = 0; c < width; c++) {
                const float *src = g->b + (size_t)(j0 + c) * g->ldb + p0;
                for (int p = 0; p < kc; p++) dest[p * NR + c] = src[p];
            }
        }
    }
}

/* ---------------------------------------------------------------- the micro-kernel */
/* acc[r][0..16) = sum over p of a(r, p)·b(p, 0..16), one FMA chain per lane from +0, where
 * a(r, p) = a[r·rs + p·cs]. Then lanes [c0, c1) of rows [0, rows) are added to C (or to +0). */
static inline __attribute__((always_inline)) void tile(int kc, const float *a, long rs, long cs,
                                                       const float *b, long bs, float *c, int ldc, int rows,
                                                       int c0, int c1, int onZero) {
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00;
    __m256 s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    for (int p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a);          s00 = _mm256_fmadd_ps(x, b0, s00); s01 = _mm256_fmadd_ps(x, b1, s01);
        x = _mm256_broadcast_ss(a + rs);     s10 = _mm256_fmadd_ps(x, b0, s10); s11 = _mm256_fmadd_ps(x, b1, s11);
        x = _mm256_broadcast_ss(a + 2 * rs); s20 = _mm256_fmadd_ps(x, b0, s20); s21 = _mm256_fmadd_ps(x, b1, s21);
        x = _mm256_broadcast_ss(a + 3 * rs); s30 = _mm256_fmadd_ps(x, b0, s30); s31 = _mm256_fmadd_ps(x, b1, s31);
        x = _mm256_broadcast_ss(a + 4 * rs); s40 = _mm256_fmadd_ps(x, b0, s40); s41 = _mm256_fmadd_ps(x, b1, s41);
        x = _mm256_broadcast_ss(a + 5 * rs); s50 = _mm256_fmadd_ps(x, b0, s50); s51 = _mm256_fmadd_ps(x, b1, s51);
        a += cs;
        b += bs;
    }
    const __m256 acc[MR][2] = {{s00, s01}, {s10, s11}, {s20, s21}, {s30, s31}, {s40, s41}, {s50, s51}};
    if (rows == MR && c0 == 0 && c1 == NR) {
        const __m256 zero = _mm256_setzero_ps();
        for (int r = 0; r < MR; r++) {
            float *out = c + (size_t)r * ldc;
            __m256 o0 = onZero ? zero : _mm256_loadu_ps(out), o1 = onZero ? zero : _mm256_loadu_ps(out + 8);
            _mm256_storeu_ps(out, _mm256_add_ps(o0, acc[r][0]));
            _mm256_storeu_ps(out + 8, _mm256_add_ps(o1, acc[r][1]));
        }
    } else {
        float lanes[MR][NR];
        for (int r = 0; r < MR; r++) { _mm256_storeu_ps(lanes[r], acc[r][0]); _mm256_storeu_ps(lanes[r] + 8, acc[r][1]); }
        for (int r = 0; r < rows; r++)
            for (int j = c0; j < c1; j++) {
                float *out = c + (size_t)r * ldc + (j - c0);
                *out = (onZero ? 0.0f : *out) + lanes[r][j];
            }
    }
}

/* op(A) stored with unit row stride (A transposed, or packed): a(r, p) = a[r + p·cs]. */
static void tileColumnA(int kc, const float *a, long cs, const float *b, float *c, int ldc, int rows, int c0, int c1, int onZero) {
    tile(kc, a, 1, cs, b, NR, c, ldc, rows, c0, c1, onZero);
}
/* The same with op(B) read in place (untransposed B, a full 16-column panel): b(p, j) = b[p·bs + j]. */
static void tileColumnADirect(int kc, const float *a, long cs, const float *b, long bs, float *c, int ldc, int rows, int c0, int c1, int onZero) {
    tile(kc, a, 1, cs, b, bs, c, ldc, rows, c0, c1, onZero);
}
static void tileRowADirect(int kc, const float *a, long rs, const float *b, long bs, float *c, int ldc, int rows, int c0, int c1, int onZero) {
    tile(kc, a, rs, 1, b, bs, c, ldc, rows, c0, c1, onZero);
}
/* op(A) = A untransposed: a(r, p) = a[r·rs + p]. */
static void tileRowA(int kc, const float *a, long rs, const float *b, float *c, int ldc, int rows, int c0, int c1, int onZero) {
    tile(kc, a, rs, 1, b, NR, c, ldc, rows, c0, c1, onZero);
}

/* ---------------------------------------------------------------- a part of a product */
void barrierWait(Barrier *barrier, int target) {
    atomic_fetch_add_explicit(&barrier->arrived, 1, memory_order_acq_rel);
    unsigned spins = 0;
    while (atomic_load_explicit(&barrier->arrived, memory_order_acquire) < target)
        if (++spins < 4000) _mm_pause(); else sched_yield();   /* a core taken by another process */
}


static inline float opAt(const Gemm *g, int i, int p) {
    return g->ta ? g->a[(size_t)p * g->lda + i] : g->a[(size_t)i * g->lda + p];
}

void runPart(const Part *part) {
    const Gemm *g = part->g;
    int jp0 = part->j0 / NR, jp1 = (part->j1 + NR - 1) / NR;
    int blockIndex = 0;
    for (int p0 = 0; p0 < g->k; blockIndex++) {
        const int kc = blockLength(g->k - p0);
        packB(g, p0, kc, part->pack0, part->pack1, part->packed);
        if (part->barrier) barrierWait(part->barrier, part->parties * (blockIndex + 1));
        const float *block = part->packed + (size_t)panels(g->n) * NR * p0;
        const int onZero = p0 == 0 && g->beta == 0;
        for (int ic = part->i0; ic < part->i1; ic += mcBlock) {
            const int icEnd = ic + mcBlock < part->i1 ? ic + mcBlock : part->i1;
            if (part->packedA) {   /* micro-panels of MR rows, a(r, p) at [r + p·MR], zero-padded */
                for (int ir = ic; ir < icEnd; ir += MR) {
                    float *dest = part->packedA + (size_t)(ir - ic) * kc;
                    for (int p = 0; p < kc; p++)
                        for (int r = 0; r < MR; r++) {
                            int i = ir + r;
                            dest[p * MR + r] = i < icEnd ? (g->ta ? g->a[(size_t)(p0 + p) * g->lda + i] : g->a[(size_t)i * g->lda + p0 + p]) : 0.0f;
                        }
                }
            }
            const int edgeRow = part->packedA ? icEnd : ic + ((icEnd - ic) / MR) * MR;
            if (edgeRow < icEnd)   /* the block's short micro-panel, zero-padded once for all panels */
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++)
                        part->edge[p * MR + r] = edgeRow + r < icEnd ? opAt(g, edgeRow + r, p0 + p) : 0.0f;
            for (int jp = jp0; jp < jp1; jp++) {
                const float *panel = block + (size_t)jp * NR * kc;
                const int direct = readsBInPlace(g, jp);
                const float *inPlace = g->b + (size_t)p0 * g->ldb + (size_t)jp * NR;
                int cBegin = jp * NR > part->j0 ? jp * NR : part->j0;
                int cEnd = jp * NR + NR < part->j1 ? jp * NR + NR : part->j1;
                for (int ir = ic; ir < icEnd; ir += MR) {
                    const int rows = icEnd - ir < MR ? icEnd - ir : MR;
                    float *c = g->c + (size_t)ir * g->ldc + cBegin;
                    const int c0 = cBegin - jp * NR, c1 = cEnd - jp * NR;
                    if (direct && part->packedA) {
                        tileColumnADirect(kc, part->packedA + (size_t)(ir - ic) * kc, MR, inPlace, g->ldb, c, g->ldc, rows, c0, c1, onZero);
                    } else if (direct && rows < MR) {
                        tileColumnADirect(kc, part->edge, MR, inPlace, g->ldb, c, g->ldc, rows, c0, c1, onZero);
                    } else if (direct && g->ta) {
                        tileColumnADirect(kc, g->a + (size_t)p0 * g->lda + ir, g->lda, inPlace, g->ldb, c, g->ldc, rows, c0, c1, onZero);
                    } else if (direct) {
                        tileRowADirect(kc, g->a + (size_t)ir * g->lda + p0, g->lda, inPlace, g->ldb, c, g->ldc, rows, c0, c1, onZero);
                    } else if (part->packedA) {
                        tileColumnA(kc, part->packedA + (size_t)(ir - ic) * kc, MR, panel, c, g->ldc, rows, c0, c1, onZero);
                    } else if (rows < MR) {
                        tileColumnA(kc, part->edge, MR, panel, c, g->ldc, rows, c0, c1, onZero);
                    } else if (g->ta) {
                        tileColumnA(kc, g->a + (size_t)p0 * g->lda + ir, g->lda, panel, c, g->ldc, rows, c0, c1, onZero);
                    } else {
                        tileRowA(kc, g->a + (size_t)ir * g->lda + p0, g->lda, panel, c, g->ldc, rows, c0, c1, onZero);
                    }
                }
            }
        }
        p0 += kc;
    }
}

/* Scratch big enough for any product here. */
float *scratch(size_t count) {
    float *p = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    memset(p, 0, count * sizeof(float));
    return p;
}

/* One thread, rows [i0, i1) and columns [j0, j1) of the product. */
void ownPart(const Gemm *g, int i0, int i1, int j0, int j1, Workspace *w, int packA) {
    Part part = {g, i0, i1, j0, j1, j0 / NR, (j1 + NR - 1) / NR, w->packed, NULL, 1, w->edge, packA ? w->packedA : NULL};
    runPart(&part);
}
