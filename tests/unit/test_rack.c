/* ----------------------------------------------------------------------------
 * test_rack.c — tiny, small and medium racks (zone/rack.c): every class
 * allocates with the right size and alignment, calloc zeroes, reuse, the
 * last-free cache, coalescing, invalid and double frees reported without
 * corrupting anything, size() of arbitrary pointers, aligned allocation,
 * realloc in place, walk and statistics, pressure relief, fork locks,
 * cross-thread frees, recirculation through the depot and unmapping of empty
 * regions.
 * -------------------------------------------------------------------------- */
#include "rack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "va.h"

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

#include "../capture.h"
#include "../check.h"
#include "../pin.h"

static bool slow_env(void)
{
    return getenv("ZT_UNDER_VALGRIND") || getenv("ZT_UNDER_ASAN");
}

static const enum zt_kind kinds[3] = {ZT_KIND_TINY, ZT_KIND_SMALL, ZT_KIND_MEDIUM};

static unsigned first_class(enum zt_kind k)
{
    return k == ZT_KIND_TINY    ? ZT_CLASS_TINY_FIRST
           : k == ZT_KIND_SMALL ? ZT_CLASS_SMALL_FIRST
                                : ZT_CLASS_MEDIUM_FIRST;
}

static unsigned last_class(enum zt_kind k)
{
    if (k == ZT_KIND_TINY) return ZT_CLASS_TINY_FIRST + ZT_TINY_MSIZE_MAX - 1;
    if (k == ZT_KIND_SMALL)
        return ZT_CLASS_SMALL_FIRST + (unsigned)(zt_active_profile.small_limit_bytes >> 9) - 1;
    return ZT_CLASS_MEDIUM_FIRST + ZT_MEDIUM_MSIZE_MAX - 1;
}

static size_t quantum(enum zt_kind k)
{
    return k == ZT_KIND_TINY ? 16 : k == ZT_KIND_SMALL ? 512 : 32 * KiB;
}

static size_t region_bytes(enum zt_kind k)
{
    return k == ZT_KIND_TINY    ? ZT_TINY_REGION_BYTES
           : k == ZT_KIND_SMALL ? ZT_SMALL_REGION_BYTES
                                : ZT_MEDIUM_REGION_BYTES;
}

/* ---- walk helpers --------------------------------------------------------- */

typedef struct walk_sum {
    unsigned regions, blocks, admin;
    size_t region_used, block_bytes;
    void *find;
    bool found;
    size_t found_bytes;
} walk_sum_t;

static void w_region(void *ctx, malloc_zone_t *z, enum zt_kind k, uintptr_t base, size_t bytes,
                     size_t used)
{
    walk_sum_t *s = ctx;
    s->regions++;
    s->region_used += used;
}

static void w_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    walk_sum_t *s = ctx;
    s->blocks++;
    s->block_bytes += bytes;
    if ((void *)addr == s->find) {
        s->found = true;
        s->found_bytes = bytes;
    }
    if (zt_class_block_bytes(cls) != bytes) s->found_bytes = (size_t)-1; /* flagged below */
}

static void w_admin(void *ctx, uintptr_t addr, size_t bytes)
{
    ((walk_sum_t *)ctx)->admin++;
}

