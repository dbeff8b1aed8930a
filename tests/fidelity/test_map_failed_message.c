/* ----------------------------------------------------------------------------
 * test_map_failed_message.c — when a region cannot be mapped, libmalloc says
 * so in its words and only where it writes debug reports:
 * - tiny/small regions (libmalloc-166.220.1 src/vm.c:191-192,
 *   mvm_allocate_pages_securely): "<prog>(<pid>,<thread>) malloc: can't
 *   allocate region securely";
 * - large blocks (src/vm.c:116, mvm_allocate_pages): "… malloc: can't
 *   allocate region" then "*** mach_vm_map(size=N) failed (error code=3)";
 * - each followed by "*** set a breakpoint in malloc_error_break to debug"
 *   (src/malloc_printf.c:168-170); no abort (malloc_zone_error without
 *   MALLOC_ABORT_ON_ERROR, :200-211);
 * - written when MallocDebugReport=stderr, never with =none, and when unset
 *   only if stderr is a terminal (src/malloc_printf.c:60-84): here it is a
 *   file, so nothing.
 * The child fills a 32 MiB heap window of ios12-2gb with 1000-byte blocks,
 * then asks for a 1 MiB large block, with stderr in a file the parent reads.
 * -------------------------------------------------------------------------- */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

static char *blocks[80000]; /* in .bss, not on the heap under test */

static int child(void)
{
    size_t n = 0;
    while (n < sizeof blocks / sizeof blocks[0] && (blocks[n] = malloc(1000)) != NULL)
        n++;
    void *big = malloc(1 << 20);
    return n > 0 && n < sizeof blocks / sizeof blocks[0] && big == NULL ? 0 : 3;
}

/* Runs the child with MallocDebugReport = report (NULL: unset); returns its
 * stderr (static buffer) or NULL if it did not exit 0. */
static const char *run(const char *argv0, const char *report)
{
    static char text[1 << 16];
    char path[] = "/tmp/zt-mapfail-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    unlink(path);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        setenv("ZONETRACE_DEVICE", "ios12-2gb", 1);
        setenv("ZONETRACE_VA_LIMIT", "32M", 1);
        setenv("ZONETRACE_STACKS", "off", 1);
        if (report)
            setenv("MallocDebugReport", report, 1);
        else
            unsetenv("MallocDebugReport");
        execl("/proc/self/exe", argv0, "--child", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ssize_t len = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    text[len > 0 ? len : 0] = 0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child (MallocDebugReport=%s) status 0x%x: %s",
          report ? report : "unset", st, text);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? text : NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return child();
    CHECK_CASE("MallocDebugReport=stderr: libmalloc's words, no abort (166 vm.c:116,191-192)")
    {
        const char *t = run(argv[0], "stderr");
        if (!t) continue;
        CHECK(strstr(t, " malloc: can't allocate region securely\n") != NULL,
              "tiny region failure not reported: %s", t);
        CHECK(strstr(t, " malloc: can't allocate region\n*** mach_vm_map(size=1048576) failed "
                        "(error code=3)\n") != NULL,
              "large failure not reported: %s", t);
        CHECK(strstr(t, " malloc: *** set a breakpoint in malloc_error_break to debug\n") != NULL,
              "no breakpoint line: %s", t);
        const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        CHECK(strncmp(t, prog, strlen(prog)) == 0 && t[strlen(prog)] == '(',
              "prefix is not %s(<pid>,…): %s", prog, t);
    }
    CHECK_CASE("MallocDebugReport=none: nothing (166 malloc_printf.c:60-84)")
    {
        const char *t = run(argv[0], "none");
        if (t) CHECK(strstr(t, "can't allocate region") == NULL, "reported anyway: %s", t);
    }
    CHECK_CASE("unset, stderr not a terminal: nothing (166 malloc_printf.c:76-80)")
    {
        const char *t = run(argv[0], NULL);
        if (t) CHECK(strstr(t, "can't allocate region") == NULL, "reported anyway: %s", t);
    }
    return CHECK_DONE("test_map_failed_message");
}
