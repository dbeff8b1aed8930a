/* ----------------------------------------------------------------------------
 * test_held_pages — the held-pages ledger (zone/va.c) of device profiles.
 *
 * A device profile keeps the pages of a released large block or madvised
 * nano block mapped, and subtracts them from the footprint. This test runs
 * the same programs in two children under ios12-2gb, one with the ledger
 * (ZONETRACE_HELD_PAGES=1, the default) and one without (=0, the page-table
 * calls), and checks:
 * - cycle: after fill / free / refill / free, the footprint the jetsam check
 *   reads (zt_va_phys_footprint) grew by the same amount in both, within
 *   the tolerance stated below, and the ledger did hold pages;
 * - jetsam: a growing program with churn crosses a footprint limit at the
 *   same step in both (the jetsam check compares that footprint with the
 *   limit every 10 ms; here it is read after every step);
 * - zero: calloc of a large block that reuses a held range, and of one that
 *   reuses the held tail of a shrunk realloc, reads zeros;
 * - threads: four threads churn large and nano blocks (malloc, realloc,
 *   free, with a pattern checked before each free) while the ledger fills,
 *   overflows and is taken from, and the process forks twice meanwhile; no
 *   block is corrupted (an eviction's release of a range that was reused
 *   would zero or unmap live data).
 * -------------------------------------------------------------------------- */
#include "../check.h"

#include "prim/prim.h"
#include "va.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define NANO_N     120000 /* 64 B objects: 7.3 MiB, ~470 nano blocks */
#define LARGE_N    48     /* 256 KiB blocks: 12 MiB */
#define LARGE_SIZE ((size_t)256 << 10)

static uint64_t footprint(void)
{
    uint64_t f = 0;
    zt_va_phys_footprint(&f);
    return f;
}

static void *nano_objs[NANO_N];
static void *large_objs[LARGE_N];

static void fill(unsigned nano, unsigned large, int byte)
{
    for (unsigned i = 0; i < nano; i++) {
        nano_objs[i] = malloc(64);
        memset(nano_objs[i], byte, 64);
    }
    for (unsigned i = 0; i < large; i++) {
        large_objs[i] = malloc(LARGE_SIZE);
        memset(large_objs[i], byte, LARGE_SIZE);
    }
}

static void drain(unsigned nano, unsigned large)
{
    for (unsigned i = 0; i < nano; i++)
        free(nano_objs[i]);
    for (unsigned i = 0; i < large; i++)
        free(large_objs[i]);
}

/* Prints "f1 f2 f3 f4 holds" (footprint growth from the start, bytes). */
static int child_cycle(void)
{
    uint64_t f0 = footprint(), f[4];
    fill(NANO_N, LARGE_N, 0x11);
    f[0] = footprint();
    drain(NANO_N, LARGE_N);
    f[1] = footprint();
    fill(NANO_N / 2, LARGE_N / 2, 0x22);
    f[2] = footprint();
    drain(NANO_N / 2, LARGE_N / 2);
    f[3] = footprint();
    zt_va_held_stats_t st;
    zt_va_held_stats(&st);
    printf("%lld %lld %lld %lld %zu\n", (long long)(f[0] - f0), (long long)(f[1] - f0),
           (long long)(f[2] - f0), (long long)(f[3] - f0), st.holds);
    return 0;
}

/* Grows with churn until the footprint passes start + 40 MiB; prints the
 * step at which it did. */