static walk_sum_t walk(zt_rack_t *r, void *find)
{
    walk_sum_t s = {0};
    s.find = find;
    zt_walker_t w = {w_region, w_block, w_admin, &s};
    zt_rack_walk(r, &w);
    return s;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_every_class(void)
{
    for (int k = 0; k < 3; k++) {
        zt_rack_t *r = zt_rack_create(NULL, kinds[k], 1);
        CHECK(r != NULL, "create %s", zt_kind_name(kinds[k]));
        if (!r) continue;
        unsigned lo = first_class(kinds[k]), hi = last_class(kinds[k]);
        static void *ptrs[400];
        for (unsigned c = lo; c <= hi; c++) {
            size_t bytes = zt_class_block_bytes(c);
            void *p = zt_rack_malloc(r, c, false);
            ptrs[c] = p;
            CHECK(p != NULL, "%s", zt_class_name(c));
            if (!p) continue;
            CHECK(((uintptr_t)p & (quantum(kinds[k]) - 1)) == 0, "%s alignment %p",
                  zt_class_name(c), p);
            CHECK(zt_rack_size(r, p) == bytes, "%s size %zu", zt_class_name(c), zt_rack_size(r, p));
            CHECK(zt_chunkmap_get(p) == (zt_owner_t *)r, "%s chunk map", zt_class_name(c));
            /* dirty it (big medium blocks only at both ends: 1 GiB in all) */
            if (bytes <= 64 * KiB)
                memset(p, 0xA5, bytes);
            else {
                memset(p, 0xA5, 4096);
                memset((char *)p + bytes - 4096, 0xA5, 4096);
            }
            if (bytes > quantum(kinds[k]))
                CHECK(zt_rack_size(r, (char *)p + quantum(kinds[k])) == 0, "%s interior",
                      zt_class_name(c));
        }
        walk_sum_t s = walk(r, NULL);
        CHECK(s.blocks == hi - lo + 1, "%s walk blocks %u", zt_kind_name(kinds[k]), s.blocks);
        CHECK(s.found_bytes != (size_t)-1, "%s walk classes", zt_kind_name(kinds[k]));
        malloc_statistics_t st;
        zt_rack_statistics(r, &st);
        CHECK(st.blocks_in_use == hi - lo + 1, "%s stats blocks %u", zt_kind_name(kinds[k]),
              st.blocks_in_use);
        CHECK(st.size_in_use == s.block_bytes, "%s stats bytes %zu vs %zu", zt_kind_name(kinds[k]),
              st.size_in_use, s.block_bytes);
        CHECK(st.size_allocated == zt_rack_region_count(r) * region_bytes(kinds[k]),
              "size_allocated");
        CHECK(st.max_size_in_use >= st.size_in_use && st.max_size_in_use <= st.size_allocated,
              "max_size_in_use %zu", st.max_size_in_use);
        CHECK(zt_rack_check(r), "check after allocating");
        for (unsigned c = lo; c <= hi; c++) {
            if (!ptrs[c]) continue;
            zt_rack_free(r, ptrs[c]);
            CHECK(zt_rack_size(r, ptrs[c]) == 0, "%s size after free", zt_class_name(c));
        }
        zt_rack_statistics(r, &st);
        CHECK(st.blocks_in_use == 0 && st.size_in_use == 0, "stats after free: %u %zu",
              st.blocks_in_use, st.size_in_use);
        CHECK(zt_rack_check(r), "check after freeing");
        /* calloc on dirty memory */
        for (unsigned c = lo; c <= hi; c += (hi - lo) / 7 + 1) {
            unsigned char *p = zt_rack_malloc(r, c, true);
            size_t bytes = zt_class_block_bytes(c);
            bool zero = true;
            for (size_t i = 0; p && i < bytes; i += i < 8192 || i > bytes - 8192 ? 1 : 61)
                zero &= p[i] == 0;
            CHECK(p && zero, "%s calloc not zeroed", zt_class_name(c));
            if (p) zt_rack_free(r, p);
        }
        CHECK(zt_rack_check(r), "check after calloc");
        zt_rack_destroy(r);
    }
}

static void test_reuse_and_coalesce(void)
{
    zt_rack_t *r = zt_rack_create(NULL, ZT_KIND_TINY, 1);
    unsigned c20 = ZT_CLASS_TINY_FIRST + 19; /* 320 B, not cached (>= 16 quanta) */
    /* Small blocks are cached: the next malloc of that msize gets it back. */
    void *s = zt_rack_malloc(r, ZT_CLASS_TINY_FIRST + 1, false);
    zt_rack_free(r, s);
    CHECK(zt_rack_malloc(r, ZT_CLASS_TINY_FIRST + 1, false) == s, "last-free cache");
    void *a = zt_rack_malloc(r, c20, false);
    void *b = zt_rack_malloc(r, c20, false);
    void *c = zt_rack_malloc(r, c20, false);
    void *guard = zt_rack_malloc(r, c20, false);
    CHECK((char *)b == (char *)a + 320 && (char *)c == (char *)b + 320, "bump order %p %p %p", a, b,
          c);
    zt_rack_free(r, a);
    zt_rack_free(r, c);
    CHECK(zt_rack_check(r), "check after a, c");
    zt_rack_free(r, b); /* merges a+b+c into one 60-quantum block */
    CHECK(zt_rack_check(r), "check after coalescing");
    void *big = zt_rack_malloc(r, ZT_CLASS_TINY_FIRST + 59, false);
    CHECK(big == a, "coalesced block reused: %p vs %p", big, a);
    zt_rack_free(r, big);
    /* A free block is split for a smaller request. */
    void *x = zt_rack_malloc(r, c20, false);
    CHECK(x == a, "split from the coalesced block: %p vs %p", x, a);
    CHECK(zt_rack_check(r), "check after split");
    zt_rack_free(r, x);
    zt_rack_free(r, guard);
    zt_rack_free(r, s);
    CHECK(zt_rack_check(r), "check at end");
    zt_rack_destroy(r);

    /* Small and medium coalesce through their uint16 metadata. */
    for (int k = 1; k < 3; k++) {
        r = zt_rack_create(NULL, kinds[k], 1);
        unsigned cls = first_class(kinds[k]) + 3; /* 4 quanta */
        void *p[6];
        for (int i = 0; i < 6; i++)
            p[i] = zt_rack_malloc(r, cls, false);
        for (int i = 1; i < 5; i++)
            zt_rack_free(r, p[i]); /* the last one sits in the cache */
        zt_rack_free(r, p[0]);     /* flushes p[4] */
        CHECK(zt_rack_check(r), "%s check", zt_kind_name(kinds[k]));
        void *q = zt_rack_malloc(r, first_class(kinds[k]) + 15, false);
        CHECK(q == p[1], "%s coalesced p1..p4 (16 quanta) reused: %p vs %p", zt_kind_name(kinds[k]),
              q, p[1]);
        zt_rack_free(r, q);
        zt_rack_free(r, p[5]);
        CHECK(zt_rack_check(r), "%s check at end", zt_kind_name(kinds[k]));
        zt_rack_destroy(r);
    }
}

typedef struct bad_args {
    zt_rack_t *r;
    void *p;
} bad_args_t;

static void do_free(void *arg)
{
    bad_args_t *b = arg;
    zt_rack_free(b->r, b->p);
}

static void test_bad_frees(void)
{
    zt_options.on_error = "report";
    /* Two magazines, picked by CPU: a move between CPUs would put p, sep,
     * q and live in different regions and last-free slots (it failed so,
     * once in a while, under valgrind on a loaded machine). */
    cpu_set_t was;
    bool pinned = sched_getaffinity(0, sizeof was, &was) == 0 && pin_to_one_cpu();
    for (int k = 0; k < 3; k++) {
        zt_rack_t *r = zt_rack_create(NULL, kinds[k], 2);
        unsigned c = first_class(kinds[k]) + 2;
        char *p = zt_rack_malloc(r, c, false);
        char *sep = zt_rack_malloc(r, c, false); /* keeps p and q from merging */
        char *q = zt_rack_malloc(r, first_class(kinds[k]) + 20, false);
        bad_args_t b = {r, p};
        zt_rack_free(r, p);
        /* A zone's own free (malloc_zone_free) reports a double free in the allocator's
         * words: libmalloc-166.220.1 src/magazine_tiny.c:2068 "Double free of object %p",
         * src/magazine_small.c:2014 (792 magazine_medium.c:2529) "double free for ptr %p". */
        const char *twice =
            kinds[k] == ZT_KIND_TINY ? "Double free of object 0x" : "double free for ptr 0x";
        zt_error_zone_call = 1;
        const char *out = capture_stderr(do_free, &b);
        CHECK(strstr(out, twice) != NULL, "%s double free (cached): \"%s\"", zt_kind_name(kinds[k]),
              out);
        zt_rack_free(r, q); /* pushes p out of the cache */
        zt_rack_free(r, zt_rack_malloc(r, first_class(kinds[k]) + 4, false));
        b.p = q;
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, twice) != NULL, "%s double free: \"%s\"", zt_kind_name(kinds[k]), out);
        zt_error_zone_call = 0;
        /* Through free() (flag clear) a double free reads as libmalloc's free() says it:
         * libmalloc-166.220.1 src/malloc.c:1739-1760. */
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, "malloc: *** error for object 0x") &&
                  strstr(out, ": pointer being freed was not allocated") &&
                  strstr(out, "*** set a breakpoint in malloc_error_break to debug"),
              "%s double free via free(): \"%s\"", zt_kind_name(kinds[k]), out);
        char *live = zt_rack_malloc(r, first_class(kinds[k]) + 2, false);
        b.p = live + quantum(kinds[k]);
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, "not allocated") != NULL, "%s interior pointer: \"%s\"",
              zt_kind_name(kinds[k]), out);
        b.p = live + 1;
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, "not allocated") != NULL, "%s misaligned: \"%s\"", zt_kind_name(kinds[k]),
              out);
        uintptr_t base = (uintptr_t)live & ~(uintptr_t)(region_bytes(kinds[k]) - 1);
        b.p = (void *)(base + region_bytes(kinds[k]) - 4096); /* metadata */
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, "not allocated") != NULL, "%s metadata: \"%s\"", zt_kind_name(kinds[k]),
              out);
        CHECK(zt_rack_size(r, b.p) == 0, "size of metadata");
        /* Never-allocated bump space. */
        b.p = (void *)(base + region_bytes(kinds[k]) / 2);
        out = capture_stderr(do_free, &b);
        CHECK(strstr(out, "not allocated") != NULL, "%s bump space: \"%s\"", zt_kind_name(kinds[k]),
              out);
        CHECK(zt_rack_check(r), "%s check after bad frees", zt_kind_name(kinds[k]));
        /* size() of each of the first 64 quantum starts never faults,
         * and is non-zero only for the live blocks (sep, live). */
        size_t q_bytes = quantum(kinds[k]), nonzero = 0;
        for (size_t off = 0; off < 64 * q_bytes; off += q_bytes)
            nonzero += zt_rack_size(r, (void *)(base + off)) != 0;
        CHECK(nonzero == 2, "%s size() nonzero for %zu starts", zt_kind_name(kinds[k]), nonzero);
        zt_rack_free(r, live);
        zt_rack_free(r, sep);
        malloc_statistics_t st;
        zt_rack_statistics(r, &st);
        CHECK(st.blocks_in_use == 0, "%s blocks after bad frees: %u", zt_kind_name(kinds[k]),
              st.blocks_in_use);
        zt_rack_destroy(r);
    }
    if (pinned) sched_setaffinity(0, sizeof was, &was);
}

