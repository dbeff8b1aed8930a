/* ----------------------------------------------------------------------------
 * rerun.h — run this test binary again under another device profile. The
 * profile is fixed when the allocator initialises, so a test that must hold
 * on several profiles re-executes itself with ZONETRACE_DEVICE set. The
 * child's run is one CHECK of the caller's case (a skip when the child
 * skipped).
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_RERUN_H
#define ZT_TEST_RERUN_H

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs `argv0 --child` with ZONETRACE_DEVICE=device; true if it exited 0. */
static int rerun_under_device(const char *argv0, const char *device)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ZONETRACE_DEVICE", device, 1);
        execl("/proc/self/exe", argv0, "--child", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    /* A child that skipped (exit 77: it could not run here) makes the
     * caller's case skipped, not failed. */
    if (WIFEXITED(st) && WEXITSTATUS(st) == CHECK_SKIP_CODE) {
        CHECK_SKIP("the %s run was skipped (its log says why)", device);
        return 0;
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s run ended with status 0x%x", device, st);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#endif /* ZT_TEST_RERUN_H */
