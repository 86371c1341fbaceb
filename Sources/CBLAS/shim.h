// OpenBLAS's cblas on Linux; Accelerate's on Apple platforms.
#ifndef BATCHWISE_CBLAS_SHIM_H
#define BATCHWISE_CBLAS_SHIM_H
#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK 1
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

// Not BLAS: a software prefetch (into L2) for Swift, which has no intrinsic for one. The
// Datasets row gather (Sources/Datasets/RowGather.swift) prefetches the next rows of a batch
// with it; this header is the one C module every Swift target of the package can reach.
static inline __attribute__((always_inline)) void bw_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 2);
}
#endif