static void test_aligned(void)
{
    for (int k = 0; k < 3; k++) {
        zt_rack_t *r = zt_rack_create(NULL, kinds[k], 1);
        size_t q = quantum(kinds[k]);
        size_t max = zt_class_block_bytes(last_class(kinds[k]));
        void *keep[64];
        int nkeep = 0;
        for (size_t align = q * 2; align <= max / 2 && nkeep < 60; align *= 2) {
            for (size_t bytes = 1; bytes + align <= max && nkeep < 60; bytes = bytes * 3 + q) {
                /* a 1-quantum block first so the span is not already aligned */
                void *pad = zt_rack_malloc(r, first_class(kinds[k]), false);
                void *p = zt_rack_malloc_aligned(r, bytes, align, true);
                CHECK(p != NULL, "%s aligned %zu/%zu", zt_kind_name(kinds[k]), bytes, align);
                if (!p) continue;
                CHECK(((uintptr_t)p & (align - 1)) == 0, "%s alignment %p/%zu",
                      zt_kind_name(kinds[k]), p, align);
                size_t sz = zt_rack_size(r, p);
                CHECK(sz >= bytes && sz < bytes + q, "%s aligned size %zu for %zu",
                      zt_kind_name(kinds[k]), sz, bytes);
                memset(p, 0x5A, bytes);
                keep[nkeep++] = p;
                zt_rack_free(r, pad);
            }
        }
        CHECK(zt_rack_malloc_aligned(r, max, q * 2, false) == NULL, "%s too big for the rack",
              zt_kind_name(kinds[k]));
        CHECK(zt_rack_check(r), "%s check after aligned", zt_kind_name(kinds[k]));
        malloc_statistics_t st;
        zt_rack_statistics(r, &st);
        CHECK(st.blocks_in_use == (unsigned)nkeep, "%s blocks %u vs %d", zt_kind_name(kinds[k]),
              st.blocks_in_use, nkeep);
        for (int i = 0; i < nkeep; i++)
            zt_rack_free(r, keep[i]);
        CHECK(zt_rack_check(r), "%s check after freeing aligned", zt_kind_name(kinds[k]));
        zt_rack_destroy(r);
    }
}

