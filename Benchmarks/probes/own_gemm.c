/*
 * Stop 23 probe: an own AVX2/FMA sgemm whose bits do not depend on where a product is cut,
 * against OpenBLAS on the BN-MLP's (784-256-256-10, batch 128) training-step products.
 *
 * Build and run (one command; Debian's OpenBLAS 0.3.21, the project's library):
 *   cc -O3 -mavx2 -mfma -o /tmp/own_gemm Benchmarks/probes/own_gemm.c Benchmarks/probes/own_gemm_kernel.c \
 *      -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lpthread -lm && /tmp/own_gemm
 * Arguments: repetitions per timing (default 301, after 30 untimed), k block (default 320,
 * OpenBLAS's GEMM_Q rule; 0 = one FMA chain over the whole inner dimension), rows of op(A) per
 * pass (default 132), 1 to read an untransposed op(B) in place instead of packing it (default 0).
 *
 * The summation order of every output scalar (documented in docs/perf/layers.md, "Stop 23"):
 *   the inner dimension is cut into blocks by its length alone (OpenBLAS's level-3 rule:
 *   blocks of KB while at least 2·KB remain, a stretch between KB and 2·KB halved with the
 *   first half rounded up to 8); in each block the scalar is ONE FMA chain from +0 in p order;
 *   the chains are added to the output (its start value for beta 1, +0 for beta 0) block after
 *   block. Each scalar lives in one lane of one register of the 6x16 micro-kernel; lanes never
 *   mix, and an edge tile runs the same kernel on zero-padded operands and keeps only its
 *   lanes. So neither a row cut, nor a column cut, nor the thread count, nor the transposes
 *   change a bit, by construction; the probe checks it anyway.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

#include "own_gemm_kernel.h"

/* ---------------------------------------------------------------- a pool of one worker thread */
typedef void (*Job)(void *);
static struct {
    pthread_t thread;
    _Atomic unsigned posted, done;
    Job job; void *argument;
    double cpu;             /* the worker's CPU seconds in its last job */
} pool;
static double lastParts[2];  /* CPU seconds of the caller's and the worker's part in the last runTwo */

static double threadCPU(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double wallClock(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *worker(void *unused) {
    (void)unused;
    unsigned seen = 0;
    for (;;) {
        unsigned spins = 0;
        while (atomic_load_explicit(&pool.posted, memory_order_acquire) == seen) {
            if (++spins < 4000) _mm_pause(); else sched_yield();   /* ~100 µs of spinning, then yield */
        }
        seen++;
        if (!pool.job) return NULL;
        double start = threadCPU();
        pool.job(pool.argument);
        pool.cpu = threadCPU() - start;
        atomic_store_explicit(&pool.done, seen, memory_order_release);
    }
}

/* Runs job0 on the caller and job1 on the worker; returns the CPU seconds of both jobs. */
static double runTwo(Job job0, void *argument0, Job job1, void *argument1) {
    pool.job = job1; pool.argument = argument1;
    unsigned ticket = atomic_load(&pool.posted) + 1;
    atomic_store_explicit(&pool.posted, ticket, memory_order_release);
    double start = threadCPU();
    job0(argument0);
    double cpu = threadCPU() - start;
    unsigned spins = 0;
    while (atomic_load_explicit(&pool.done, memory_order_acquire) != ticket)
        if (++spins < 4000) _mm_pause(); else sched_yield();
    lastParts[0] = cpu; lastParts[1] = pool.cpu;
    return cpu + pool.cpu;
}

/* ---------------------------------------------------------------- the products, each way */
static void openblasCall(const Gemm *g, int i0, int i1) {   /* rows [i0, i1), beta 0 as zero fill + beta 1 */
    const float *a = g->ta ? g->a + i0 : g->a + (size_t)i0 * g->lda;
    float *c = g->c + (size_t)i0 * g->ldc;
    if (g->beta == 0)
        for (int i = i0; i < i1; i++) memset(g->c + (size_t)i * g->ldc, 0, sizeof(float) * g->n);
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                i1 - i0, g->n, g->k, 1.0f, a, g->lda, g->b, g->ldb, 1.0f, c, g->ldc);
}
static void openblasWhole(const Gemm *g) {   /* beta as asked (OpenBLAS's own beta 0 handling) */
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                g->m, g->n, g->k, 1.0f, g->a, g->lda, g->b, g->ldb, (float)g->beta, g->c, g->ldc);
}

