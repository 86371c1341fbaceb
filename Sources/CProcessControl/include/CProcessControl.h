// Process-lifetime controls Swift cannot call directly: prctl(2) is variadic, so Swift does not
// import it. Used by the executables (batchwise, batchwise-bench, CheckpointFuzzHelper) and the tests that start
// them, so that no child process outlives the process that started it (docs/RELIABILITY.md).
#ifndef BATCHWISE_CPROCESSCONTROL_H
#define BATCHWISE_CPROCESSCONTROL_H

#include <spawn.h>
#include <sys/types.h>

/// The environment variable through which a parent asks a Batchwise executable it starts to
/// die with it; its value is the parent's pid (decimal).
#define BW_DIE_WITH_PARENT_VARIABLE "BATCHWISE_DIE_WITH_PARENT"

/// Makes this process end (SIGKILL) when `parent` ends. Call it first thing in a child.
///
/// Linux: PR_SET_PDEATHSIG, which the kernel delivers when the parent *thread* that started
/// this process ends, so the parent must start and wait for the child on one thread. Then
/// getppid() is compared with `parent`: if the parent died before PR_SET_PDEATHSIG took
/// effect, this process has been re-parented already and kills itself at once.
/// Elsewhere (macOS has no PR_SET_PDEATHSIG): a detached thread polls getppid() every 100 ms
/// and kills the process once it differs from `parent` (re-parented: the parent has ended).
void bw_die_with_parent(pid_t parent);

/// If BW_DIE_WITH_PARENT_VARIABLE is set, removes it from the environment (a grandchild must
/// not act on its grandparent's pid) and calls bw_die_with_parent with its value.
/// Returns 1 if it did, 0 if the variable is unset, -1 if its value is not a pid.
int bw_honour_die_with_parent_request(void);

/// The entry point of an executable (`batchwise`, `batchwise-bench`) calls this first:
/// bw_honour_die_with_parent_request, and when the variable's value is not a pid, the line
/// "<program>: BATCHWISE_DIE_WITH_PARENT is not a process id" on stderr and exit status 2.
void bw_honour_die_with_parent_request_or_exit(const char *program);

/// Linux: makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER),
/// so that a test can wait for a grandchild whose parent it killed. Returns 0, or -1 with
/// errno (ENOSYS elsewhere).
int bw_set_child_subreaper(int on);

/// Adds to `actions` a step that closes every descriptor from 3 up in the child, so that a
/// spawned child does not inherit this process's open files. Why: libhdf5 opens files without
/// O_CLOEXEC and locks them with flock(2); a child that inherits such a descriptor keeps the
/// lock after the parent closes the file, and the parent's next open of it fails with EAGAIN.
/// Linux: posix_spawn_file_actions_addclosefrom_np (glibc 2.34+). Elsewhere: returns 0 and
/// does nothing (macOS would need POSIX_SPAWN_CLOEXEC_DEFAULT on the spawn attributes).
/// Returns 0 or an errno value.
int bw_spawn_actions_close_inherited(posix_spawn_file_actions_t *actions);

/// Starts `path` (argv, envp as for execve) as a child that cannot outlive the calling thread:
/// between fork and exec the child puts itself in a process group of its own (so a terminal's
/// Ctrl-C reaches only the caller, which forwards it), asks for SIGKILL when the caller's thread
/// ends (Linux: PR_SET_PDEATHSIG, which survives exec; elsewhere the child is not tied), takes
/// `stdin_fd` / `stderr_fd` as its descriptors 0 / 2 when they are >= 0, and closes every other
/// descriptor from 3 up; it starts with no signal blocked and SIGINT, SIGTERM, SIGHUP at their
/// default actions, whatever the caller's thread blocks or ignores. For a program that cannot honour BW_DIE_WITH_PARENT_VARIABLE itself
/// (`mpirun`). Returns the child's pid, or -1 with errno when fork fails; a failed exec ends the
/// child with status 127. Only async-signal-safe calls run in the child.
pid_t bw_spawn_tied_in_own_group(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stderr_fd);

/// Whether Linux cross-memory attach (process_vm_readv(2), what Open MPI's shared-memory
/// transport uses for `btl_vader_single_copy_mechanism=cma`) works between two processes of
/// this user here: starts a short-lived target that, as Open MPI's transport does when Yama
/// restricts ptrace, allows any process of this user to attach (PR_SET_PTRACER_ANY), and a
/// sibling of it that reads a marker from the target's memory, the way one rank reads another.
/// Fails where seccomp blocks process_vm_readv, Yama's ptrace_scope is 2 without
/// CAP_SYS_PTRACE or 3, or the kernel lacks the call. Both children are tied to the calling
/// thread (PR_SET_PDEATHSIG) and reaped before it returns; takes about a millisecond.
/// `target_gone` != 0 makes the target end and be reaped before the read (the failure path, for tests).
/// Returns 0 when the read saw the marker, else an errno value (the read's; ENOSYS off Linux).
int bw_probe_cross_memory_attach(int target_gone);

/// The name (Linux: /proc/PID/comm) of bw_probe_cross_memory_attach's two children, so that
/// `ps` and tests can tell them apart.
#define BW_CROSS_MEMORY_PROBE_NAME "bw-cma-probe"

#endif
