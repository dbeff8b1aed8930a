/* ----------------------------------------------------------------------------
 * test_device_cpus.c — the CPU count and a thread's CPU come from the
 * emulated device, never from the host.
 *
 * libmalloc-166.220.1 makes one magazine per logical CPU of the device,
 * capped at 64 (src/malloc.c:843-870, src/magazine_malloc.c:1366-1367),
 * picks a thread's magazine by its CPU number (src/magazine_tiny.c:43-58)
 * and a nano current block by it (src/nanov2_malloc.c:568-580, 2387); on
 * iOS 12 that number is TPIDRRO_EL0 & 7 (xnu-4903.221.2
 * libsyscall/os/tsd.h:59-68), below the device's count. So the iPhone 6s
 * Plus (2 CPUs, profile.c) must map the same tiny and small regions for
 * the same workload whether the host has 2 CPUs or 32, and its nano blocks
 * stay within 2 per class; on the native profile (host-sized) a 32-CPU host
 * must make a difference, which shows the host injection works and the test
 * can fail.
 *
 * A host is this machine, with its threads pinned round-robin on its first
 * two CPUs, or one simulated with ZONETRACE_HOST_NCPU (zone/cpu.h: each
 * thread gets a pseudo CPU id round-robin over 0..N-1). Each run is a child
 * process (the profile and the option are read at initialisation) that
 * prints what it saw on one line.
 * -------------------------------------------------------------------------- */
#define _GNU_SOURCE
#include "cpu.h"
#include "nano.h"
#include "profile.h"
#include "va.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

#define THREADS      8
#define TINY_BLOCKS  1500 /* × 512 B per thread (tiny: 257 B .. 1008 B, above nano) */
#define SMALL_BLOCKS 24   /* × 6000 B per thread (small: 1009 B .. 15 KiB on iOS) */
#define NANO_SLOTS   20   /* × 32 B per thread: well inside one 16 KiB nano block */

/* ---- the child: one workload, one line of results ------------------------ */

static int pin_cpus[2] = {-1, -1}; /* the real host's first two CPUs, when pinning */
static void *nano_ptrs[THREADS][NANO_SLOTS];
static unsigned max_device_cpu;

