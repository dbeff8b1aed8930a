/* ----------------------------------------------------------------------------
 * check.h — the whole C test harness (header only; every tests/unit, api and
 * stress program uses it). A test is a list of named cases:
 *
 *     CHECK_CASE("fragmentation") {
 *         CHECK(p == NULL, "tiny region must not fit (got %p)", p);
 *         ...
 *     }
 *     return CHECK_DONE("test_va");
 *
 * CHECK(cond, fmt, ...) records a failure with file, line, case, condition
 * and a formatted reason, and the case goes on. REQUIRE(cond, fmt, ...) is a
 * CHECK that stops the whole program (status 1) when it fails: for a state
 * the rest cannot run in. CHECK_SKIP(fmt, ...) marks the current case (or,
 * outside a case, the program) skipped with a one-line reason; the caller
 * then leaves the case (`continue` inside a CHECK_CASE body, or return from
 * the function that implements it) or checks what it still can. Each case
 * prints a line when it starts and one with its verdict; CHECK_DONE(name)
 * prints the summary and gives main's exit status:
 *   1  any check failed (whatever else was skipped);
 *   77 nothing failed but something was skipped (ctest's SKIP_RETURN_CODE:
 *      the test shows as "skipped", never as "passed");
 *   0  every case ran and passed.
 *
 * Output goes to stderr, stdout flushed first, so the two stay in order in
 * ctest's log. Only the first CHECK_PRINT_MAX failures of a case are
 * printed; the rest are counted. Failures are counted atomically, so CHECK
 * may be called from several threads (the case bookkeeping is the main
 * thread's). CHECK_SCALED(n) scales a stress test's iteration count by
 * ZT_STRESS_SCALE (percent, 1..100, default 100) for slower builds.
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_CHECK_H
#define ZT_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_PRINT_MAX 20
#define CHECK_SKIP_CODE 77

#define CHECK_UNUSED_ __attribute__((unused))

/* All failed checks of the program; tests may read it. */
static int failures CHECK_UNUSED_;

static struct check_state {
    char test[64];         /* the program's name, from the first case's file */
    const char *case_name; /* the open case, or NULL */
    int case_failures_at;  /* `failures` when the case began */
    bool case_skipped;
    int cases, cases_failed, cases_skipped;
    char failed_names[512]; /* "a, b, ..." */
    char skip_reason[256];  /* the first skip's reason */
    bool program_skipped;   /* CHECK_SKIP outside any case */
} check_state CHECK_UNUSED_;

