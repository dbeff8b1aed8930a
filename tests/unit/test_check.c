/* ----------------------------------------------------------------------------
 * test_check.c — the test harness itself (tests/check.h): a failed CHECK
 * makes the program fail (1) whatever else happened; with no failure, a
 * program whose every case (or the program itself) was skipped exits 77
 * (ctest's "skipped"), one whose other cases ran exits 0 and names the
 * skipped case, a clean run exits 0; REQUIRE stops
 * at once; failures past the print limit are still counted; every line
 * names the case. Each scenario runs in a forked child whose stderr is
 * captured; ZT_STRESS_SCALE scales CHECK_SCALED.
 * -------------------------------------------------------------------------- */
#include "../check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void all_pass(void)
{
    CHECK_CASE("one")
    {
        CHECK(1 + 1 == 2, "arithmetic");
    }
    CHECK_CASE("two")
    {
        CHECK(strlen("ab") == 2, "strlen");
    }
    exit(CHECK_DONE("child"));
}

static void one_fails(void)
{
    CHECK_CASE("passes")
    {
        CHECK(1, "never");
    }
    CHECK_CASE("fails")
    {
        int x = 3;
        CHECK(x == 4, "x is %d", x);
        CHECK(1, "never");
    }
    exit(CHECK_DONE("child"));
}

static void skips(void)
{
    CHECK_CASE("runs")
    {
        CHECK(1, "never");
    }
    CHECK_CASE("cannot run")
    {
        CHECK_SKIP("no such device %s", "here");
        continue;
        CHECK(0, "after the skip"); /* not reached: continue ends the case */
    }
    exit(CHECK_DONE("child"));
}

static void all_skipped(void)
{
    CHECK_CASE("cannot run either")
    {
        CHECK_SKIP("no such device %s", "here");
    }
    exit(CHECK_DONE("child"));
}

static void skip_and_fail(void)
{
    CHECK_CASE("skipped")
    {
        CHECK_SKIP("not here");
    }
    CHECK_CASE("failed")
    {
        CHECK(0, "always");
    }
    exit(CHECK_DONE("child"));
}

static void partial_skip_fails(void)
{
    CHECK_CASE("partly skipped, then a failure")
    {
        CHECK_SKIP("half of it");
        CHECK(0, "the other half fails");
    }
    exit(CHECK_DONE("child"));
}

static void program_skip(void)
{
    CHECK_SKIP("nothing to test on this machine");
    exit(CHECK_DONE("child"));
}

static void require_stops(void)
{
    CHECK_CASE("required")
    {
        REQUIRE(0 == 1, "must hold");
        exit(5); /* not reached */
    }
    exit(CHECK_DONE("child"));
}

static void many_failures(void)
{
    CHECK_CASE("many")
    {
        for (int i = 0; i < 100; i++)
            CHECK(i < 0, "failure %d", i);
    }
    exit(failures == 100 ? 42 : 43);
}

static void scaled(void)
{
    exit((int)CHECK_SCALED(400) / 4); /* 100 without ZT_STRESS_SCALE */
}

/* Runs fn in a child; its exit status, and its stderr in out. */
static int run(void (*fn)(void), const char *scale, char *out, size_t cap)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        /* a fresh harness: the parent's open case is not the child's */
        memset(&check_state, 0, sizeof check_state);
        failures = 0;
        if (scale)
            setenv("ZT_STRESS_SCALE", scale, 1);
        else
            unsetenv("ZT_STRESS_SCALE");
        fn();
        _exit(99);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char out[1 << 16];

int main(void)
{
    CHECK_CASE("all pass: 0")
    {
        int rc = run(all_pass, NULL, out, sizeof out);
        CHECK(rc == 0, "exit %d: %s", rc, out);
        CHECK(strstr(out, "test_check: [one] ok") && strstr(out, "test_check: [two] ok"), "%s",
              out);
        CHECK(strstr(out, "child: ok (2 cases)"), "%s", out);
    }
    CHECK_CASE("a failed check: 1")
    {
        int rc = run(one_fails, NULL, out, sizeof out);
        CHECK(rc == 1, "exit %d: %s", rc, out);
        CHECK(strstr(out, "test_check.c:") && strstr(out, "[fails] FAILED x == 4: x is 3"), "%s",
              out);
        CHECK(strstr(out, "test_check: [fails] FAILED (1 check)"), "%s", out);
        CHECK(strstr(out, "child: FAILED: 1 check in 1 of 2 cases (fails)"), "%s", out);
    }
    CHECK_CASE("a partial skip: 0, naming the skipped case")
    {
        int rc = run(skips, NULL, out, sizeof out);
        CHECK(rc == 0, "exit %d: %s", rc, out);
        CHECK(strstr(out, "[cannot run] SKIP: no such device here"), "%s", out);
        CHECK(!strstr(out, "after the skip"), "continue did not end the case: %s", out);
        CHECK(strstr(out, "child: ok (1 of 2 cases; skipped: cannot run: no such device here)"),
              "%s", out);
    }
    CHECK_CASE("every case skipped: 77 with its reason")
    {
        int rc = run(all_skipped, NULL, out, sizeof out);
        CHECK(rc == CHECK_SKIP_CODE, "exit %d: %s", rc, out);
        CHECK(strstr(out,
                     "child: SKIP: cannot run either: no such device here (0 of 1 case passed, "
                     "1 skipped)"),
              "%s", out);
    }
    CHECK_CASE("a skip and a failure: 1")
    {
        int rc = run(skip_and_fail, NULL, out, sizeof out);
        CHECK(rc == 1, "exit %d: %s", rc, out);
        rc = run(partial_skip_fails, NULL, out, sizeof out);
        CHECK(rc == 1, "partial skip then failure: exit %d: %s", rc, out);
    }
    CHECK_CASE("a skip outside any case: 77")
    {
        int rc = run(program_skip, NULL, out, sizeof out);
        CHECK(rc == CHECK_SKIP_CODE, "exit %d: %s", rc, out);
        CHECK(strstr(out, "nothing to test on this machine"), "%s", out);
    }
    CHECK_CASE("REQUIRE stops at once: 1")
    {
        int rc = run(require_stops, NULL, out, sizeof out);
        CHECK(rc == 1, "exit %d: %s", rc, out);
        CHECK(strstr(out, "[required] FAILED 0 == 1: must hold"), "%s", out);
    }
    CHECK_CASE("failures past the print limit are counted")
    {
        int rc = run(many_failures, NULL, out, sizeof out);
        CHECK(rc == 42, "exit %d", rc);
        CHECK(strstr(out, "failure 19") && !strstr(out, "failure 20"), "printed beyond the limit");
        CHECK(strstr(out, "more failures in this case are counted, not printed"), "no notice");
    }
    CHECK_CASE("CHECK_SCALED")
    {
        CHECK(run(scaled, NULL, out, sizeof out) == 100, "unscaled");
        CHECK(run(scaled, "25", out, sizeof out) == 25, "25 %%");
        CHECK(run(scaled, "0", out, sizeof out) == 100, "0 is ignored");
        CHECK(run(scaled, "1", out, sizeof out) == 1, "1 %%");
    }
    return CHECK_DONE("test_check");
}
