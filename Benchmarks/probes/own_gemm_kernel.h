/*
 * Stop 23 probe, the kernel's interface: an own AVX2/FMA sgemm whose bits do not depend on where
 * a product is cut (own_gemm_kernel.c), used by the timing and checking harness (own_gemm.c).
 * The summation order is described at the top of own_gemm.c and in docs/perf/layers.md, "Stop 23".
 */
#ifndef OWN_GEMM_KERNEL_H
#define OWN_GEMM_KERNEL_H
#include <stdatomic.h>
#include <stddef.h>

enum { MR = 6, NR = 16, UNROLL = 8 };

/* ---------------------------------------------------------------- the product's description */
typedef struct {
    int ta, tb, m, n, k;
    const float *a; int lda;
    const float *b; int ldb;
    int beta;            /* 0 or 1 */
    float *c; int ldc;
} Gemm;

/* Barrier for two threads sharing one packed op(B): a counter that both increment per block. */
typedef struct { _Atomic int arrived; } Barrier;

typedef struct {
    const Gemm *g;
    int i0, i1, j0, j1;     /* the part's output rows and columns */
    int pack0, pack1;       /* the panels of op(B) this part packs into `packed` */
    float *packed;          /* the whole op(B)'s packed layout (shared or private) */
    Barrier *barrier;       /* non-null: wait for the other part's panels after packing each block */
    int parties;
    float *edge;            /* MR x kBlock-or-k scratch for a short row micro-panel */
    float *packedA;         /* non-null: pack op(A) blocks (BLIS style) instead of reading A in place */
} Part;

enum { maxPacked = 800 * 272, maxEdge = MR * 800, maxPackedA = 132 * 800 };

typedef struct { float *packed, *edge, *packedA; } Workspace;

/* Settings the harness takes from its arguments (defined in own_gemm_kernel.c). */
extern int kBlock, directB, mcBlock;

int panels(int n);
void barrierWait(Barrier *barrier, int target);
void runPart(const Part *part);
float *scratch(size_t count);
void ownPart(const Gemm *g, int i0, int i1, int j0, int j1, Workspace *w, int packA);

#endif
