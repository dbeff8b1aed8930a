/* ----------------------------------------------------------------------------
 * test_fork.c — fork while other threads allocate and free in every class.
 * The fork handlers take every zone's locks (and the address-space lock) in
 * the parent and re-initialise them in the child, so the child must be able
 * to allocate at once — including from the magazine another thread was
 * using at the moment of fork — and exit cleanly. Repeated; a child that
 * deadlocks is killed by alarm() and reported. ZT_STRESS_SCALE (percent)
 * makes fewer forks.
 * -------------------------------------------------------------------------- */
#include "../check.h"
#include "zonetrace/malloc_zone.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 3
#define FORKS   25 /* scaled by ZT_STRESS_SCALE */

static volatile int stop;

static size_t pick(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    static const size_t sizes[] = {8, 48, 200, 600, 1000, 3000, 20000, 70000, 300000, 9u << 20};
    return sizes[*s % (sizeof sizes / sizeof sizes[0])];
}

static void *churn(void *arg)
{
    uint64_t s = 88172645463325252ull + (uintptr_t)arg;
    void *live[64] = {0};
    while (!stop) {
        for (int i = 0; i < 64; i++) {
            free(live[i]);
            size_t n = pick(&s);
            if (n > (1u << 20) && i != 0)
                n = 100; /* large blocks, but one in 64 of the 10 % picked */
            live[i] = malloc(n);
            if (live[i]) memset(live[i], i, n < 256 ? n : 256);
        }
        usleep(50); /* busy, but leave the CPU to the forked children too */
    }
    for (int i = 0; i < 64; i++)
        free(live[i]);
    return NULL;
}

/* In the child: allocate in every class, check, free; a new thread too. */
static void *child_thread(void *arg)
{
    void *p = malloc(1000);
    free(p);
    return arg;
}

static int child(void)
{
    alarm(20); /* a deadlock ends as SIGALRM */
    uint64_t s = 1;
    for (int round = 0; round < 200; round++) {
        size_t n = pick(&s);
        unsigned char *p = malloc(n);
        if (!p) return 3;
        size_t touch = n < 4096 ? n : 4096;
        memset(p, 0x5a, touch);
        p = realloc(p, n + 100);
        if (!p || p[touch - 1] != 0x5a) return 4;
        free(p);
    }
    void *q = calloc(100, 100);
    free(q);
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0 || pthread_join(t, NULL) != 0) return 5;
    if (!malloc_zone_check(NULL)) return 6;
    exit(0); /* the full exit path: atexit, destructors, stdio */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    long forks = CHECK_SCALED(FORKS);
    CHECK_CASE("fork under allocating threads")
    {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i);
        for (long f = 0; f < forks; f++) {
            usleep(2000);
            pid_t pid = fork();
            if (pid == 0) _exit(child());
            CHECK(pid >= 0, "fork: %ld", f);
            if (pid < 0) break;
            int st;
            waitpid(pid, &st, 0);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %ld ended with %s %d", f,
                  WIFSIGNALED(st) ? "signal" : "status",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
        stop = 1;
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    printf("test_fork: %ld forks under %d allocating threads\n", forks, THREADS);
    return CHECK_DONE("test_fork");
}
