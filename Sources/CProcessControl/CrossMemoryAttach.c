#define _GNU_SOURCE 1  /* process_vm_readv, PR_SET_PTRACER */
#include "CProcessControl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#endif

#if defined(__linux__)
/* What the target process holds and the reader must see: not a value the reader's own copy
   of the caller's memory can contain (it holds 0), so a match proves a read of the target. */
#define BW_PROBE_MARKER UINT64_C(0x62775f636d615f31)

static void bw_close_pair(int pair[2]) {
    if (pair[0] >= 0) close(pair[0]);
    if (pair[1] >= 0) close(pair[1]);
}

/* The child's exit status as the probe's answer: its code, or ECANCELED if a signal ended it. */
static int bw_wait_for_answer(pid_t child) {
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : ECANCELED;
}

/* The target: tied to the caller, lets any process of this user attach (as Open MPI's
   shared-memory transport does when Yama restricts ptrace), stores the marker, says so
   through `ready`, and waits until the caller closes `hold`. Only syscalls run here (the
   caller may have other threads). */
static void bw_run_probe_target(pid_t caller, volatile uint64_t *marker, int ready, int hold) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != caller) _exit(1);
    prctl(PR_SET_NAME, BW_CROSS_MEMORY_PROBE_NAME, 0, 0, 0);
#if defined(PR_SET_PTRACER)
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
    *marker = BW_PROBE_MARKER;
    char byte = 1;
    while (write(ready, &byte, 1) < 0 && errno == EINTR) {}
    while (read(hold, &byte, 1) < 0 && errno == EINTR) {}
    _exit(0);
}

/* The reader, the target's sibling (as two ranks under mpirun are): reads the marker from the
   target's memory with process_vm_readv and exits with 0 or the errno of the failed read. */
static void bw_run_probe_reader(pid_t caller, pid_t target, volatile uint64_t *marker) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != caller) _exit(ECANCELED);
    prctl(PR_SET_NAME, BW_CROSS_MEMORY_PROBE_NAME, 0, 0, 0);
    uint64_t value = 0;
    struct iovec local = { &value, sizeof value };
    struct iovec remote = { (void *)marker, sizeof value };
    ssize_t count = process_vm_readv(target, &local, 1, &remote, 1, 0);
    if (count < 0) _exit(errno & 0xff);
    _exit(count == (ssize_t)sizeof value && value == BW_PROBE_MARKER ? 0 : EIO);
}
#endif

int bw_probe_cross_memory_attach(int target_gone) {
#if defined(__linux__)
    volatile uint64_t marker = 0;
    int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
    if (pipe2(ready, O_CLOEXEC) != 0) return errno;
    if (pipe2(hold, O_CLOEXEC) != 0) {
        int error = errno;
        bw_close_pair(ready);
        return error;
    }
    pid_t caller = getpid();
    pid_t target = fork();
    if (target == 0) {
        close(ready[0]);
        close(hold[1]);
        bw_run_probe_target(caller, &marker, ready[1], hold[0]);
    }
    int error = target < 0 ? errno : 0;
    close(ready[1]);
    close(hold[0]);
    ready[1] = hold[0] = -1;
    if (target < 0) {
        bw_close_pair(ready);
        bw_close_pair(hold);
        return error;
    }
    char byte = 0;
    ssize_t count;
    while ((count = read(ready[0], &byte, 1)) < 0 && errno == EINTR) {}
    int answer = count == 1 ? 0 : ECHILD;  /* the target ended before it was ready */
    if (target_gone) {
        /* The failure path on purpose: the target ends and is reaped before the read. */
        bw_close_pair(hold);
        hold[1] = -1;
        (void)bw_wait_for_answer(target);
    }
    if (answer == 0) {
        pid_t reader = fork();
        if (reader == 0) {
            close(ready[0]);
            if (hold[1] >= 0) close(hold[1]);
            bw_run_probe_reader(caller, target, &marker);
        }
        answer = reader < 0 ? errno : bw_wait_for_answer(reader);
    }
    close(ready[0]);
    if (!target_gone) {
        close(hold[1]);
        (void)bw_wait_for_answer(target);
    }
    return answer;
#else
    (void)target_gone;
    return ENOSYS;
#endif
}