typedef struct { const Gemm *g; int i0, i1; } RowJob;
static void openblasRowJob(void *argument) { RowJob *j = argument; openblasCall(j->g, j->i0, j->i1); }
static void partJob(void *argument) { runPart(argument); }

static Workspace workspaces[2];
static float *sharedPacked;
static Barrier barrier;

/* Two threads, own kernel. mode 0: rows cut at `cut`, op(B) packed once (each thread packs half
 * of the panels, block by block, and waits for the other's half); mode 1: columns cut at `cut`
 * (a multiple of 16), each thread packs its own panels, A read in place; no waiting; mode 2:
 * rows cut at `cut`, each thread packs the whole op(B) for itself (OpenBLAS's plan, balanced). */
static double ownTwo(const Gemm *g, int mode, int cut) {
    Part parts[2];
    int np = panels(g->n);
    if (mode == 0) {
        atomic_store(&barrier.arrived, 0);
        parts[0] = (Part){g, 0, cut, 0, g->n, 0, np / 2, sharedPacked, &barrier, 2, workspaces[0].edge, NULL};
        parts[1] = (Part){g, cut, g->m, 0, g->n, np / 2, np, sharedPacked, &barrier, 2, workspaces[1].edge, NULL};
    } else if (mode == 2) {
        parts[0] = (Part){g, 0, cut, 0, g->n, 0, np, workspaces[0].packed, NULL, 1, workspaces[0].edge, NULL};
        parts[1] = (Part){g, cut, g->m, 0, g->n, 0, np, workspaces[1].packed, NULL, 1, workspaces[1].edge, NULL};
    } else {
        parts[0] = (Part){g, 0, g->m, 0, cut, 0, cut / NR, workspaces[0].packed, NULL, 1, workspaces[0].edge, NULL};
        parts[1] = (Part){g, 0, g->m, cut, g->n, cut / NR, np, workspaces[1].packed, NULL, 1, workspaces[1].edge, NULL};
    }
    return runTwo(partJob, &parts[0], partJob, &parts[1]);
}

/* Two threads, OpenBLAS: each thread one cblas_sgemm on its rows (the project's stop-19 plan). */
static double openblasTwo(const Gemm *g, int cut) {
    RowJob jobs[2] = {{g, 0, cut}, {g, cut, g->m}};
    return runTwo(openblasRowJob, &jobs[0], openblasRowJob, &jobs[1]);
}

/* Two products side by side, one per thread (dW2 ‖ dX2). */
typedef struct { const Gemm *g; int own; } WholeJob;
static void wholeJob(void *argument) {
    WholeJob *j = argument;
    if (j->own) { Workspace *w = j->own == 1 ? &workspaces[0] : &workspaces[1]; ownPart(j->g, 0, j->g->m, 0, j->g->n, w, 0); }
    else openblasCall(j->g, 0, j->g->m);
}

/* ---------------------------------------------------------------- operands and checks */
static float *filled(size_t count, unsigned seed) {   /* [-0.5, 0.5), as mlp_products.c */
    float *values = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        values[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return values;
}

static float opA(const Gemm *g, int i, int p) { return g->ta ? g->a[(size_t)p * g->lda + i] : g->a[(size_t)i * g->lda + p]; }
static float opB(const Gemm *g, int p, int j) { return g->tb ? g->b[(size_t)j * g->ldb + p] : g->b[(size_t)p * g->ldb + j]; }

/* Max absolute error and max error relative to sum |a||b| (the scale of the rounding bound). */
static void errors(const Gemm *g, const float *start, const float *result, double *maxAbs, double *maxRel) {
    *maxAbs = 0; *maxRel = 0;
    for (int i = 0; i < g->m; i++)
        for (int j = 0; j < g->n; j++) {
            double sum = g->beta ? start[(size_t)i * g->n + j] : 0, scale = fabs(sum);
            for (int p = 0; p < g->k; p++) { double t = (double)opA(g, i, p) * opB(g, p, j); sum += t; scale += fabs(t); }
            double e = fabs(result[(size_t)i * g->n + j] - sum);
            if (e > *maxAbs) *maxAbs = e;
            if (scale > 0 && e / scale > *maxRel) *maxRel = e / scale;
        }
}

static double best3(double x, double y, double z) { double b = x < y ? x : y; return b < z ? b : z; }
static int compareCmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }
static double median(double *values, int count) { qsort(values, count, sizeof(double), compareCmp); return values[count / 2]; }

