#define _GNU_SOURCE 1  /* posix_spawn_file_actions_addclosefrom_np */
#include "CProcessControl.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if defined(__linux__)
#include <sys/prctl.h>
#else
#include <pthread.h>
#endif

#if !defined(__linux__)
static void *bw_watch_parent(void *parent) {
    while (getppid() == (pid_t)(intptr_t)parent) usleep(100000);
    kill(getpid(), SIGKILL);
    return NULL;
}
#endif

void bw_die_with_parent(pid_t parent) {
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
#else
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, bw_watch_parent, (void *)(intptr_t)parent) == 0) pthread_detach(watcher);
#endif
    if (getppid() != parent) kill(getpid(), SIGKILL);
}

int bw_honour_die_with_parent_request(void) {
    const char *value = getenv(BW_DIE_WITH_PARENT_VARIABLE);
    if (value == NULL) return 0;
    char *end = NULL;
    long parent = strtol(value, &end, 10);
    int valid = *value != '\0' && *end == '\0' && parent > 0;
    unsetenv(BW_DIE_WITH_PARENT_VARIABLE);
    if (!valid) return -1;
    bw_die_with_parent((pid_t)parent);
    return 1;
}

void bw_honour_die_with_parent_request_or_exit(const char *program) {
    if (bw_honour_die_with_parent_request() >= 0) return;
    fprintf(stderr, "%s: %s is not a process id\n", program, BW_DIE_WITH_PARENT_VARIABLE);
    exit(2);
}

int bw_set_child_subreaper(int on) {
#if defined(__linux__)
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)on, 0, 0, 0);
#else
    (void)on;
    errno = ENOSYS;
    return -1;
#endif
}

int bw_spawn_actions_close_inherited(posix_spawn_file_actions_t *actions) {
#if defined(__linux__)
    return posix_spawn_file_actions_addclosefrom_np(actions, 3);
#else
    (void)actions;
    return 0;
#endif
}

pid_t bw_spawn_tied_in_own_group(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stderr_fd) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child != 0) return child;
    /* The caller may block or ignore signals (a libdispatch thread blocks them all); the child
       starts with none blocked and the termination signals at their defaults, so that what
       the caller forwards to it takes effect. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction standard;
    standard.sa_handler = SIG_DFL;
    standard.sa_flags = 0;
    sigemptyset(&standard.sa_mask);
    sigaction(SIGINT, &standard, NULL);
    sigaction(SIGTERM, &standard, NULL);
    sigaction(SIGHUP, &standard, NULL);
    setpgid(0, 0);
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(127);
#else
    (void)parent;
#endif
    if (stdin_fd >= 0 && stdin_fd != 0) dup2(stdin_fd, 0);
    if (stderr_fd >= 0 && stderr_fd != 2) dup2(stderr_fd, 2);
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
        for (int fd = 3; fd < 4096; fd++) close(fd);
    }
    execve(path, argv, envp);
    _exit(127);
}
