/* ----------------------------------------------------------------------------
 * test_zone_api_error.c — misuse reports in libmalloc's words, from children
 * that misuse the heap (stderr captured):
 * - free() of a freed block (a double free) or of a pointer no zone owns:
 *   "<prog>(<pid>,0x…) malloc: *** error for object 0x…: pointer being freed
 *   was not allocated", then "<prog>(<pid>,0x…) malloc: *** set a breakpoint
 *   in malloc_error_break to debug", then abort() (libmalloc-166.220.1
 *   src/malloc.c:1739-1760, src/malloc_printf.c:100-112,169-170; abort since
 *   MALLOC_ABORT_ON_CORRUPTION is always set on 64-bit, src/malloc.c:1087);
 * - a zone's own free (malloc_zone_free) twice: "Double free of object 0x…"
 *   for tiny (src/magazine_tiny.c:2068), "double free for ptr 0x…" for small
 *   (src/magazine_small.c:2014), "pointer 0x… being freed already on
 *   death-row" for a large block on macos-arm64 (src/magazine_large.c:524);
 * - ZONETRACE_ON_ERROR=report still reports without aborting;
 * - malloc_error_break is an exported symbol of libzonetrace.so, so that
 *   `break malloc_error_break` works as on Darwin (src/malloc.c:563-570).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

/* Children: each misuses the heap one way. */
static int child(const char *what)
{
    if (strcmp(what, "double-free") == 0) {
        void *keep = malloc(600); /* keeps the region alive */
        void *volatile p = malloc(600);
        free(p);
        free(p);
        free(keep);
        return 0;
    }
    malloc_zone_t *z = malloc_create_zone(0, 0);
    size_t bytes = strcmp(what, "zone-tiny") == 0    ? 64
                   : strcmp(what, "zone-small") == 0 ? 4096
                                                     : (size_t)16 << 20;
    void *keep = malloc_zone_malloc(z, bytes);
    void *p = malloc_zone_malloc(z, bytes);
    void *push = malloc_zone_malloc(z, bytes);
    malloc_zone_free(z, p);
    malloc_zone_free(z, push); /* p leaves the last-free cache: a real free block */
    malloc_zone_free(z, p);
    malloc_zone_free(z, keep);
    return 0;
}

/* Runs this program as `--child what` with the device and on_error given;
 * returns its wait status, its stderr in err. */
static int run_child(const char *self, const char *what, const char *device, const char *on_error,
                     char *err, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        if (device) setenv("ZONETRACE_DEVICE", device, 1);
        if (on_error)
            setenv("ZONETRACE_ON_ERROR", on_error, 1);
        else
            unsetenv("ZONETRACE_ON_ERROR");
        execl(self, "errchild", "--child", what, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = 0;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

/* True if a line of err reads "<prog>(<pid>,0x<hex>) malloc: " followed by rest. */
static int has_line(const char *err, const char *prog, const char *rest)
{
    for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t np = strlen(prog);
        if (strncmp(l, prog, np) != 0 || l[np] != '(') continue;
        const char *c = l + np + 1;
        while (*c >= '0' && *c <= '9')
            c++;
        if (strncmp(c, ",0x", 3) != 0) continue;
        c += 3;
        while ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))
            c++;
        if (strncmp(c, ") malloc: ", 10) != 0) continue;
        c += 10;
        size_t nr = strlen(rest);
        if (strncmp(c, rest, nr) == 0) return 1;
    }
    return 0;
}

/* "<text before>0x<hex><text after>" on a prefixed line. */
static int has_object_line(const char *err, const char *before, const char *after)
{
    char pat[256];
    const char *s = strstr(err, before);
    while (s) {
        const char *c = s + strlen(before);
        if (strncmp(c, "0x", 2) == 0) {
            c += 2;
            while ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))
                c++;
            if (strncmp(c, after, strlen(after)) == 0) {
                snprintf(pat, sizeof pat, "%s", before);
                return has_line(err, "errchild", pat);
            }
        }
        s = strstr(s + 1, before);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    static char err[8192];
    const char *self = "/proc/self/exe";
    const char *brk = "*** set a breakpoint in malloc_error_break to debug\n";

    CHECK_CASE("free() twice: libmalloc's free() text, abort (166 malloc.c:1739-1760)")
    {
        int st = run_child(self, "double-free", "ios12-2gb", NULL, err, sizeof err);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
        CHECK(has_object_line(err, "*** error for object ",
                              ": pointer being freed was not allocated\n"),
              "first line: %s", err);
        CHECK(has_line(err, "errchild", brk), "breakpoint line: %s", err);
    }
    CHECK_CASE("ZONETRACE_ON_ERROR=report: same text, no abort")
    {
        int st = run_child(self, "double-free", "ios12-2gb", "report", err, sizeof err);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
        CHECK(has_object_line(err, "*** error for object ",
                              ": pointer being freed was not allocated\n") &&
                  has_line(err, "errchild", brk),
              "text: %s", err);
    }
    CHECK_CASE("malloc_zone_free twice, tiny: \"Double free of object\" (magazine_tiny.c:2068)")
    {
        int st = run_child(self, "zone-tiny", "ios12-2gb", NULL, err, sizeof err);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
        CHECK(has_object_line(err, "Double free of object ", "\n") &&
                  has_line(err, "errchild", brk),
              "text: %s", err);
    }
    CHECK_CASE("malloc_zone_free twice, small: \"double free for ptr\" (magazine_small.c:2014)")
    {
        int st = run_child(self, "zone-small", "ios12-2gb", "report", err, sizeof err);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
        CHECK(has_object_line(err, "double free for ptr ", "\n"), "text: %s", err);
    }
    CHECK_CASE("malloc_zone_free twice, large on death row (magazine_large.c:524)")
    {
        int st = run_child(self, "zone-large", "macos-arm64", "report", err, sizeof err);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
        CHECK(strstr(err, " malloc: pointer 0x") &&
                  strstr(err, " being freed already on death-row\n"),
              "text: %s", err);
    }
    CHECK_CASE("malloc_error_break is exported by libzonetrace.so")
    {
        const char *build = getenv("ZT_BUILD");
        char cmd[1024];
        if (!build) {
            CHECK_SKIP("ZT_BUILD is not set (run under ctest)");
            continue;
        }
        snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s/libzonetrace.so' 2>/dev/null", build);
        FILE *f = popen(cmd, "r");
        char line[512];
        int found = 0, any = 0;
        while (f && fgets(line, sizeof line, f)) {
            any = 1;
            size_t n = strlen(line);
            if (n && line[n - 1] == '\n') line[--n] = 0;
            if (n >= 19 && strcmp(line + n - 19, " malloc_error_break") == 0 && strstr(line, " T "))
                found = 1;
        }
        if (f) pclose(f);
        if (!any) {
            CHECK_SKIP("nm -D gave nothing (no binutils, or no libzonetrace.so)");
            continue;
        }
        CHECK(found, "malloc_error_break is not a defined dynamic symbol");
    }
    return CHECK_DONE("test_zone_api_error");
}
