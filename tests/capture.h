/* ----------------------------------------------------------------------------
 * capture.h — run a function with stderr going to a temporary file, and
 * return what it wrote: how the unit tests read the allocator's error
 * reports (zt_options.on_error = "report" writes them to stderr).
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_CAPTURE_H
#define ZT_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What fn(arg) wrote to stderr, in a static buffer (the next call reuses
 * it); "" if no temporary file could be made (fn still runs). */
static inline const char *capture_stderr(void (*fn)(void *), void *arg)
{
    static char buf[4096];
    char path[] = "/tmp/zt_test_stderrXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fn(arg);
        return "";
    }
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    return buf;
}

#endif /* ZT_TEST_CAPTURE_H */
