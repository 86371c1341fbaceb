// sched_getaffinity(2) needs _GNU_SOURCE, which Swift's Glibc module does not define, so Swift
// cannot call it; ProductWorkers (Tensors) asks through this function.
#define _GNU_SOURCE 1
#include "CVectorKernels.h"

#if defined(__linux__)
#include <sched.h>
#endif

int bw_usable_core_count(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        return CPU_COUNT(&set);
    }
#endif
    return 0;
}

int bw_bind_calling_thread_to_core(int core) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -1;
#else
    (void)core;
    return -1;
#endif
}
