// Exposes to Swift what its importer cannot take from Open MPI's mpi.h: the predefined handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...), which are macros casting the address of a library
// global, and MPI_IN_PLACE, a macro casting an integer to a pointer. Each becomes a static
// inline function named `bw_<MACRO>`. This header is an implementation detail of the
// Distributed module; it has no stable API.
#ifndef BATCHWISE_CMPI_SHIM_H
#define BATCHWISE_CMPI_SHIM_H

#include <mpi.h>

#define BW_MPI_HANDLE(TYPE, NAME) \
    static inline __attribute__((always_inline)) TYPE bw_##NAME(void) { return NAME; }

BW_MPI_HANDLE(MPI_Comm, MPI_COMM_WORLD)
BW_MPI_HANDLE(MPI_Datatype, MPI_FLOAT)
BW_MPI_HANDLE(MPI_Datatype, MPI_DOUBLE)
BW_MPI_HANDLE(MPI_Datatype, MPI_INT64_T)
BW_MPI_HANDLE(MPI_Op, MPI_SUM)
BW_MPI_HANDLE(MPI_Op, MPI_MIN)
BW_MPI_HANDLE(MPI_Op, MPI_MAX)
BW_MPI_HANDLE(MPI_Errhandler, MPI_ERRORS_RETURN)
BW_MPI_HANDLE(MPI_Info, MPI_INFO_NULL)

static inline __attribute__((always_inline)) void *bw_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }

static inline __attribute__((always_inline)) int bw_MPI_SUCCESS(void) { return MPI_SUCCESS; }
static inline __attribute__((always_inline)) int bw_MPI_MAX_ERROR_STRING(void) { return MPI_MAX_ERROR_STRING; }
static inline __attribute__((always_inline)) int bw_MPI_THREAD_SINGLE(void) { return MPI_THREAD_SINGLE; }
static inline __attribute__((always_inline)) int bw_MPI_THREAD_FUNNELED(void) { return MPI_THREAD_FUNNELED; }
static inline __attribute__((always_inline)) int bw_MPI_THREAD_SERIALIZED(void) { return MPI_THREAD_SERIALIZED; }
static inline __attribute__((always_inline)) int bw_MPI_THREAD_MULTIPLE(void) { return MPI_THREAD_MULTIPLE; }
// Shared-memory windows (SharedMemoryWindow.swift): the split type and the lock assertion.
static inline __attribute__((always_inline)) int bw_MPI_COMM_TYPE_SHARED(void) { return MPI_COMM_TYPE_SHARED; }
static inline __attribute__((always_inline)) int bw_MPI_MODE_NOCHECK(void) { return MPI_MODE_NOCHECK; }

#endif
