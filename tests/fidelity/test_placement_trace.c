/* ----------------------------------------------------------------------------
 * test_placement_trace.c — a differential guard on device placement: one
 * fixed trace of mallocs, callocs, reallocs, memaligns and frees (nano,
 * tiny, small and large sizes, bursts of neighbouring frees for coalescing
 * and emptied regions), run on device profiles with a fixed region seed,
 * pinned to one CPU. Every returned block's device address
 * (zt_va_device_address, so independent of where the host mapped the
 * windows) and malloc_size, and at checkpoints the zones' statistics and the
 * address-space and held-pages counters (region reservation, nano's and the
 * large allocator's page releases), are folded into a hash per checkpoint,
 * which must equal the recorded one. At the end, bad frees (a double free of
 * a nano, a tiny (last-free cache and coalesced), a small and a large block,
 * interior pointers) must each be reported as before (ZONETRACE_ON_ERROR=
 * report, the message kinds hashed).
 *
 * What it guards: any change to which block or address a request gets, to
 * the regions mapped, to coalescing (block sizes and later placements follow
 * from it), to the held/purge calls counted by va.c, or to bad-free
 * detection. The behaviours themselves are libmalloc-166.220.1's as cited in
 * zone/rack/, zone/nano/ and zone/large.c (the recorded values were taken
 * from the implementation those files describe, on 2026-12-06, b503cd6).
 *
 * `test_placement_trace --record` prints the table below from a fresh run.
 * -------------------------------------------------------------------------- */
#include "../pin.h"

#include "va.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zonetrace/malloc_zone.h>

#include "../check.h"
#include "../rerun.h"

#define SLOTS       2048
#define STEPS       60000
#define CHECKPOINTS 12
#define EVERY       (STEPS / CHECKPOINTS)

typedef struct golden {
    const char *device;
    uint64_t h[CHECKPOINTS + 1]; /* the last: the bad frees' reports */
} golden_t;

/* Recorded with --record (see the header). */
static const golden_t golden[] = {
#include "placement_trace.golden"
};

/* iOS 12 with 16 KiB and with 4 KiB pages, and a later nano v2 libmalloc. */
static const char *const devices[] = {"ios12-2gb", "ios12-1gb", "iphone12-ios17.5"};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t h = 0xcbf29ce484222325ull;
static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
}

static size_t pick_size(void)
{
    uint64_t r = next() % 1000;
    if (r < 480) return 1 + next() % 256;            /* nano */
    if (r < 800) return 257 + next() % 752;          /* tiny */
    if (r < 960) return 1009 + next() % (15 * 1024); /* small */
    if (r < 995) return 16384 + next() % (112 * 1024);
    return 128 * 1024 + next() % (896 * 1024); /* large */
}

static void *slot[SLOTS];
static uintptr_t nano_base; /* the first nano region's base (host), 0 before */
static unsigned long outside;

/* A block outside the windows is nano's (its regions are mapped apart,
 * 512 MiB aligned): its offset from the first nano region, with bit 63 set. */
static uint64_t place(const void *p)
{
    uint64_t d = zt_va_device_address(p);
    if (d) return d;
    outside++;
    uintptr_t a = (uintptr_t)p;
    if (!nano_base) nano_base = a & ~(((uintptr_t)1 << 29) - 1);
    return (1ull << 63) | (uint64_t)(a - nano_base);
}

static void note(unsigned op, unsigned k, void *p)
{
    uint64_t d = p ? place(p) : 0;
    mix(op);
    mix(k);
    mix(d);
    mix(p ? malloc_size(p) : 0);
}

static void counters(void)
{
    malloc_statistics_t st;
    memset(&st, 0, sizeof st);
    malloc_zone_statistics(NULL, &st);
    mix(st.blocks_in_use);
    mix(st.size_in_use);
    mix(st.max_size_in_use);
    mix(st.size_allocated);
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    mix(vs.used_bytes);
    mix(vs.peak_used_bytes);
    for (int k = 0; k < ZT_KIND_COUNT; k++)
        mix(vs.kind_bytes[k]);
    mix(vs.largest_free_bytes);
    zt_va_held_stats_t hs;
    zt_va_held_stats(&hs);
    mix(hs.ranges);
    mix(hs.bytes);
    mix(hs.holds);
    mix(hs.takes);
    mix(hs.evicted);
}

static void step(void)
{
    unsigned k = (unsigned)(next() % SLOTS);
    uint64_t r = next() % 100;
    if (r < 3) { /* a burst of neighbouring frees */
        unsigned n = 8 + (unsigned)(next() % 120);
        for (unsigned i = 0; i < n && k + i < SLOTS; i++) {
            free(slot[k + i]);
            slot[k + i] = NULL;
        }
        mix(100 + n);
        return;
    }
    if (slot[k] && r < 45) {
        free(slot[k]);
        slot[k] = NULL;
        mix(1);
        return;
    }
    if (slot[k] && r < 60) {
        size_t old = malloc_size(slot[k]), n;
        uint64_t how = next() % 3;
        n = how == 0 ? pick_size() : how == 1 ? old + 1 + next() % 64 : 1 + old / 2;
        void *q = realloc(slot[k], n);
        if (q) slot[k] = q;
        note(2, k, q);
        return;
    }
    free(slot[k]);
    size_t n = pick_size();
    void *p;
    unsigned op;
    if (r < 66) {
        p = calloc(1, n);
        op = 3;
    } else if (r < 69) {
        size_t align = (size_t)32 << (next() % 8);
        if (posix_memalign(&p, align, n) != 0) p = NULL;
        op = 4;
    } else {
        p = malloc(n);
        op = 5;
    }
    slot[k] = p;
    note(op, k, p);
}

