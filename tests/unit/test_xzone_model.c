/* ----------------------------------------------------------------------------
 * test_xzone_model.c — the xzone model (zone/xzone.c) against
 * libmalloc-792.41.1 src/xzone_malloc/:
 * - the bin function at every size 0..32 KiB against the source's formula
 *   (_xzm_bin, xzone_malloc.c:24-40, written out again here), and good_size
 *   at every size 0..2 MiB + 1 (xzm_good_size, xzone_malloc.c:5334-5345);
 * - geometry: 4 MiB segments 4 MiB-aligned, 16 KiB tiny chunks (1024 blocks
 *   of 16 B), 64 KiB small chunks (12 blocks of 5120 B), large chunks of
 *   whole slices inside a segment, the early arena's budget (xzone_malloc.c:
 *   6318-6331);
 * - the huge path: > 2 MiB or alignment > 1 MiB is a segment of its own,
 *   4 MiB-aligned or more (xzone_malloc.c:298-353);
 * - lifetimes: an empty DATA segment is unmapped and its address space
 *   returns (xzone_segment.c:3074-3090); a POINTER segment never is, and its
 *   empty chunks serve only their own xzone (xzone_malloc.c:1743-1754,
 *   6334-6346);
 * - exhaustion: NULL with ENOMEM when no segment can be mapped.
 * The zones are created directly (no malloc override) over an iPhone 12 on
 * iOS 26 address space.
 * -------------------------------------------------------------------------- */
#include "xzone.h"
#include "zone.h"
#include "va.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

#include "../check.h"

/* The source's bin formula, as written at xzone_malloc.c:24-40. */
static unsigned source_bin(size_t size)
{
    if (size == 0) return 0;
    if (size <= 128) return (unsigned)((size + 15) / 16) - 1;
    size--;
    int msb = 63 - __builtin_clzl(size);
    return (unsigned)(((msb << 2) + (int)((size >> (msb - 2)) & 0x3)) - 20);
}

static void init_device(const char *name, uint64_t limit)
{
    const zt_profile_t *p = zt_profile_find(name);
    REQUIRE(p != NULL, "no profile %s", name);
    zt_active_profile = *p;
    zt_va_reset_for_test();
    REQUIRE(zt_va_init(p, limit), "zt_va_init(%s) failed", name);
}

static malloc_zone_t *new_zone(const char *buckets)
{
    zt_options.xzone_buckets = buckets;
    malloc_zone_t *z = zt_xzone_create("test");
    REQUIRE(z != NULL, "zt_xzone_create failed");
    return z;
}

static size_t va_used(void)
{
    zt_va_stats_t s;
    zt_va_get_stats(&s);
    return s.used_bytes;
}