static int child_jetsam(void)
{
    uint64_t limit = footprint() + ((uint64_t)40 << 20);
    static void *batch[2][2000];
    void *prev_large = NULL;
    for (unsigned step = 0; step < 400; step++) {
        void *big = malloc((size_t)1 << 20);
        memset(big, 0x5a, (size_t)1 << 20);
        void **b = batch[step & 1];
        for (unsigned i = 0; i < 2000; i++) {
            b[i] = malloc(48);
            memset(b[i], 1, 48);
        }
        if (step) {
            void **old = batch[(step - 1) & 1];
            for (unsigned i = 0; i < 2000; i++)
                free(old[i]);
        }
        /* every other 1 MiB block is freed one step later: the ledger holds it
         * and the next step's block reuses it */
        if (prev_large) free(prev_large);
        prev_large = (step & 1) ? NULL : big;
        if (footprint() > limit) {
            printf("%u\n", step);
            return 0;
        }
    }
    printf("none\n");
    return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

static int child_zero(void)
{
    int bad = 0;
    for (int round = 0; round < 8; round++) {
        size_t n = (size_t)(1 + round) << 18;
        unsigned char *p = malloc(n);
        memset(p, 0xab, n);
        free(p);
        unsigned char *q = calloc(1, n);
        if (!all_zero(q, n)) bad |= 1;
        free(q);
        /* realloc shrink: the tail is held; a calloc may reuse it */
        unsigned char *r = malloc(4 * n);
        memset(r, 0xcd, 4 * n);
        r = realloc(r, n);
        unsigned char *s = calloc(1, 2 * n);
        if (!all_zero(s, 2 * n)) bad |= 2;
        /* realloc grow in place over held pages: the new part is not
         * checked (realloc's growth is undefined), the old part is kept */
        r = realloc(r, 3 * n);
        if (r[0] != 0xcd || r[n - 1] != 0xcd) bad |= 4;
        free(r);
        free(s);
    }
    zt_va_held_stats_t st;
    zt_va_held_stats(&st);
    printf("%d %zu %zu\n", bad, st.holds, st.takes);
    return 0;
}

static void *churn_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    enum { SLOTS = 64 };
    unsigned char *p[SLOTS] = {0};
    size_t n[SLOTS] = {0};
    long bad = 0;
    for (int it = 0; it < 20000; it++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % SLOTS;
        if (p[k]) {
            unsigned char want = (unsigned char)(k + 1);
            if (p[k][0] != want || p[k][n[k] / 2] != want || p[k][n[k] - 1] != want) bad++;
            if ((seed >> 20) & 1) {
                size_t m = n[k] > 40000 ? n[k] / 2 : n[k] * 2;
                unsigned char *q = realloc(p[k], m);
                if (!q) continue;
                if (q[0] != want || q[(m < n[k] ? m : n[k]) - 1] != want) bad++;
                memset(q, want, m);
                p[k] = q;
                n[k] = m;
                continue;
            }
            free(p[k]);
            p[k] = NULL;
        } else {
            /* half nano sizes, half large (16 KiB .. 1 MiB) */
            n[k] = (seed >> 16) & 1 ? 16 + (seed >> 21) % 240
                                    : ((size_t)16 << 10) << ((seed >> 21) % 7);
            p[k] = malloc(n[k]);
            memset(p[k], (int)(k + 1), n[k]);
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        free(p[k]);
    return (void *)bad;
}

/* Prints the number of corrupted blocks seen (0 expected). */
static int child_threads(void)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn_thread, (void *)i);
    long bad = 0;
    for (int f = 0; f < 2; f++) {
        usleep(20000);
        pid_t pid = fork();
        if (pid == 0) {
            /* the child's ledger must be usable: hold, reuse, evict */
            void *q[64];
            for (int i = 0; i < 64; i++) {
                q[i] = malloc((size_t)256 << 10);
                memset(q[i], 7, (size_t)256 << 10);
            }
            for (int i = 0; i < 64; i++)
                free(q[i]);
            void *r = calloc(1, (size_t)256 << 10);
            _exit(r && all_zero(r, (size_t)256 << 10) ? 0 : 3);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad += 1000;
    }
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    zt_va_held_stats_t st;
    zt_va_held_stats(&st);
    printf("%ld %zu %zu\n", bad, st.takes, st.evicted);
    return 0;
}

/* Runs this binary with `mode` under ios12-2gb, the ledger on or off;
 * returns its first output line in out. */
static bool run_child(const char *argv0, const char *mode, int held, char *out, size_t cap)
{
    int fd[2];
    if (pipe(fd) != 0) return false;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        setenv("ZONETRACE_DEVICE", "ios12-2gb", 1);
        setenv("ZONETRACE_STACKS", "off", 1);
        setenv("ZONETRACE_JETSAM", "off", 1);
        setenv("ZONETRACE_HELD_PAGES", held ? "1" : "0", 1);
        /* a 64 MiB limit makes the ledger's cap 16 MiB: the threads case
         * overflows it (jetsam is off) */
        if (strcmp(mode, "--threads") == 0) setenv("ZONETRACE_MEMORY_LIMIT", "64M", 1);
        execl("/proc/self/exe", argv0, mode, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s held=%d: status 0x%x", mode, held, st);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && n > 0;
}

static long long absll(long long v)
{
    return v < 0 ? -v : v;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--cycle") == 0) return child_cycle();
    if (argc > 1 && strcmp(argv[1], "--jetsam") == 0) return child_jetsam();
    if (argc > 1 && strcmp(argv[1], "--zero") == 0) return child_zero();
    if (argc > 1 && strcmp(argv[1], "--threads") == 0) return child_threads();

    CHECK_CASE("cycle: the footprint with the ledger equals the footprint without")
    {
        char a[256], b[256];
        if (!run_child(argv[0], "--cycle", 1, a, sizeof a) ||
            !run_child(argv[0], "--cycle", 0, b, sizeof b))
            continue;
        long long fa[4], fb[4];
        size_t ha = 0, hb = 0;
        CHECK(sscanf(a, "%lld %lld %lld %lld %zu", &fa[0], &fa[1], &fa[2], &fa[3], &ha) == 5,
              "held output: %s", a);
        CHECK(sscanf(b, "%lld %lld %lld %lld %zu", &fb[0], &fb[1], &fb[2], &fb[3], &hb) == 5,
              "plain output: %s", b);
        printf("footprint growth (KiB), held: %lld %lld %lld %lld; plain: %lld %lld %lld %lld; "
               "holds %zu / %zu\n",
               fa[0] >> 10, fa[1] >> 10, fa[2] >> 10, fa[3] >> 10, fb[0] >> 10, fb[1] >> 10,
               fb[2] >> 10, fb[3] >> 10, ha, hb);
        CHECK(ha > 400, "the ledger held only %zu ranges", ha);
        CHECK(hb == 0, "the disabled ledger held %zu ranges", hb);
        /* Tolerance: 512 KiB for what else moves in the process (statm is
         * per page; the two children's stacks, libc buffers), plus a page
         * per nano block for the refill stage (a restarted held block
         * counts its resident pages at once, the device faults them in). */
        long long tol[4] = {512 << 10, 512 << 10, (512 << 10) + (NANO_N / 2 / 256) * 4096,
                            512 << 10};
        const char *stage[4] = {"fill", "free", "refill", "free again"};
        for (int i = 0; i < 4; i++)
            CHECK(absll(fa[i] - fb[i]) <= tol[i],
                  "%s: footprint growth %lld KiB with the ledger, %lld KiB without", stage[i],
                  fa[i] >> 10, fb[i] >> 10);
        CHECK(fa[0] > (long long)LARGE_N * (long long)LARGE_SIZE, "fill grew only %lld KiB",
              fa[0] >> 10);
        CHECK(fa[1] < fa[0] / 4, "free left %lld of %lld KiB", fa[1] >> 10, fa[0] >> 10);
    }

    CHECK_CASE("jetsam: the limit is passed at the same step")
    {
        char a[64], b[64];
        if (!run_child(argv[0], "--jetsam", 1, a, sizeof a) ||
            !run_child(argv[0], "--jetsam", 0, b, sizeof b))
            continue;
        printf("limit passed at step: held %s", a);
        printf("                      plain %s", b);
        CHECK(strcmp(a, "none\n") != 0, "the held run never passed the limit");
        int sa = atoi(a), sb = atoi(b);
        CHECK(sa - sb <= 1 && sb - sa <= 1, "held passed the limit at step %d, plain at %d", sa,
              sb);
    }

    CHECK_CASE("zero: calloc of reused held large memory reads zeros")
    {
        char a[128];
        if (!run_child(argv[0], "--zero", 1, a, sizeof a)) continue;
        int bad = -1;
        size_t holds = 0, takes = 0;
        CHECK(sscanf(a, "%d %zu %zu", &bad, &holds, &takes) == 3, "output: %s", a);
        CHECK(bad == 0,
              "non-zero bytes (1: calloc after free, 2: calloc in a realloc's tail, "
              "4: realloc lost data): %d",
              bad);
        CHECK(holds > 0 && takes > 0, "the ledger was not used: %zu holds, %zu takes", holds,
              takes);
    }
    CHECK_CASE("threads: concurrent churn and fork with the ledger corrupt nothing")
    {
        char a[64];
        if (!run_child(argv[0], "--threads", 1, a, sizeof a)) continue;
        long bad = -1;
        size_t takes = 0, evicted = 0;
        CHECK(sscanf(a, "%ld %zu %zu", &bad, &takes, &evicted) == 3, "output: %s", a);
        printf("threads: %zu takes, %zu evictions\n", takes, evicted);
        CHECK(bad == 0, "corrupted blocks (1000 per failed fork child): %ld", bad);
        CHECK(takes > 0 && evicted > 0, "the ledger was not exercised: %zu takes, %zu evictions",
              takes, evicted);
    }
    return CHECK_DONE("test_held_pages");
}