static void test_realloc_in_place(void)
{
    for (int k = 0; k < 3; k++) {
        zt_rack_t *r = zt_rack_create(NULL, kinds[k], 1);
        size_t q = quantum(kinds[k]);
        unsigned f = first_class(kinds[k]);
        char *a = zt_rack_malloc(r, f + 7, false); /* 8 quanta */
        char *b = zt_rack_malloc(r, f + 7, false);
        char *c = zt_rack_malloc(r, f + 7, false);
        memset(a, 1, 8 * q);
        /* shrink a to 3 quanta: 5 quanta become free */
        CHECK(zt_rack_realloc_in_place(r, a, 3 * q), "%s shrink", zt_kind_name(kinds[k]));
        CHECK(zt_rack_size(r, a) == 3 * q, "%s size after shrink %zu", zt_kind_name(kinds[k]),
              zt_rack_size(r, a));
        CHECK(a[0] == 1 && a[3 * q - 1] == 1, "contents kept");
        CHECK(zt_rack_check(r), "%s check after shrink", zt_kind_name(kinds[k]));
        /* grow back into the freed quanta */
        CHECK(zt_rack_realloc_in_place(r, a, 7 * q + 1), "%s grow", zt_kind_name(kinds[k]));
        CHECK(zt_rack_size(r, a) == 8 * q, "%s size after grow %zu", zt_kind_name(kinds[k]),
              zt_rack_size(r, a));
        /* b is live right after: no room */
        CHECK(!zt_rack_realloc_in_place(r, a, 9 * q), "%s grow over a live block",
              zt_kind_name(kinds[k]));
        /* c is the last block before the bump space: it may grow into it */
        CHECK(zt_rack_realloc_in_place(r, c, 12 * q), "%s grow into bump space",
              zt_kind_name(kinds[k]));
        CHECK(zt_rack_size(r, c) == 12 * q, "size %zu", zt_rack_size(r, c));
        char *d = zt_rack_malloc(r, f, false);
        CHECK(d == c + 12 * q, "%s bump continues after the grown block: %p vs %p",
              zt_kind_name(kinds[k]), (void *)d, (void *)(c + 12 * q));
        /* free b, then a grows over it */
        zt_rack_free(r, b);
        zt_rack_free(r, zt_rack_malloc(r, f + 1, false)); /* flush b out of the cache */
        CHECK(zt_rack_realloc_in_place(r, a, 12 * q), "%s grow into freed neighbour",
              zt_kind_name(kinds[k]));
        CHECK(zt_rack_size(r, a) == 12 * q, "size %zu", zt_rack_size(r, a));
        CHECK(zt_rack_check(r), "%s check after grow", zt_kind_name(kinds[k]));
        CHECK(!zt_rack_realloc_in_place(r, a + q, 2 * q), "interior pointer refused");
        zt_rack_free(r, a);
        zt_rack_free(r, c);
        zt_rack_free(r, d);
        CHECK(zt_rack_check(r), "%s check at end", zt_kind_name(kinds[k]));
        zt_rack_destroy(r);
    }
}