static void pin(int i)
{
    if (pin_cpus[0] < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pin_cpus[i % 2], &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void note_cpu(void)
{
    unsigned c = zt_cpu_here();
    unsigned seen = __atomic_load_n(&max_device_cpu, __ATOMIC_RELAXED);
    while (c > seen && !__atomic_compare_exchange_n(&max_device_cpu, &seen, c, false,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Blocks are kept (never freed): regions only grow, so counts compare. */
static void work(void)
{
    note_cpu();
    for (int i = 0; i < TINY_BLOCKS; i++)
        REQUIRE(malloc(512) != NULL, "tiny malloc failed");
    for (int i = 0; i < SMALL_BLOCKS; i++)
        REQUIRE(malloc(6000) != NULL, "small malloc failed");
    note_cpu();
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    pin(i + 1); /* the main thread is 0: workers alternate from the other CPU */
    work();
    for (int k = 0; k < NANO_SLOTS; k++)
        nano_ptrs[i][k] = malloc(32);
    note_cpu();
    return NULL;
}

static int child(const char *mode)
{
    if (getenv("TEST_PIN")) {
        cpu_set_t set;
        REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0, "sched_getaffinity");
        for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; c++)
            if (CPU_ISSET(c, &set)) pin_cpus[n++] = c;
        pin(0);
    }
    zt_va_stats_t before, after;
    zt_va_get_stats(&before);
    if (strcmp(mode, "single") == 0) {
        work();
    } else {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0, "thread");
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    zt_va_get_stats(&after);
    /* Distinct 16 KiB nano blocks the threads' 32 B slots came from. */
    uintptr_t blocks[THREADS * NANO_SLOTS];
    unsigned nblocks = 0;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < NANO_SLOTS; k++) {
            void *p = nano_ptrs[i][k];
            if (!p || !zt_nano_contains(p)) continue;
            uintptr_t b = (uintptr_t)p >> 14;
            unsigned j = 0;
            while (j < nblocks && blocks[j] != b)
                j++;
            if (j == nblocks) blocks[nblocks++] = b;
        }
    printf("tiny=%zu small=%zu nano_blocks=%u max_cpu=%u ncpu=%u host=%u\n",
           (after.kind_bytes[ZT_KIND_TINY] - before.kind_bytes[ZT_KIND_TINY]) >> 20,
           (after.kind_bytes[ZT_KIND_SMALL] - before.kind_bytes[ZT_KIND_SMALL]) >> 23, nblocks,
           max_device_cpu, zt_cpu_count(), zt_cpu_host_count());
    return 0;
}

/* ---- the parent ---------------------------------------------------------- */

typedef struct seen {
    unsigned tiny, small, nano_blocks, max_cpu, ncpu, host;
} seen_t;

/* Runs the child with device, host ("real" = pinned on this machine, else a
 * simulated CPU count) and mode; false if it failed. */
static bool run(const char *device, const char *host, const char *mode, seen_t *s)
{
    int fd[2];
    REQUIRE(pipe(fd) == 0, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        setenv("ZONETRACE_DEVICE", device, 1);
        unsetenv("ZONETRACE_MAX_MAGAZINES");
        if (strcmp(host, "real") == 0) {
            unsetenv("ZONETRACE_HOST_NCPU");
            setenv("TEST_PIN", "1", 1);
        } else {
            setenv("ZONETRACE_HOST_NCPU", host, 1);
            unsetenv("TEST_PIN");
        }
        execl("/proc/self/exe", "test_device_cpus", "--child", mode, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char line[256] = "";
    FILE *f = fdopen(fd[0], "r");
    bool got = f && fgets(line, sizeof line, f);
    if (f) fclose(f);
    int st = 0;
    waitpid(pid, &st, 0);
    bool ok = got && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
              sscanf(line, "tiny=%u small=%u nano_blocks=%u max_cpu=%u ncpu=%u host=%u", &s->tiny,
                     &s->small, &s->nano_blocks, &s->max_cpu, &s->ncpu, &s->host) == 6;
    CHECK(ok, "%s on host %s (%s): child status 0x%x, said %s", device, host, mode, st, line);
    if (ok) fprintf(stderr, "  %-14s host %-4s %-6s: %s", device, host, mode, line);
    return ok;
}

static bool two_cpus_here(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    const char *dev = "iphone6s-plus"; /* 2 logical CPUs (profile.c) */
    bool real = two_cpus_here();

    CHECK_CASE("magazines: the device's 2 CPUs on a 2-CPU and a 32-CPU host")
    {
        seen_t a, b;
        if (run(dev, "2", "single", &a) && run(dev, "32", "single", &b)) {
            CHECK(a.ncpu == 2 && b.ncpu == 2, "device CPUs %u and %u, want 2", a.ncpu, b.ncpu);
            CHECK(b.host == 32, "the simulated host has %u CPUs, want 32", b.host);
        }
    }
    for (int threads = 0; threads < 2; threads++) {
        const char *mode = threads ? "threads8" : "single";
        CHECK_CASE(threads ? "8 threads: same regions on 2 and 32 host CPUs"
                           : "1 thread: same regions on 2 and 32 host CPUs")
        {
            seen_t s2, s32, sr;
            if (!run(dev, "2", mode, &s2) || !run(dev, "32", mode, &s32)) continue;
            CHECK(s2.tiny == s32.tiny && s2.small == s32.small,
                  "tiny/small regions %u/%u on 2 CPUs, %u/%u on 32", s2.tiny, s2.small, s32.tiny,
                  s32.small);
            CHECK(s32.max_cpu < 2, "a thread was charged to device CPU %u of 2", s32.max_cpu);
            CHECK(s2.tiny > 0 && s2.small > 0, "the workload mapped no region (%u/%u)", s2.tiny,
                  s2.small);
            if (!real) continue; /* this machine's own CPUs: only with two of them */
            if (!run(dev, "real", mode, &sr)) continue;
            CHECK(sr.tiny == s32.tiny && sr.small == s32.small,
                  "tiny/small regions %u/%u on this machine (pinned), %u/%u on 32 CPUs", sr.tiny,
                  sr.small, s32.tiny, s32.small);
        }
    }
    CHECK_CASE("native on a 32-CPU host differs: the injection works")
    {
        seen_t n2, n32;
        if (run("native", "2", "threads8", &n2) && run("native", "32", "threads8", &n32)) {
            CHECK(n32.ncpu == 32 && n2.ncpu == 2, "native CPUs %u and %u, want 32 and 2", n32.ncpu,
                  n2.ncpu);
            CHECK(n32.tiny > n2.tiny, "native: %u tiny regions on 32 CPUs, %u on 2: want more",
                  n32.tiny, n2.tiny);
            CHECK(n32.nano_blocks == THREADS, "native: 8 threads used %u nano blocks, want 8",
                  n32.nano_blocks);
        }
    }
    CHECK_CASE("nano current blocks stay below the device's CPUs")
    {
        /* libmalloc-166.220.1 src/nanov2_malloc.c:568-580: the block index
         * is the CPU number, so at most one block per device CPU is current;
         * 8 threads' first 32 B slots come from at most that many blocks. */
        static const struct {
            const char *device;
            unsigned cores;
        } devs[] = {{"iphone6s-plus", 2}, {"ipad-air2", 3}, {"iphone8", 6}};
        for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
            seen_t s;
            if (!run(devs[i].device, "32", "threads8", &s)) continue;
            CHECK(s.ncpu == devs[i].cores, "%s: %u CPUs, want %u", devs[i].device, s.ncpu,
                  devs[i].cores);
            CHECK(s.max_cpu < devs[i].cores, "%s: device CPU %u, want < %u", devs[i].device,
                  s.max_cpu, devs[i].cores);
            CHECK(s.nano_blocks >= 1 && s.nano_blocks <= devs[i].cores,
                  "%s: 8 threads used %u nano blocks of one class, want 1..%u", devs[i].device,
                  s.nano_blocks, devs[i].cores);
        }
    }
    return CHECK_DONE("test_device_cpus");
}
