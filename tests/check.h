/* ----------------------------------------------------------------------------
 * check.h — the whole C test harness: CHECK(cond, fmt, ...) records a failure
 * with file, line, the condition and a formatted reason, and the test goes on;
 * CHECK_DONE(name) prints the verdict and gives main's exit status.
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_CHECK_H
#define ZT_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_DONE(name)                                                                           \
    (failures ? (fprintf(stderr, "%s: %d failure(s)\n", name, failures), 1)                        \
              : (printf("%s: ok\n", name), 0))

#endif /* ZT_TEST_CHECK_H */