static size_t differing(const float *x, const float *y, size_t count) {
    size_t d = 0;
    for (size_t i = 0; i < count; i++) d += memcmp(x + i, y + i, sizeof(float)) != 0;
    return d;
}

/* ---------------------------------------------------------------- the step's products */
typedef struct {
    const char *name;
    int ta, tb, m, n, k, beta;
    int obCut;        /* the project's plan: rows cut there (stop 19), 0 = whole, -1 = side by side */
    int ownMode, ownCut;
} Shape;

static const Shape shapes[] = {
    {"F1 X.W1 128x256x784 NN b1", 0, 0, 128, 256, 784, 1, 60, 0, 64},
    {"F2 H.W2 128x256x256 NN b1", 0, 0, 128, 256, 256, 1, 60, 0, 64},
    {"F3 128x10x256 NN b1",       0, 0, 128, 10, 256, 1, 0, 0, 0},
    {"dW3 256x10x128 TN",         1, 0, 256, 10, 128, 0, 0, 0, 0},
    {"dX3 128x256x10 NT",         0, 1, 128, 256, 10, 0, 0, 0, 0},
    {"dW2 256x256x128 TN",        1, 0, 256, 256, 128, 0, -1, 0, 128},
    {"dX2 128x256x256 NT",        0, 1, 128, 256, 256, 0, -1, 0, 64},
    {"dW1 784x256x128 TN",        1, 0, 784, 256, 128, 0, 384, 0, 392},
};
enum { shapeCount = sizeof shapes / sizeof shapes[0] };

static Gemm makeGemm(const Shape *s, unsigned seed) {
    Gemm g = {s->ta, s->tb, s->m, s->n, s->k, NULL, 0, NULL, 0, s->beta, NULL, s->n};
    g.a = filled((size_t)s->m * s->k, seed);
    g.lda = s->ta ? s->m : s->k;
    g.b = filled((size_t)s->k * s->n, seed + 100);
    g.ldb = s->tb ? s->k : s->n;
    g.c = scratch((size_t)s->m * s->n);
    return g;
}