/* Fill several regions, free everything: regions go through the depot and
 * are unmapped (2 magazines; a single magazine never recirculates). */
static void test_recirculation(void)
{
    for (int k = 0; k < 2; k++) {
        zt_rack_t *r = zt_rack_create(NULL, kinds[k], 2);
        unsigned cls = kinds[k] == ZT_KIND_TINY ? ZT_CLASS_TINY_FIRST + 31   /* 512 B */
                                                : ZT_CLASS_SMALL_FIRST + 15; /* 8 KiB */
        size_t bytes = zt_class_block_bytes(cls);
        size_t n = 10 * region_bytes(kinds[k]) / bytes;
        void **v = zt_prim_map(n * sizeof(void *));
        for (size_t i = 0; i < n; i++) {
            v[i] = zt_rack_malloc(r, cls, false);
            if (!v[i]) {
                CHECK(0, "malloc %zu failed", i);
                n = i;
                break;
            }
        }
        unsigned peak = zt_rack_region_count(r);
        CHECK(peak >= 10, "%s regions %u", zt_kind_name(kinds[k]), peak);
        /* free in a scattered order first (half), then the rest */
        for (size_t i = 0; i < n; i += 2)
            zt_rack_free(r, v[i]);
        CHECK(zt_rack_check(r), "%s check half-freed", zt_kind_name(kinds[k]));
        for (size_t i = 1; i < n; i += 2)
            zt_rack_free(r, v[i]);
        CHECK(zt_rack_check(r), "%s check all freed", zt_kind_name(kinds[k]));
        unsigned after = zt_rack_region_count(r);
        CHECK(after <= 4, "%s regions after freeing all: %u (peak %u)", zt_kind_name(kinds[k]),
              after, peak);
        /* the depot gives regions back to magazines */
        for (size_t i = 0; i < n; i++)
            v[i] = zt_rack_malloc(r, cls, false);
        CHECK(zt_rack_region_count(r) <= peak + 1, "%s regions on refill %u",
              zt_kind_name(kinds[k]), zt_rack_region_count(r));
        CHECK(zt_rack_check(r), "%s check refilled", zt_kind_name(kinds[k]));
        for (size_t i = 0; i < n; i++)
            if (v[i]) zt_rack_free(r, v[i]);
        CHECK(zt_rack_region_count(r) <= 4, "%s regions after second free: %u",
              zt_kind_name(kinds[k]), zt_rack_region_count(r));
        zt_prim_unmap(v, n * sizeof(void *));
        zt_rack_destroy(r);
    }
}

/* iOS bucketing (small to 15 KiB) and an exhausted address space: a full
 * tiny rack returns NULL with ENOMEM (never another kind), and works again
 * once blocks are freed. */