int main(void)
{
    init_device("iphone12-ios26", 0);
    /* The first zone of the process owns the early arena. */
    malloc_zone_t *main_zone = new_zone("site");

    CHECK_CASE("bin function at every size 0..32 KiB, good_size to 2 MiB + 1")
    {
        for (size_t n = 0; n <= ZT_XZ_SMALL_MAX_BYTES; n++) {
            unsigned b = zt_xzone_bin(n);
            CHECK(b == source_bin(n), "bin(%zu) = %u, source %u", n, b, source_bin(n));
            CHECK(b < ZT_XZ_BINS && zt_xzone_bin_bytes(b) >= n &&
                      (b == 0 || zt_xzone_bin_bytes(b - 1) < n),
                  "bin %u (%zu B) is not the smallest bin holding %zu B", b, zt_xzone_bin_bytes(b),
                  n);
        }
        CHECK(zt_xzone_bin(ZT_XZ_SMALL_MAX_BYTES) == ZT_XZ_BINS - 1, "32 KiB is not the last bin");
        for (size_t n = 0; n <= 2 * MiB + 1; n++) {
            size_t want = n <= ZT_XZ_SMALL_MAX_BYTES ? zt_xzone_bin_bytes(source_bin(n))
                                                     : (n + 16 * KiB - 1) & ~(16 * KiB - 1);
            size_t got = main_zone->introspect->good_size(main_zone, n);
            CHECK(got == want, "good_size(%zu) = %zu, want %zu", n, got, want);
        }
    }

    CHECK_CASE("the early arena serves each bin's budget first")
    {
        /* 16 B: 2048 / 16 = 128 blocks from the arena (xzone_malloc.c:6322). */
        void *p[129];
        uintptr_t seg0 = 0, seg;
        for (int i = 0; i < 129; i++) {
            p[i] = main_zone->malloc(main_zone, 16);
            REQUIRE(p[i] != NULL, "malloc(16) #%d failed", i);
        }
        CHECK(zt_xzone_group_of(main_zone, p[0], &seg0) == ZT_XZ_GROUP_DATA,
              "the first 16 B block is not in the (data) early arena");
        CHECK(zt_xzone_group_of(main_zone, p[127], &seg) == ZT_XZ_GROUP_DATA && seg == seg0,
              "block 128 is not in the early arena");
        CHECK(zt_xzone_group_of(main_zone, p[128], &seg) == ZT_XZ_GROUP_POINTER,
              "block 129 is not in a pointer segment (the budget is 128)");
        zt_xzone_stats_t st;
        zt_xzone_get_stats(main_zone, &st);
        CHECK(st.early_bytes == 128 * 16, "early arena used %zu bytes, want 2048", st.early_bytes);
        for (int i = 0; i < 129; i++)
            main_zone->free(main_zone, p[i]);
    }

    malloc_zone_t *z = new_zone("site"); /* no early arena: geometry is plain */

    CHECK_CASE("segment and chunk geometry")
    {
        static void *blk[1025];
        for (int i = 0; i < 1025; i++)
            blk[i] = z->malloc(z, 16);
        uintptr_t seg;
        CHECK(zt_xzone_group_of(z, blk[0], &seg) == ZT_XZ_GROUP_POINTER,
              "an untyped 16 B block is not in a pointer segment");
        CHECK(seg % ZT_XZ_SEGMENT_BYTES == 0, "segment %#lx is not 4 MiB-aligned",
              (unsigned long)seg);
        uintptr_t c0 = (uintptr_t)blk[0];
        CHECK(c0 % (16 * KiB) == 0, "the first block does not start its 16 KiB chunk");
        CHECK((uintptr_t)blk[1023] == c0 + 1023 * 16, "1024 blocks of 16 B fill one tiny chunk");
        CHECK((uintptr_t)blk[1024] == c0 + 16 * KiB,
              "block 1025 is at %p, not at the next slice %#lx", blk[1024],
              (unsigned long)(c0 + 16 * KiB));
        for (int i = 0; i < 1025; i++)
            z->free(z, blk[i]);

        /* small: 5120 B blocks, 12 per 64 KiB chunk */
        void *s[13];
        for (int i = 0; i < 13; i++)
            s[i] = z->malloc(z, 5000);
        CHECK(z->size(z, s[0]) == 5120, "malloc(5000) got %zu B, want 5120", z->size(z, s[0]));
        CHECK((uintptr_t)s[0] % (16 * KiB) == 0 && (uintptr_t)s[11] == (uintptr_t)s[0] + 11 * 5120,
              "12 blocks of 5120 B do not share one chunk");
        CHECK((uintptr_t)s[12] >= (uintptr_t)s[0] + 64 * KiB || (uintptr_t)s[12] < (uintptr_t)s[0],
              "block 13 is inside the first 64 KiB chunk");
        for (int i = 0; i < 13; i++)
            z->free(z, s[i]);

        /* large: 40 KiB -> 3 slices, in a pointer-large segment */
        void *l = z->malloc(z, 40 * KiB);
        CHECK(z->size(z, l) == 48 * KiB, "malloc(40 KiB) got %zu B, want 48 KiB", z->size(z, l));
        CHECK((uintptr_t)l % (16 * KiB) == 0, "a large chunk does not start on a slice");
        CHECK(zt_xzone_group_of(z, l, &seg) == ZT_XZ_GROUP_POINTER_LARGE,
              "an untyped large block is not in the pointer-large group");
        void *la = z->memalign(z, MiB, 40 * KiB);
        CHECK(la && (uintptr_t)la % MiB == 0 &&
                  zt_xzone_group_of(z, la, NULL) == ZT_XZ_GROUP_POINTER_LARGE,
              "memalign(1 MiB, 40 KiB) is %p: not a 1 MiB-aligned large chunk", la);
        z->free(z, l);
        z->free(z, la);
    }

    CHECK_CASE("huge: > 2 MiB or alignment > 1 MiB is its own 4 MiB-aligned segment")
    {
        zt_xzone_stats_t a, b;
        zt_xzone_get_stats(z, &a);
        void *h = z->malloc(z, 2 * MiB + 1);
        uintptr_t seg;
        CHECK(h && (uintptr_t)h % (4 * MiB) == 0, "huge block %p is not 4 MiB-aligned", h);
        CHECK(z->size(z, h) == 2 * MiB + 16 * KiB, "huge size %zu, want 2 MiB + 16 KiB",
              z->size(z, h));
        CHECK(zt_xzone_group_of(z, h, &seg) == ZT_XZ_GROUP_DATA && seg == (uintptr_t)h,
              "a huge chunk is not a data segment of its own");
        void *h2 = z->memalign(z, 2 * MiB, 100);
        CHECK(h2 && (uintptr_t)h2 % (4 * MiB) == 0 && z->size(z, h2) == 16 * KiB,
              "memalign(2 MiB, 100) = %p (%zu B): want a 4 MiB-aligned 16 KiB huge chunk", h2,
              h2 ? z->size(z, h2) : 0);
        void *h3 = z->memalign(z, 8 * MiB, 100);
        CHECK(h3 && (uintptr_t)h3 % (8 * MiB) == 0, "memalign(8 MiB) = %p, not 8 MiB-aligned", h3);
        zt_xzone_get_stats(z, &b);
        CHECK(b.huge_segments == a.huge_segments + 3, "%u huge segments, want %u", b.huge_segments,
              a.huge_segments + 3);
        size_t before = va_used();
        z->free(z, h);
        z->free(z, h2);
        z->free(z, h3);
        CHECK(va_used() == before - (2 * MiB + 16 * KiB) - 2 * 16 * KiB,
              "freeing huge chunks did not return their address space (%zu -> %zu)", before,
              va_used());
    }

    CHECK_CASE("a freed data segment's address space returns")
    {
        malloc_zone_t *d = new_zone("data");
        size_t base = va_used();
        static void *p[3000];
        for (int i = 0; i < 3000; i++) /* 4 blocks per 16 KiB chunk: about 3 segments */
            p[i] = d->malloc(d, 4096);
        zt_xzone_stats_t s;
        zt_xzone_get_stats(d, &s);
        CHECK(s.segments[ZT_XZ_GROUP_DATA] == 3 && s.segments[ZT_XZ_GROUP_POINTER] == 0,
              "%u data / %u pointer segments, want 3 / 0", s.segments[ZT_XZ_GROUP_DATA],
              s.segments[ZT_XZ_GROUP_POINTER]);
        CHECK(va_used() == base + 3 * ZT_XZ_SEGMENT_BYTES, "address space grew by %zu, want 12 MiB",
              va_used() - base);
        for (int i = 0; i < 3000; i++)
            d->free(d, p[i]);
        zt_xzone_get_stats(d, &s);
        /* the xzone keeps its last chunk, so one segment stays */
        CHECK(s.segments[ZT_XZ_GROUP_DATA] == 1, "%u data segments after freeing all, want 1",
              s.segments[ZT_XZ_GROUP_DATA]);
        CHECK(va_used() == base + ZT_XZ_SEGMENT_BYTES,
              "address space %zu above the start, want 4 MiB", va_used() - base);
        void *big[4];
        for (int i = 0; i < 4; i++) /* large data chunks: 2 per segment */
            big[i] = d->malloc(d, 2 * MiB);
        size_t full = va_used();
        for (int i = 0; i < 4; i++)
            d->free(d, big[i]);
        CHECK(va_used() < full && va_used() <= base + ZT_XZ_SEGMENT_BYTES,
              "large data chunks freed: address space %zu above the start", va_used() - base);
        d->destroy(d);
        CHECK(va_used() == base, "destroy left %zu bytes mapped", va_used() - base);
    }

    CHECK_CASE("a pointer segment's address space never returns")
    {
        malloc_zone_t *q = new_zone("site");
        size_t base = va_used();
        static void *p[3000];
        for (int i = 0; i < 3000; i++)
            p[i] = q->malloc(q, 4096);
        size_t full = va_used();
        CHECK(full == base + 3 * ZT_XZ_SEGMENT_BYTES, "grew by %zu, want 12 MiB", full - base);
        for (int i = 0; i < 3000; i++)
            q->free(q, p[i]);
        zt_xzone_stats_t s;
        zt_xzone_get_stats(q, &s);
        CHECK(va_used() == full, "freeing every pointer block returned address space (%zu -> %zu)",
              full, va_used());
        CHECK(s.segments[ZT_XZ_GROUP_POINTER] == 3 && s.live_bytes[ZT_XZ_GROUP_POINTER] == 0,
              "%u pointer segments holding %zu B, want 3 holding 0", s.segments[1],
              s.live_bytes[1]);
        CHECK(s.sequestered_chunks == 749, "%u sequestered chunks, want 749 (750 - the kept one)",
              s.sequestered_chunks);
        /* another xzone (2048 B blocks) cannot use the sequestered chunks */
        static void *r[1500];
        for (int i = 0; i < 1500; i++) /* 8 per chunk: 188 chunks */
            r[i] = q->malloc(q, 2048);
        CHECK(va_used() == full + ZT_XZ_SEGMENT_BYTES,
              "another xzone grew the heap by %zu, want one new segment", va_used() - full);
        for (int i = 0; i < 1500; i++)
            q->free(q, r[i]);
        /* the same xzone reuses its own */
        size_t now = va_used();
        for (int i = 0; i < 3000; i++)
            p[i] = q->malloc(q, 4096);
        CHECK(va_used() == now, "the same xzone mapped %zu more instead of reusing its chunks",
              va_used() - now);
        for (int i = 0; i < 3000; i++)
            q->free(q, p[i]);
    }

    CHECK_CASE("no room: NULL with ENOMEM")
    {
        init_device("iphone12-ios26", 64 * MiB); /* 16 segments of room */
        malloc_zone_t *e = new_zone("site");
        size_t n = 0;
        void *last;
        errno = 0;
        while ((last = e->malloc(e, 32 * KiB)) != NULL && n < 100000)
            n++;
        CHECK(last == NULL && errno == ENOMEM, "allocation ended with %p, errno %d", last, errno);
        /* 32 KiB blocks: 2 per 64 KiB chunk, 128 per segment, 16 segments */
        CHECK(n == 16 * 128, "%zu blocks of 32 KiB before NULL, want %d", n, 16 * 128);
    }
    return CHECK_DONE("test_xzone_model");
}