int main(int argc, char **argv) {
    int repetitions = argc > 1 ? atoi(argv[1]) : 301;
    if (argc > 2) kBlock = atoi(argv[2]);
    if (argc > 3) mcBlock = atoi(argv[3]);
    if (argc > 4) directB = atoi(argv[4]);
    openblas_set_num_threads(1);
    for (int t = 0; t < 2; t++) {
        workspaces[t].packed = scratch(maxPacked);
        workspaces[t].edge = scratch(maxEdge);
        workspaces[t].packedA = scratch(maxPackedA);
    }
    sharedPacked = scratch(maxPacked);
    pthread_create(&pool.thread, NULL, worker, NULL);
    FILE *load = popen("uptime", "r");
    char line[256];
    if (load && fgets(line, sizeof line, load)) printf("load at start: %s", line);
    if (load) pclose(load);
    printf("OpenBLAS %s, core %s; k block %d (%s), micro-kernel %dx%d, rows per pass %d, untransposed op(B) %s, %d repetitions\n\n",
           openblas_get_config(), openblas_get_corename(), kBlock, kBlock ? "OpenBLAS's rule" : "one chain", MR, NR, mcBlock,
           directB ? "read in place" : "packed", repetitions);

    Gemm gemms[shapeCount];
    float *starts[shapeCount], *reference[shapeCount];
    for (int s = 0; s < shapeCount; s++) {
        gemms[s] = makeGemm(&shapes[s], 10 * s + 1);
        size_t count = (size_t)shapes[s].m * shapes[s].n;
        starts[s] = filled(count, 1000 + s);
        reference[s] = scratch(count);
    }

    /* ---- bits and accuracy */
    printf("%-28s %9s %9s %6s %6s %6s %8s %7s | %10s %10s | %10s %10s\n", "bits", "row cuts", "col cuts", "grids", "2 thr", "pack", "vs OB", "6-11/12",
           "own abs", "own rel", "OB abs", "OB rel");
    for (int s = 0; s < shapeCount; s++) {
        Gemm *g = &gemms[s];
        size_t count = (size_t)g->m * g->n;
        float *whole = reference[s], *cut = scratch(count), *ob = scratch(count);
        memcpy(whole, starts[s], count * sizeof(float));
        Gemm w = *g; w.c = whole;
        ownPart(&w, 0, g->m, 0, g->n, &workspaces[0], 0);
        int rowBad = 0, rowTried = 0, colBad = 0, colTried = 0, twoBad = 0, packBad = 0;
        Gemm x = *g; x.c = cut;
        for (int r = 1; r < g->m; r += g->m > 300 ? 7 : 1, rowTried++) {
            memcpy(cut, starts[s], count * sizeof(float));
            ownPart(&x, 0, r, 0, g->n, &workspaces[0], 0);
            ownPart(&x, r, g->m, 0, g->n, &workspaces[1], 0);
            rowBad += differing(whole, cut, count) != 0;
        }
        for (int c = 1; c < g->n; c++, colTried++) {
            memcpy(cut, starts[s], count * sizeof(float));
            ownPart(&x, 0, g->m, 0, c, &workspaces[0], 0);
            ownPart(&x, 0, g->m, c, g->n, &workspaces[1], 0);
            colBad += differing(whole, cut, count) != 0;
        }
        unsigned draw = 12345u + s;   /* 40 grids of four parts, rows and columns cut at drawn places */
        int gridBad = 0;
        for (int t = 0; t < 40; t++) {
            draw = draw * 1664525u + 1013904223u; int r = 1 + (int)((draw >> 8) % (unsigned)(g->m - 1));
            draw = draw * 1664525u + 1013904223u; int c = 1 + (int)((draw >> 8) % (unsigned)(g->n - 1));
            memcpy(cut, starts[s], count * sizeof(float));
            ownPart(&x, 0, r, 0, c, &workspaces[0], 0);
            ownPart(&x, r, g->m, c, g->n, &workspaces[1], 0);
            ownPart(&x, 0, r, c, g->n, &workspaces[0], 0);
            ownPart(&x, r, g->m, 0, c, &workspaces[1], 0);
            gridBad += differing(whole, cut, count) != 0;
        }
        int rowCut = g->m / 2, colCut = (g->n / 2 / NR) * NR;
        for (int mode = 0; mode < 3; mode++) {
            if (mode == 1 && colCut == 0) continue;
            memcpy(cut, starts[s], count * sizeof(float));
            ownTwo(&x, mode, mode == 1 ? colCut : rowCut);
            twoBad += differing(whole, cut, count) != 0;
        }
        memcpy(cut, starts[s], count * sizeof(float));
        ownPart(&x, 0, g->m, 0, g->n, &workspaces[0], 1);
        packBad = differing(whole, cut, count) != 0;
        memcpy(cut, starts[s], count * sizeof(float));   /* op(B) packed if read in place here, and back */
        directB = !directB;
        ownPart(&x, 0, g->m, 0, g->n, &workspaces[0], 0);
        directB = !directB;
        packBad += differing(whole, cut, count) != 0;
        memcpy(ob, starts[s], count * sizeof(float));
        Gemm o = *g; o.c = ob;
        openblasWhole(&o);
        size_t vsOB = differing(whole, ob, count), vsOBLowerHalves = 0;
        for (int i = 0; i < (g->m / 12) * 12; i++)   /* rows 6..11 of each 12 of OpenBLAS's tiles */
            if (i % 12 >= 6) vsOBLowerHalves += differing(whole + (size_t)i * g->n, ob + (size_t)i * g->n, g->n);
        double ownAbs, ownRel, obAbs, obRel;
        errors(g, starts[s], whole, &ownAbs, &ownRel);
        errors(g, starts[s], ob, &obAbs, &obRel);
        char rows[32], cols[32];
        snprintf(rows, sizeof rows, "%d/%d", rowBad, rowTried);
        snprintf(cols, sizeof cols, "%d/%d", colBad, colTried);
        printf("%-28s %9s %9s %3d/40 %6d %6d %7.1f%% %7zu | %10.2e %10.2e | %10.2e %10.2e\n", shapes[s].name, rows, cols, gridBad, twoBad, packBad,
               100.0 * vsOB / count, vsOBLowerHalves, ownAbs, ownRel, obAbs, obRel);
        free(cut); free(ob);
    }
    printf("(cuts differing from the whole own call / cuts tried; 'grids': four parts, one row and one column cut; '2 thr': two-thread modes (rows shared, columns, rows private) differing; "
           "'pack': the whole call with op(A) packed, and with op(B) packed or read in place the other way, differing; "
           "'vs OB': share of scalars whose bits differ from one OpenBLAS call, '6-11/12': how many of them lie in rows 6..11 of "
           "each 12 (below the last multiple of 12); errors against a double reference, "
           "rel = |error| / sum |a||b|)\n\n");

    /* ---- one-row products against OpenBLAS: the same order as OpenBLAS's for one row (stop 22's kernel) */
    {
        const int ks[] = {784, 256, 10, 128, 320, 321, 640, 641, 700, 1000}, ns[] = {256, 256, 256, 10, 64, 100, 33, 256, 200, 77};
        size_t differ = 0, total = 0;
        for (int t = 0; t < 10; t++)
            for (int beta = 0; beta < 2; beta++) {
                Shape one = {"one row", 0, 0, 1, ns[t], ks[t], beta, 0, 0, 0};
                Gemm g = makeGemm(&one, 7 + t);
                float *start = filled(g.n, 99), *own = scratch(g.n), *ob = scratch(g.n);
                memcpy(own, start, g.n * sizeof(float)); memcpy(ob, start, g.n * sizeof(float));
                Gemm w = g; w.c = own; ownPart(&w, 0, 1, 0, g.n, &workspaces[0], 0);
                Gemm o = g; o.c = ob; openblasWhole(&o);
                differ += differing(own, ob, g.n); total += g.n;
                free((void *)g.a); free((void *)g.b); free(g.c); free(start); free(own); free(ob);
            }
        printf("one-row products (20: k from 10 to 1000, beta 0 and 1) against OpenBLAS: %zu of %zu scalars differ\n\n", differ, total);
    }

    /* ---- speed: every variant of a product in turn, per repetition; medians of three clocks:
     * wall (the caller's, hand-offs included: noise when other processes hold a core), CPU (both
     * threads' CPU inside their parts), and the critical path (the larger part's CPU: what the
     * wall would be on two free cores, less the hand-off; robust to load). */
    enum { OB1, OWN1, OWNA1, OB2, OWN2, OWN2P, OWN2C, variants };
    const char *variantNames[variants] = {"OB 1t", "own 1t", "own+packA 1t", "OB 2t plan", "own rows shrd", "own rows priv", "own 2t cols"};
    enum { clocks = 3 };
    const char *clockNames[clocks] = {"wall", "CPU (both parts)", "critical path (larger part's CPU)"};
    static double result[clocks][variants + 1][shapeCount + 1];
    double (*samples)[clocks][2048] = malloc(sizeof(double[variants][clocks][2048]));
    if (repetitions > 2048) repetitions = 2048;
    for (int s = 0; s < shapeCount; s++) {
        Gemm *g = &gemms[s];
        for (int r = -30; r < repetitions; r++) {
            for (int v = 0; v < variants; v++) {
                double w0 = wallClock(), c0 = threadCPU(), c = 0, critical = 0;
                int two = 0;
                switch (v) {
                case OB1: openblasCall(g, 0, g->m); break;
                case OWN1: ownPart(g, 0, g->m, 0, g->n, &workspaces[0], 0); break;
                case OWNA1: ownPart(g, 0, g->m, 0, g->n, &workspaces[0], 1); break;
                case OB2: if (shapes[s].obCut > 0) { c = openblasTwo(g, shapes[s].obCut); two = 1; } else openblasCall(g, 0, g->m); break;
                case OWN2:
                    if (shapes[s].ownCut > 0) { c = ownTwo(g, 0, shapes[s].ownCut); two = 1; }
                    else ownPart(g, 0, g->m, 0, g->n, &workspaces[0], 0);
                    break;
                case OWN2P:
                    if (shapes[s].ownCut > 0) { c = ownTwo(g, 2, shapes[s].ownCut); two = 1; }
                    else ownPart(g, 0, g->m, 0, g->n, &workspaces[0], 0);
                    break;
                case OWN2C:
                    if (shapes[s].ownCut > 0 && g->n >= 2 * NR) { c = ownTwo(g, 1, (g->n / 2 / NR) * NR); two = 1; }
                    else ownPart(g, 0, g->m, 0, g->n, &workspaces[0], 0);
                    break;
                }
                double w1 = wallClock();
                if (!two) c = critical = threadCPU() - c0;
                else critical = lastParts[0] > lastParts[1] ? lastParts[0] : lastParts[1];
                if (r >= 0) { samples[v][0][r] = w1 - w0; samples[v][1][r] = c; samples[v][2][r] = critical; }
            }
        }
        for (int v = 0; v < variants; v++)
            for (int k = 0; k < clocks; k++) result[k][v][s] = median(samples[v][k], repetitions);
    }

    /* dW2 || dX2 side by side (the project runs them so), OpenBLAS and own, as variant `variants`
     * in the rows of dW2 (dX2's row left empty). */
    {
        Gemm *dw2 = &gemms[5], *dx2 = &gemms[6];
        static double side[2][clocks][2048];
        for (int r = -30; r < repetitions; r++)
            for (int v = 0; v < 2; v++) {
                WholeJob a = {dw2, v ? 1 : 0}, b = {dx2, v ? 2 : 0};
                double w0 = wallClock();
                double c = runTwo(wholeJob, &a, wholeJob, &b);
                if (r >= 0) {
                    side[v][0][r] = wallClock() - w0; side[v][1][r] = c;
                    side[v][2][r] = lastParts[0] > lastParts[1] ? lastParts[0] : lastParts[1];
                }
            }
        for (int k = 0; k < clocks; k++) {
            printf("%-34s (median µs)", clockNames[k]);
            for (int v = 0; v < variants; v++) printf(" %12s", variantNames[v]);
            printf("   own/OB 1t\n");
            double total[variants] = {0};
            for (int s = 0; s < shapeCount; s++) {
                printf("%-46s", shapes[s].name);
                for (int v = 0; v < variants; v++) { printf(" %12.1f", result[k][v][s] * 1e6); total[v] += result[k][v][s]; }
                double flop = 2.0 * shapes[s].m * shapes[s].n * shapes[s].k;
                printf("   %.3f (%.1f vs %.1f GFLOP/s)\n", result[k][OB1][s] / result[k][OWN1][s],
                       flop / result[k][OWN1][s] * 1e-9, flop / result[k][OB1][s] * 1e-9);
            }
            printf("%-46s", "sum of the eight");
            for (int v = 0; v < variants; v++) printf(" %12.1f", total[v] * 1e6);
            double obSide = median(side[0][k], repetitions), ownSide = median(side[1][k], repetitions);
            printf("\n%-46s OB %.1f, own %.1f\n", "dW2 || dX2 side by side, one product a thread", obSide * 1e6, ownSide * 1e6);
            /* The step's products as the project runs them: F1, F2 rows 60/68; F3, dW3, dX3 whole
             * on the caller; dW2 || dX2; dW1 rows 384/400. Own: the better of its two modes per
             * product (by this clock), side by side or split for dW2 and dX2. */
            double plan = result[k][OB2][0] + result[k][OB2][1] + result[k][OB2][2] + result[k][OB2][3] + result[k][OB2][4] + obSide + result[k][OB2][7];
            double own = 0;
            for (int s = 0; s < shapeCount; s++) {
                if (s == 5 || s == 6) continue;
                own += best3(result[k][OWN2][s], result[k][OWN2P][s], result[k][OWN2C][s]);
            }
            double split56 = 0;
            for (int s = 5; s <= 6; s++) split56 += best3(result[k][OWN2][s], result[k][OWN2P][s], result[k][OWN2C][s]);
            own += ownSide < split56 ? ownSide : split56;
            printf("STEP %-5s project's plan (OpenBLAS) %.1f µs, own kernel on two threads %.1f µs, saved %.1f µs\n\n",
                   k == 0 ? "wall" : k == 1 ? "CPU" : "crit", plan * 1e6, own * 1e6, (plan - own) * 1e6);
        }
    }
    load = popen("uptime", "r");
    if (load && fgets(line, sizeof line, load)) printf("load at end: %s", line);
    if (load) pclose(load);
    return 0;
}
