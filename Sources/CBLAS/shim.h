// OpenBLAS's cblas on Linux; Accelerate's on Apple platforms.
#ifndef BATCHWISE_CBLAS_SHIM_H
#define BATCHWISE_CBLAS_SHIM_H
#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK 1
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
#endif