static void test_ios_and_exhaustion(void)
{
    zt_profile_t saved = zt_active_profile;
    zt_active_profile = *zt_profile_find("ios12-2gb");
    zt_va_reset_for_test();
    CHECK(zt_va_init(&zt_active_profile, 20 * MiB), "va init ios12-2gb with a 20 MiB limit");

    zt_rack_t *small = zt_rack_create(NULL, ZT_KIND_SMALL, 2);
    unsigned last = ZT_CLASS_SMALL_FIRST + 29; /* 15 KiB */
    void *p = zt_rack_malloc(small, last, false);
    CHECK(p && zt_rack_size(small, p) == 15 * KiB, "ios small 15 KiB");
    CHECK(p && zt_va_in_window(p), "small region inside the window");
    CHECK(zt_rack_malloc_aligned(small, 15 * KiB, 1024, false) == NULL,
          "15 KiB aligned to 1 KiB does not fit an iOS small block");
    zt_rack_free(small, p);
    CHECK(zt_rack_check(small), "ios small check");

    zt_rack_t *r = zt_rack_create(NULL, ZT_KIND_TINY, 2);
    static void *v[20000];
    size_t n = 0;
    errno = 0;
    for (; n < 20000; n++) {
        v[n] = zt_rack_malloc(r, ZT_CLASS_TINY_FIRST + 62, false); /* 1008 B */
        if (!v[n]) break;
    }
    /* 20 MiB - one 8 MiB small region = 12 tiny regions of 1 MiB */
    CHECK(n > 0 && n < 20000 && errno == ENOMEM, "exhaustion after %zu blocks, errno %d", n, errno);
    CHECK(zt_rack_region_count(r) >= 10 && zt_rack_region_count(r) <= 12, "tiny regions %u",
          zt_rack_region_count(r));
    CHECK(zt_rack_malloc(r, ZT_CLASS_TINY_FIRST, false) == NULL || zt_rack_region_count(r) <= 12,
          "still full");
    for (size_t i = 0; i < n; i += 2)
        zt_rack_free(r, v[i]);
    void *again = zt_rack_malloc(r, ZT_CLASS_TINY_FIRST + 62, false);
    CHECK(again != NULL, "allocates again after frees");
    if (again) zt_rack_free(r, again);
    for (size_t i = 1; i < n; i += 2)
        zt_rack_free(r, v[i]);
    CHECK(zt_rack_check(r), "check after exhaustion");
    zt_rack_destroy(r);
    zt_rack_destroy(small);
    zt_va_stats_t st;
    zt_va_get_stats(&st);
    CHECK(st.used_bytes == 0, "address space given back: %zu", st.used_bytes);

    zt_active_profile = saved;
    zt_va_reset_for_test();
    zt_va_init(&zt_active_profile, 0);
}

/* ---- threads ---------------------------------------------------------------- */

#define NTHREADS 4
#define SLOTS    1024

