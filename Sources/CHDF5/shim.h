// Exposes to Swift what its importer cannot take from hdf5.h: the function-like macros
// (H5T_NATIVE_*, H5F_ACC_*, H5P_*), which expand to calls of H5open() and globals that
// Swift 6 refuses to read. Each becomes a static inline function named `bw_<MACRO>`.
// This header is an implementation detail of the HDF5 module; it has no stable API.
#ifndef BATCHWISE_CHDF5_SHIM_H
#define BATCHWISE_CHDF5_SHIM_H

#include <hdf5.h>

#define BW_HID_CONSTANT(NAME) \
    static inline __attribute__((always_inline)) hid_t bw_##NAME(void) { return NAME; }
#define BW_UINT_CONSTANT(NAME) \
    static inline __attribute__((always_inline)) unsigned bw_##NAME(void) { return NAME; }

BW_HID_CONSTANT(H5P_DEFAULT)
BW_HID_CONSTANT(H5S_ALL)
BW_HID_CONSTANT(H5E_DEFAULT)
BW_HID_CONSTANT(H5P_FILE_ACCESS)
BW_HID_CONSTANT(H5P_FILE_CREATE)
BW_HID_CONSTANT(H5P_DATASET_CREATE)
BW_HID_CONSTANT(H5P_DATASET_ACCESS)
BW_HID_CONSTANT(H5P_DATASET_XFER)
BW_HID_CONSTANT(H5P_LINK_CREATE)
BW_HID_CONSTANT(H5P_GROUP_CREATE)
BW_HID_CONSTANT(H5P_ATTRIBUTE_CREATE)

BW_HID_CONSTANT(H5FD_SEC2)

BW_HID_CONSTANT(H5T_NATIVE_FLOAT)
BW_HID_CONSTANT(H5T_NATIVE_DOUBLE)
BW_HID_CONSTANT(H5T_NATIVE_INT8)
BW_HID_CONSTANT(H5T_NATIVE_INT16)
BW_HID_CONSTANT(H5T_NATIVE_INT32)
BW_HID_CONSTANT(H5T_NATIVE_INT64)
BW_HID_CONSTANT(H5T_NATIVE_UINT8)
BW_HID_CONSTANT(H5T_NATIVE_UINT16)
BW_HID_CONSTANT(H5T_NATIVE_UINT32)
BW_HID_CONSTANT(H5T_NATIVE_UINT64)
BW_HID_CONSTANT(H5T_NATIVE_HBOOL)
BW_HID_CONSTANT(H5T_IEEE_F32LE)
BW_HID_CONSTANT(H5T_IEEE_F64LE)
BW_HID_CONSTANT(H5T_STD_I8LE)
BW_HID_CONSTANT(H5T_STD_I16LE)
BW_HID_CONSTANT(H5T_STD_I32LE)
BW_HID_CONSTANT(H5T_STD_I64LE)
BW_HID_CONSTANT(H5T_STD_U8LE)
BW_HID_CONSTANT(H5T_STD_U16LE)
BW_HID_CONSTANT(H5T_STD_U32LE)
BW_HID_CONSTANT(H5T_STD_U64LE)
BW_HID_CONSTANT(H5T_C_S1)

BW_UINT_CONSTANT(H5F_ACC_RDONLY)
BW_UINT_CONSTANT(H5F_ACC_RDWR)
BW_UINT_CONSTANT(H5F_ACC_TRUNC)
BW_UINT_CONSTANT(H5F_ACC_EXCL)
BW_UINT_CONSTANT(H5F_OBJ_ALL)

static inline __attribute__((always_inline)) size_t bw_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline __attribute__((always_inline)) hsize_t bw_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }

// Frees the strings a variable-length read allocated. H5Dvlen_reclaim was renamed
// H5Treclaim in 1.12; 1.10 (Debian 12) only has the old name.
static inline herr_t bw_vlen_reclaim(hid_t type_id, hid_t space_id, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type_id, space_id, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type_id, space_id, H5P_DEFAULT, buf);
#endif
}


// Swaps two paths atomically (Linux renameat2(RENAME_EXCHANGE), macOS renamex_np(RENAME_SWAP)).
// HDF5File.atomicWrite uses it for saves without fsync: a plain rename over an existing file
// makes ext4 (auto_da_alloc) write the new file's blocks out inside the rename call.
// Returns -1 with errno set (ENOSYS/EINVAL where unsupported) on failure.
#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline int bw_rename_exchange(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 2 /* RENAME_EXCHANGE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}
#elif defined(__APPLE__)
#include <stdio.h>
static inline int bw_rename_exchange(const char *from, const char *to) {
    return renamex_np(from, to, RENAME_SWAP);
}
#else
#include <errno.h>
static inline int bw_rename_exchange(const char *from, const char *to) {
    (void)from; (void)to;
    errno = ENOSYS;
    return -1;
}
#endif

#endif
