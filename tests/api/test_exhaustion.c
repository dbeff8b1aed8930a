/* ----------------------------------------------------------------------------
 * test_exhaustion.c — address-space exhaustion and fragmentation through the
 * public malloc API, on an emulated device (ios12-1gb with a 64 MiB heap
 * window; the test re-executes itself with those variables set):
 *  1. tiny blocks fill the window until malloc returns NULL with ENOMEM;
 *     freeing a few then lets a different tiny size be carved from the freed
 *     space (as libmalloc would: no per-thread cache may pin them);
 *  2. fragmentation: 512 KiB large blocks tile the free space, every other
 *     one is freed — half the window is free, yet no 1 MiB-aligned 1 MiB hole
 *     exists, so a tiny request needing a new region returns NULL/ENOMEM
 *     while a 256 KiB large request still succeeds.
 * -------------------------------------------------------------------------- */
#include "../pin.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "va.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#include "../check.h"

static void *tiny[80000]; /* in .bss, not on the heap under test */
static void *large[200];

static void fill_and_reuse(void)
{
    size_t n = 0;
    errno = 0;
    while (n < sizeof tiny / sizeof tiny[0] && (tiny[n] = malloc(1008)) != NULL)
        n++;
    int e = errno;
    CHECK(n > 50000 && n < 80000, "%zu tiny blocks fit a 64 MiB window", n);
    CHECK(e == ENOMEM, "errno %d after the NULL", e);
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    CHECK(vs.limit_bytes == 64 * MiB, "limit %zu", vs.limit_bytes);
    CHECK(vs.largest_aligned_1m_bytes < MiB, "no 1 MiB-aligned hole left (%zu)",
          vs.largest_aligned_1m_bytes);

    for (size_t i = 1000; i < 1020; i++)
        free(tiny[i]);
    void *p = malloc(400);
    CHECK(p != NULL, "malloc(400) after freeing 20 x 1008 B: %s", strerror(errno));
    free(p);
    for (size_t i = 0; i < n; i++)
        if (i < 1000 || i >= 1020) free(tiny[i]);
}

static void fragmentation(void)
{
    /* Make the tiny regions that exist now full, so the next tiny request
     * needs a new region; keep them allocated. */
    size_t nt = 0;
    unsigned nl = 0;
    while (nl < sizeof large / sizeof large[0] && (large[nl] = malloc(512 * KiB)) != NULL)
        nl++;
    CHECK(nl > 60, "%u x 512 KiB large blocks tile the window", nl);
    while (nt < sizeof tiny / sizeof tiny[0] && (tiny[nt] = malloc(1008)) != NULL)
        nt++;
    for (unsigned i = 0; i < nl; i += 2)
        free(large[i]);

    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    size_t free_bytes = vs.limit_bytes - vs.used_bytes;
    CHECK(free_bytes > 16 * MiB, "plenty of free address space (%zu)", free_bytes);
    CHECK(vs.largest_free_bytes >= 512 * KiB && vs.largest_free_bytes < MiB, "largest hole %zu",
          vs.largest_free_bytes);
    CHECK(vs.largest_aligned_1m_bytes < MiB, "largest 1 MiB-aligned hole %zu",
          vs.largest_aligned_1m_bytes);

    errno = 0;
    void *t = malloc(1008);
    CHECK(t == NULL && errno == ENOMEM,
          "a tiny request needing a new 1 MiB region fails (%p, errno %d)", t, errno);
    void *l = malloc(256 * KiB);
    CHECK(l != NULL, "a 256 KiB large request that fits a hole succeeds");
    memset(l, 1, 256 * KiB);
    free(l);
    for (unsigned i = 1; i < nl; i += 2)
        free(large[i]);
    for (size_t i = 0; i < nt; i++)
        free(tiny[i]);
    t = malloc(1008);
    CHECK(t != NULL, "tiny works again once the space is free");
    free(t);
}

int main(int argc, char **argv)
{
    const char *dev = getenv("ZONETRACE_DEVICE");
    if (!dev || strcmp(dev, "ios12-1gb") != 0) {
        setenv("ZONETRACE_DEVICE", "ios12-1gb", 1);
        setenv("ZONETRACE_VA_LIMIT", "64M", 1);
        setenv("ZONETRACE_STACKS", "off", 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    /* One host CPU, so one of the iPhone 6's two magazines: a thread moving
     * between CPUs would look for case 1's freed space in the other magazine
     * (as on the device: libmalloc-166.220.1 src/magazine_tiny.c:43-57 picks
     * by CPU), which this test is not about. Two magazines stay, so emptied
     * regions still recirculate and unmap as case 2 needs. */
    if (!pin_to_one_cpu()) CHECK_SKIP("cannot pin to one CPU");
    CHECK_CASE("fill and reuse")
    {
        fill_and_reuse();
    }
    CHECK_CASE("fragmentation")
    {
        fragmentation();
    }
    return CHECK_DONE("test_exhaustion");
}