typedef struct shared {
    zt_rack_t *rack[3];
    void *_Atomic slots[SLOTS];
    int rounds;
} shared_t;

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void *worker(void *arg)
{
    shared_t *sh = arg;
    uint32_t seed = (uint32_t)(uintptr_t)pthread_self() | 1;
    for (int i = 0; i < sh->rounds; i++) {
        uint32_t x = rnd(&seed);
        int k = x % 8 == 0 ? 1 : (x % 64 == 1 ? 2 : 0);
        if (k == 2 && slow_env()) k = 1;
        unsigned cls = first_class(kinds[k]) + (x >> 8) % (k == 2 ? 4 : 20);
        size_t bytes = zt_class_block_bytes(cls);
        unsigned char *p = zt_rack_malloc(sh->rack[k], cls, false);
        if (!p) return (void *)1;
        p[0] = (unsigned char)k;
        p[bytes - 1] = (unsigned char)cls;
        /* swap into a random slot; free what was there (often another
         * thread's block, from another magazine) */
        void *old = __atomic_exchange_n(&sh->slots[(x >> 16) % SLOTS], p, __ATOMIC_ACQ_REL);
        if (old) {
            unsigned char *o = old;
            int ok = o[0];
            zt_owner_t *own = zt_chunkmap_get(o);
            if (!own || own != (zt_owner_t *)sh->rack[ok]) return (void *)2;
            size_t sz = zt_rack_size(sh->rack[ok], o);
            if (sz == 0 ||
                o[sz - 1] != (unsigned char)(first_class(kinds[ok]) - 1 + sz / quantum(kinds[ok])))
                return (void *)3;
            zt_rack_free(sh->rack[ok], o);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    static shared_t sh;
    memset(&sh, 0, sizeof sh);
    for (int k = 0; k < 3; k++)
        sh.rack[k] = zt_rack_create(NULL, kinds[k], 4);
    sh.rounds = slow_env() ? 20000 : 300000;
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, worker, &sh);
    for (int i = 0; i < NTHREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        CHECK(res == NULL, "worker %d failed with %ld", i, (long)(uintptr_t)res);
    }
    for (int k = 0; k < 3; k++)
        CHECK(zt_rack_check(sh.rack[k]), "%s check after threads", zt_kind_name(kinds[k]));
    size_t live = 0;
    for (int i = 0; i < SLOTS; i++) {
        unsigned char *o = sh.slots[i];
        if (o) {
            live++;
            zt_rack_free(sh.rack[o[0]], o);
        }
    }
    unsigned blocks = 0;
    for (int k = 0; k < 3; k++) {
        malloc_statistics_t st;
        zt_rack_statistics(sh.rack[k], &st);
        blocks += st.blocks_in_use;
        CHECK(zt_rack_check(sh.rack[k]), "%s check at end", zt_kind_name(kinds[k]));
        zt_rack_destroy(sh.rack[k]);
    }
    CHECK(blocks == 0, "blocks left %u (had %zu live)", blocks, live);
}

/* ---- walk, relief, fork locks, profiling ---------------------------------- */

static void test_walk_relief_locks(void)
{
    zt_rack_t *r = zt_rack_create(NULL, ZT_KIND_SMALL, 1);
    enum { N = 2000 };
    static void *v[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        unsigned cls = ZT_CLASS_SMALL_FIRST + (unsigned)(i % 30);
        v[i] = zt_rack_malloc(r, cls, false);
        memset(v[i], 7, zt_class_block_bytes(cls));
        total += zt_class_block_bytes(cls);
    }
    walk_sum_t s = walk(r, v[17]);
    CHECK(s.blocks == N && s.block_bytes == total, "walk %u blocks %zu bytes", s.blocks,
          s.block_bytes);
    CHECK(s.regions == zt_rack_region_count(r), "walk regions %u", s.regions);
    CHECK(s.region_used == total, "walk region used %zu", s.region_used);
    CHECK(s.found && s.found_bytes == zt_rack_size(r, v[17]), "walk found v[17]");
    CHECK(s.admin >= 1 + s.regions, "admin ranges %u", s.admin);
    for (int i = 0; i < N; i++)
        if (i % 100 != 0) zt_rack_free(r, v[i]);
    s = walk(r, NULL);
    CHECK(s.blocks == N / 100 - 1 || s.blocks == N / 100, "walk after free %u", s.blocks);
    size_t released = zt_rack_pressure_relief(r, 0);
    CHECK(released > 1 * MiB, "pressure relief released %zu", released);
    CHECK(zt_rack_pressure_relief(r, 0) == 0, "second relief releases nothing new");
    CHECK(zt_rack_check(r), "check after relief");
    /* purged memory is still usable */
    for (int i = 0; i < N; i++)
        if (i % 100 != 0) {
            v[i] = zt_rack_malloc(r, ZT_CLASS_SMALL_FIRST + 3, true);
            CHECK(v[i] && ((char *)v[i])[2047] == 0, "calloc after purge");
        }
    for (int i = 0; i < N; i++)
        zt_rack_free(r, v[i]);

    CHECK(!zt_rack_locked(r), "unlocked");
    zt_rack_force_lock(r);
    CHECK(zt_rack_locked(r), "locked");
    zt_rack_force_unlock(r);
    CHECK(!zt_rack_locked(r), "unlocked again");
    zt_rack_force_lock(r);
    zt_rack_reinit_lock(r);
    CHECK(!zt_rack_locked(r), "reinit");

    zt_profiling = 1;
    void *p = zt_rack_malloc(r, ZT_CLASS_SMALL_FIRST, false);
    CHECK(zt_rack_realloc_in_place(r, p, 4000), "realloc while profiling");
    zt_rack_free(r, p);
    zt_profiling = 0;
    CHECK(zt_rack_check(r), "check at end");
    zt_rack_print(r, false);
    zt_rack_destroy(r);
}

/* A long run's resident memory returns near its start once everything is
 * freed (regions unmapped, large free spans purged). */
static void test_rss_returns(void)
{
    uint64_t rss0, rss1, rss2, anon;
    if (slow_env()) {
        CHECK_SKIP("under valgrind or ASan: the resident set includes their shadow memory");
        return;
    }
    if (!zt_prim_footprint(&rss0, &anon)) {
        CHECK_SKIP("zt_prim_footprint cannot read the resident set here");
        return;
    }
    zt_rack_t *r[3];
    for (int k = 0; k < 3; k++)
        r[k] = zt_rack_create(NULL, kinds[k], 2);
    enum { N = 40000 };
    void **v = zt_prim_map(N * sizeof(void *));
    uint32_t seed = 12345;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            uint32_t x = rnd(&seed);
            int k = x % 16 == 0 ? 2 : x % 4 == 0 ? 1 : 0;
            unsigned cls = first_class(kinds[k]) + (x >> 8) % (k == 2 ? 8 : 30);
            v[i] = zt_rack_malloc(r[k], cls, false);
            memset(v[i], 1, zt_class_block_bytes(cls));
        }
        zt_prim_footprint(&rss1, &anon);
        for (int i = 0; i < N; i++) {
            zt_owner_t *o = zt_chunkmap_get(v[i]);
            zt_rack_free((zt_rack_t *)o, v[i]);
        }
    }
    zt_prim_footprint(&rss2, &anon);
    CHECK(rss1 > rss0 + 100 * MiB, "the workload should use memory: %llu -> %llu",
          (unsigned long long)rss0, (unsigned long long)rss1);
    CHECK(rss2 < rss0 + (rss1 - rss0) / 4,
          "RSS after freeing all: start %llu MiB, peak %llu MiB, "
          "end %llu MiB",
          (unsigned long long)(rss0 >> 20), (unsigned long long)(rss1 >> 20),
          (unsigned long long)(rss2 >> 20));
    zt_prim_unmap(v, N * sizeof(void *));
    for (int k = 0; k < 3; k++)
        zt_rack_destroy(r[k]);
}

