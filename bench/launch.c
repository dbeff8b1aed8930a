/* ----------------------------------------------------------------------------
 * launch.c — bench_launch RESULT TIMEOUT_S CMD ARGS…: run one measured
 * process and write its wait4 rusage to RESULT.
 *
 * Why a C launcher rather than wait4 in bench/run: a process's ru_maxrss
 * starts at its parent's resident size at fork time (exec carries the old
 * mm's high-water mark into the new image), so anything forked from the
 * Python runner reports at least ~17 MiB. Forked from this 1 MiB program the
 * floor is negligible. It also times the child with CLOCK_MONOTONIC right
 * around fork and wait4, and kills the child's whole process group (heaptrack
 * runs a pipeline) when the timeout expires.
 * BENCH_LD_PRELOAD becomes the child's LD_PRELOAD, so the allocator under
 * test (which may crash at load) is never loaded into the launcher itself.
 * RESULT: "status=S timed_out=0|1 wall_ns=N utime_us=N stime_us=N maxrss_kib=N"
 * (S is the raw wait status). Exit 0 when RESULT was written.
 * -------------------------------------------------------------------------- */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_launch RESULT TIMEOUT_S CMD [ARGS...]\n");
        return 2;
    }
    FILE *res = fopen(argv[1], "w");
    if (!res) {
        perror(argv[1]);
        return 2;
    }
    unsigned timeout_s = (unsigned)strtoul(argv[2], NULL, 10);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    long long t0 = now_ns();
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        /* the preload is for the measured program only, never for us */
        const char *preload = getenv("BENCH_LD_PRELOAD");
        if (preload) {
            setenv("LD_PRELOAD", preload, 1);
            unsetenv("BENCH_LD_PRELOAD");
        }
        setpgid(0, 0);
        execvp(argv[3], argv + 3);
        fprintf(stderr, "bench_launch: cannot run %s\n", argv[3]);
        _exit(127);
    }
    setpgid(child, child); /* also here, so the group exists before any kill */
    if (timeout_s) alarm(timeout_s);
    int status = 0;
    struct rusage ru;
    while (wait4(child, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("wait4");
            return 2;
        }
    long long wall = now_ns() - t0;
    alarm(0);
    kill(-child, SIGKILL); /* helpers left behind by a failed pipeline */
    fprintf(res, "status=%d timed_out=%d wall_ns=%lld utime_us=%lld stime_us=%lld maxrss_kib=%ld\n",
            status, (int)timed_out, wall,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
    return fclose(res) == 0 ? 0 : 2;
}