static inline void check_out_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_out_(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static inline void check_name_from_(const char *file)
{
    if (check_state.test[0]) return;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strcspn(base, ".");
    if (n >= sizeof check_state.test) n = sizeof check_state.test - 1;
    memcpy(check_state.test, base, n);
    check_state.test[n] = 0;
}

/* Names the program in every line (default: the file's name), e.g. for a
 * re-executed child: CHECK_NAME("test_memalign ios12-2gb"). */
static inline void check_name_(const char *name)
{
    snprintf(check_state.test, sizeof check_state.test, "%s", name);
}
#define CHECK_NAME(name) check_name_(name)

static inline const char *check_test_(void)
{
    return check_state.test[0] ? check_state.test : "test";
}

/* Records one failure; true when it is to be printed. */
static inline bool check_failed_(void)
{
    int all = __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    int in_case = all - check_state.case_failures_at;
    if (in_case == CHECK_PRINT_MAX + 1)
        check_out_("%s: [%s] more failures in this case are counted, not printed\n", check_test_(),
                   check_state.case_name ? check_state.case_name : "-");
    return in_case <= CHECK_PRINT_MAX;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond) && check_failed_()) {                                                          \
            check_out_("%s:%d: [%s] FAILED %s: ", __FILE__, __LINE__,                              \
                       check_state.case_name ? check_state.case_name : "-", #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int check_done_(const char *name);

/* CHECK, and stop the program at once when it fails. cond is evaluated once. */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (check_failed_()) {                                                                 \
                check_out_("%s:%d: [%s] FAILED %s: ", __FILE__, __LINE__,                          \
                           check_state.case_name ? check_state.case_name : "-", #cond);            \
                fprintf(stderr, __VA_ARGS__);                                                      \
                fputc('\n', stderr);                                                               \
            }                                                                                      \
            check_out_("%s: stopped: a required check failed\n", check_test_());                   \
            exit(check_done_(NULL));                                                               \
        }                                                                                          \
    } while (0)

static inline void check_skip_(const char *file, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void check_skip_(const char *file, const char *fmt, ...)
{
    check_name_from_(file);
    char reason[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (!check_state.skip_reason[0])
        snprintf(check_state.skip_reason, sizeof check_state.skip_reason, "%.48s%s%s",
                 check_state.case_name ? check_state.case_name : "",
                 check_state.case_name ? ": " : "", reason);
    if (check_state.case_name)
        check_state.case_skipped = true;
    else
        check_state.program_skipped = true;
    check_out_("%s: [%s] SKIP: %s\n", check_test_(),
               check_state.case_name ? check_state.case_name : "-", reason);
}

/* Marks the case (or, outside a case, the program) skipped with a one-line
 * reason. The caller then leaves the case, or goes on with what it can still
 * check (a partial skip: the case counts as skipped unless a check fails). */
#define CHECK_SKIP(...) check_skip_(__FILE__, __VA_ARGS__)

static inline int check_case_begin_(const char *file, const char *name)
{
    check_name_from_(file);
    if (check_state.case_name) {
        check_out_("%s: case \"%s\" opened inside \"%s\"\n", check_test_(), name,
                   check_state.case_name);
        abort();
    }
    check_state.case_name = name;
    check_state.case_failures_at = __atomic_load_n(&failures, __ATOMIC_RELAXED);
    check_state.case_skipped = false;
    check_out_("%s: [%s] ...\n", check_test_(), name);
    return 1;
}

static inline int check_case_end_(void)
{
    const char *name = check_state.case_name;
    int n = __atomic_load_n(&failures, __ATOMIC_RELAXED) - check_state.case_failures_at;
    check_state.cases++;
    if (n) {
        check_state.cases_failed++;
        size_t len = strlen(check_state.failed_names);
        snprintf(check_state.failed_names + len, sizeof check_state.failed_names - len, "%s%s",
                 len ? ", " : "", name);
        check_out_("%s: [%s] FAILED (%d check%s)\n", check_test_(), name, n, n == 1 ? "" : "s");
    } else if (check_state.case_skipped) {
        check_state.cases_skipped++;
        check_out_("%s: [%s] skipped\n", check_test_(), name);
    } else {
        check_out_("%s: [%s] ok\n", check_test_(), name);
    }
    check_state.case_name = NULL;
    check_state.case_failures_at = __atomic_load_n(&failures, __ATOMIC_RELAXED);
    return 0;
}

/* CHECK_CASE(name) { body }: runs body once as the named case. `continue`
 * in the body (outside an inner loop) ends the case early. */
#define CHECK_CASE(name)                                                                           \
    for (int check_case_once_ = check_case_begin_(__FILE__, name); check_case_once_;               \
         check_case_once_ = check_case_end_())

/* The summary; returns 1 (failed), 77 (skipped) or 0. name may be NULL
 * (the file's name is used). */
static inline int check_done_(const char *name)
{
    if (check_state.case_name) check_case_end_(); /* REQUIRE inside a case */
    const char *test = name ? name : check_test_();
    if (failures) {
        check_out_("%s: FAILED: %d check%s in %d of %d case%s%s%s%s\n", test, failures,
                   failures == 1 ? "" : "s", check_state.cases_failed, check_state.cases,
                   check_state.cases == 1 ? "" : "s", check_state.failed_names[0] ? " (" : "",
                   check_state.failed_names, check_state.failed_names[0] ? ")" : "");
        return 1;
    }
    /* Skipped only when nothing ran: a test whose other cases passed is a
     * pass that names its skipped cases (valgrind and ASan runs skip the
     * one case their tool cannot host, and ctest must not hide the rest). */
    if (check_state.program_skipped || check_state.cases_skipped == check_state.cases) {
        check_out_("%s: SKIP: %s (%d of %d case%s passed, %d skipped)\n", test,
                   check_state.skip_reason, check_state.cases - check_state.cases_skipped,
                   check_state.cases, check_state.cases == 1 ? "" : "s", check_state.cases_skipped);
        return CHECK_SKIP_CODE;
    }
    if (check_state.cases_skipped)
        check_out_("%s: ok (%d of %d cases; skipped: %s)\n", test,
                   check_state.cases - check_state.cases_skipped, check_state.cases,
                   check_state.skip_reason);
    else
        check_out_("%s: ok (%d case%s)\n", test, check_state.cases,
                   check_state.cases == 1 ? "" : "s");
    return 0;
}

#define CHECK_DONE(name) check_done_(name)

/* n scaled by ZT_STRESS_SCALE percent (never below 1). */
static inline long check_scaled_(long n)
{
    const char *s = getenv("ZT_STRESS_SCALE");
    long pct = s ? strtol(s, NULL, 10) : 100;
    if (pct < 1 || pct > 100) pct = 100;
    long m = n * pct / 100;
    return m > 0 ? m : 1;
}
#define CHECK_SCALED(n) check_scaled_(n)

#endif /* ZT_TEST_CHECK_H */