/* tiny_mark_used writes a block's bitmap bits a word pair at a time: every
 * block length (1..63 quanta) at starts that fall on every bit of a word,
 * carved from the bump tail, then again from the free lists (split
 * remainders), with sizes, neighbours and the whole check after each pass. */
static void test_tiny_bitmap_offsets(void)
{
    zt_rack_t *r = zt_rack_create(NULL, ZT_KIND_TINY, 1);
    REQUIRE(r != NULL, "create tiny");
    enum { PER = 64, MAXM = ZT_TINY_MSIZE_MAX };
    static void *ptrs[MAXM + 1][PER];
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned m = 1; m <= MAXM; m++) {
            unsigned cls = ZT_CLASS_TINY_FIRST - 1 + m;
            for (unsigned i = 0; i < PER; i++) {
                void *p = ptrs[m][i] = zt_rack_malloc(r, cls, false);
                CHECK(p != NULL && zt_rack_size(r, p) == (size_t)m * 16,
                      "pass %d msize %u #%u: %p size %zu", pass, m, i, p,
                      p ? zt_rack_size(r, p) : 0);
                if (p) memset(p, 0x5A, (size_t)m * 16);
            }
        }
        CHECK(zt_rack_check(r), "check after allocating, pass %d", pass);
        for (unsigned m = 1; m <= MAXM; m++)
            for (unsigned i = 0; i < PER; i++) {
                void *p = ptrs[m][i];
                if (!p) continue;
                CHECK(zt_rack_size(r, p) == (size_t)m * 16, "pass %d msize %u #%u intact", pass, m,
                      i);
                if (m > 1)
                    CHECK(zt_rack_size(r, (char *)p + 16) == 0, "pass %d msize %u interior", pass,
                          m);
            }
        /* free in an order that mixes lengths and offsets (coalescing) */
        for (unsigned step = 0; step < 7; step++)
            for (unsigned m = 1; m <= MAXM; m++)
                for (unsigned i = step; i < PER; i += 7)
                    if (ptrs[m][i]) {
                        zt_rack_free(r, ptrs[m][i]);
                        ptrs[m][i] = NULL;
                    }
        CHECK(zt_rack_check(r), "check after freeing, pass %d", pass);
    }
    zt_rack_destroy(r);
}

int main(void)
{
    zt_active_profile = *zt_profile_find("native");
    zt_options.on_error = "report";
    REQUIRE(zt_chunkmap_init() && zt_va_init(&zt_active_profile, 0), "init failed");
    CHECK_CASE("every class")
    {
        test_every_class();
    }
    CHECK_CASE("tiny bitmap at every bit offset")
    {
        test_tiny_bitmap_offsets();
    }
    CHECK_CASE("reuse and coalescing")
    {
        test_reuse_and_coalesce();
    }
    CHECK_CASE("invalid and double frees")
    {
        test_bad_frees();
    }
    CHECK_CASE("aligned allocation")
    {
        test_aligned();
    }
    CHECK_CASE("realloc in place")
    {
        test_realloc_in_place();
    }
    CHECK_CASE("recirculation through the depot")
    {
        test_recirculation();
    }
    CHECK_CASE("ios12-2gb and exhaustion")
    {
        test_ios_and_exhaustion();
    }
    CHECK_CASE("walk, pressure relief, fork locks")
    {
        test_walk_relief_locks();
    }
    CHECK_CASE("threads")
    {
        test_threads();
    }
    CHECK_CASE("RSS returns after freeing")
    {
        test_rss_returns();
    }
    return CHECK_DONE("test_rack");
}