/* Through a volatile pointer: the compiler must not see (and warn about)
 * the deliberate misuse. */
static void (*volatile bad_free)(void *) = free;

/* The bad frees, with reports instead of aborts: each report's message
 * kind (double / not allocated / zone wording) in order. */
static uint64_t bad_frees(void)
{
    char path[] = "/tmp/zt_trace_errXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    void *nano = malloc(48), *tiny_lf = malloc(300), *tiny = malloc(700), *tiny2 = malloc(700);
    void *small = malloc(5000), *large = malloc(300 * 1024), *keep = malloc(700);
    bad_free(nano);
    bad_free(nano);    /* nano double free */
    bad_free(tiny_lf); /* 19 quanta: no last-free cache, coalesced at once */
    bad_free(tiny_lf);
    bad_free(tiny);
    bad_free(tiny2); /* evicts tiny from the last-free cache into the free lists */
    bad_free(tiny);
    bad_free(tiny2);
    bad_free((char *)keep + 16); /* interior */
    bad_free(small);
    bad_free(small);
    bad_free(large);
    bad_free(large);
    bad_free((char *)small + 512);
    void *n2 = malloc(100);
    bad_free((char *)n2 + 16); /* interior nano */
    bad_free(n2);
    bad_free(keep);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[16384];
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    if (got < 0) got = 0;
    buf[got] = 0;
    uint64_t e = 0xcbf29ce484222325ull;
    unsigned reports = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        static const char *const kinds[] = {"pointer being freed was not allocated",
                                            "Double free",
                                            "double free",
                                            "death-row",
                                            "not allocated",
                                            "being freed"};
        if (!strstr(line, "***")) continue;
        for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strstr(line, kinds[i])) {
                e = (e ^ (i + 1)) * 0x100000001b3ull;
                reports++;
                break;
            }
    }
    fprintf(stderr, "bad frees: %u reports\n", reports);
    return e ^ reports;
}

static int child(int record)
{
    const char *dev = getenv("ZONETRACE_DEVICE");
    REQUIRE(dev != NULL, "no ZONETRACE_DEVICE in the child");
    if (!pin_to_one_cpu()) {
        CHECK_SKIP("cannot pin to one CPU");
        return CHECK_DONE("test_placement_trace child");
    }
    uint64_t got[CHECKPOINTS + 1];
    for (unsigned c = 0; c < CHECKPOINTS; c++) {
        for (unsigned i = 0; i < EVERY; i++)
            step();
        counters();
        got[c] = h;
    }
    for (unsigned k = 0; k < SLOTS; k++)
        free(slot[k]);
    got[CHECKPOINTS] = bad_frees();
    if (record) {
        printf("    {\"%s\",\n     {", dev);
        for (unsigned c = 0; c <= CHECKPOINTS; c++)
            printf("0x%016" PRIx64 "ull%s", got[c],
                   c == CHECKPOINTS ? "}},\n" : (c % 3 == 2 ? ",\n      " : ", "));
        fflush(stdout);
        return 0;
    }
    /* Nano takes about half the requests on the nano profiles. */
    CHECK(outside > STEPS / 8, "%s: only %lu blocks outside the windows", dev, outside);
    const golden_t *g = NULL;
    for (unsigned i = 0; i < sizeof golden / sizeof golden[0]; i++)
        if (strcmp(golden[i].device, dev) == 0) g = &golden[i];
    REQUIRE(g != NULL, "%s: nothing recorded (run with --record)", dev);
    for (unsigned c = 0; c < CHECKPOINTS; c++)
        if (got[c] != g->h[c]) {
            CHECK(got[c] == g->h[c], "%s: placement differs by step %u (hash %#" PRIx64 ")", dev,
                  (c + 1) * EVERY, got[c]);
            break;
        }
    CHECK(got[CHECKPOINTS] == g->h[CHECKPOINTS], "%s: the bad frees' reports differ (%#" PRIx64 ")",
          dev, got[CHECKPOINTS]);
    return CHECK_DONE("test_placement_trace child");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child(getenv("ZT_TRACE_RECORD") != NULL);
    setenv("ZONETRACE_SEED", "6", 1);
    setenv("ZONETRACE_ON_ERROR", "report", 1);
    setenv("ZONETRACE_STACKS", "off", 1);
    if (argc > 1 && strcmp(argv[1], "--record") == 0) {
        setenv("ZT_TRACE_RECORD", "1", 1);
        for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++)
            rerun_under_device(argv[0], devices[i]);
        return 0;
    }
    for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        CHECK_CASE(devices[i])
        {
            rerun_under_device(argv[0], devices[i]);
        }
    }
    return CHECK_DONE("test_placement_trace");
}
