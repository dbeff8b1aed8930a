/* ----------------------------------------------------------------------------
 * test_large.c — large blocks (zone/large.c): page rounding, alignment,
 * zero fill, size() and free() of foreign pointers, table growth, walk and
 * statistics, and realloc in place (shrink gives the tail back, grow takes
 * the following free pages) in an emulated 16 KiB-page window.
 * -------------------------------------------------------------------------- */
#include "large.h"
#include "va.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

#include "../check.h"

static bool all_zero(const unsigned char *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i]) return false;
    return true;
}

struct walk {
    unsigned regions, blocks, order_errors;
    size_t region_bytes, block_bytes;
    uintptr_t last_region;
};

static void on_region(void *ctx, malloc_zone_t *zone, enum zt_kind kind, uintptr_t base,
                      size_t bytes, size_t used_bytes)
{
    struct walk *w = ctx;
    w->regions++;
    w->region_bytes += bytes;
    if (kind != ZT_KIND_LARGE || used_bytes != bytes) w->order_errors++;
    w->last_region = base;
}

static void on_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    struct walk *w = ctx;
    w->blocks++;
    w->block_bytes += bytes;
    if (addr != w->last_region || cls != ZT_CLASS_LARGE)
        w->order_errors++; /* a block follows its own region */
}

static void test_basic(void)
{
    size_t page = zt_prim_page_bytes();
    malloc_zone_t *zone = (malloc_zone_t *)&failures; /* only stored and passed back */
    zt_large_t *l = zt_large_create(zone);
    CHECK(l != NULL, "create");
    if (!l) return;

    unsigned char *a = zt_large_malloc(l, 1, 0, true);
    CHECK(a && ((uintptr_t)a & (page - 1)) == 0, "page aligned %p", (void *)a);
    CHECK(zt_large_size(l, a) == page, "size %zu", zt_large_size(l, a));
    CHECK(all_zero(a, page), "zero-filled");
    memset(a, 0xEE, page);

    unsigned char *b = zt_large_malloc(l, 100000, 0, true);
    CHECK(zt_large_size(l, b) == (100000 + page - 1) / page * page, "rounded size %zu",
          zt_large_size(l, b));
    unsigned char *c = zt_large_malloc(l, 3 * page, 2 * MiB, true);
    CHECK(c && ((uintptr_t)c & (2 * MiB - 1)) == 0, "2 MiB aligned %p", (void *)c);
    CHECK(zt_large_size(l, c) == 3 * page, "aligned size %zu", zt_large_size(l, c));
    unsigned char *z = zt_large_malloc(l, 0, 0, true);
    CHECK(z && zt_large_size(l, z) == page, "size 0 gets a page");

    /* Foreign pointers (incl. an interior page of c): size 0, free false, no fault. */
    int on_stack;
    void *libc = malloc(64);
    const void *foreign[] = {NULL,
                             &on_stack,
                             libc,
                             a + 16,
                             c + page,
                             (void *)4096,
                             (void *)(uintptr_t)0xdead0000,
                             (void *)UINTPTR_MAX};
    for (unsigned i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        CHECK(zt_large_size(l, foreign[i]) == 0, "size of foreign %p", foreign[i]);
        CHECK(!zt_large_free(l, (void *)foreign[i]), "free of foreign %p", foreign[i]);
    }
    free(libc);
    CHECK(a[0] == 0xEE, "foreign frees left the block alone");

    /* Statistics and walk. */
    malloc_statistics_t st;
    zt_large_statistics(l, &st);
    size_t total = zt_large_size(l, a) + zt_large_size(l, b) + zt_large_size(l, c) + page;
    CHECK(st.blocks_in_use == 4 && st.size_in_use == total && st.size_allocated == total,
          "stats %u %zu %zu", st.blocks_in_use, st.size_in_use, st.size_allocated);
    struct walk w = {0};
    zt_walker_t walker = {on_region, on_block, NULL, &w};
    zt_large_walk(l, &walker);
    CHECK(w.regions == 4 && w.blocks == 4 && w.block_bytes == total && !w.order_errors,
          "walk %u regions %u blocks %zu bytes %u errors", w.regions, w.blocks, w.block_bytes,
          w.order_errors);

    /* Free, double free. */
    CHECK(zt_large_free(l, a), "free a");
    CHECK(!zt_large_free(l, a), "double free is not ours");
    CHECK(zt_large_size(l, a) == 0, "size after free");
    CHECK(zt_large_size(l, b) != 0 && zt_large_size(l, c) != 0, "others live");

    /* Many blocks: the table doubles several times; deletions keep every
     * probe chain intact. */
    enum { N = 2000 };
    static void *many[N];
    for (int i = 0; i < N; i++) {
        many[i] = zt_large_malloc(l, (size_t)(i % 7 + 1) * page, 0, true);
        CHECK(many[i] != NULL, "block %d", i);
    }
    for (int i = 0; i < N; i += 2)
        CHECK(zt_large_free(l, many[i]), "free %d", i);
    for (int i = 0; i < N; i++) {
        size_t want = i % 2 ? (size_t)(i % 7 + 1) * page : 0;
        if (zt_large_size(l, many[i]) != want) {
            CHECK(0, "block %d size %zu want %zu", i, zt_large_size(l, many[i]), want);
            break;
        }
    }
    zt_large_statistics(l, &st);
    CHECK(st.blocks_in_use == 3 + N / 2, "blocks %u", st.blocks_in_use);
    for (int i = 1; i < N; i += 2)
        zt_large_free(l, many[i]);

    /* Shrink in place works everywhere; the tail is gone from the stats. */
    CHECK(zt_large_realloc_in_place(l, b, 2 * page), "shrink");
    CHECK(zt_large_size(l, b) == 2 * page, "shrunk size %zu", zt_large_size(l, b));
    CHECK(zt_large_realloc_in_place(l, b, 2 * page - 5), "same rounded size");
    CHECK(!zt_large_realloc_in_place(l, a, page), "realloc of a freed block");
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    CHECK(vs.kind_bytes[ZT_KIND_LARGE] == 2 * page + 3 * page + page, "va large %zu",
          vs.kind_bytes[ZT_KIND_LARGE]);

    zt_large_destroy(l);
    zt_va_get_stats(&vs);
    CHECK(vs.kind_bytes[ZT_KIND_LARGE] == 0, "destroy unmaps everything (%zu)",
          vs.kind_bytes[ZT_KIND_LARGE]);
}

static void test_in_place_window(void)
{
    /* 16 KiB pages, one 8 MiB window. */
    const zt_profile_t *p = zt_profile_find("ios12-2gb");
    zt_active_profile = *p;
    zt_va_reset_for_test();
    if (!zt_va_init(p, 8 * MiB)) {
        CHECK(0, "zt_va_init");
        return;
    }
    zt_large_t *l = zt_large_create(NULL);
    unsigned char *a = zt_large_malloc(l, 40 * KiB, 0, true);
    unsigned char *b = zt_large_malloc(l, 1, 0, true);
    CHECK(zt_large_size(l, a) == 48 * KiB && zt_large_size(l, b) == 16 * KiB, "16 KiB pages");
    CHECK(b == a + 48 * KiB, "first fit: b right after a");
    memset(a, 7, 48 * KiB);

    CHECK(!zt_large_realloc_in_place(l, a, 64 * KiB), "grow blocked by b");
    CHECK(zt_large_size(l, a) == 48 * KiB, "size unchanged");
    CHECK(zt_large_free(l, b), "free b");
    CHECK(zt_large_realloc_in_place(l, a, 100 * KiB), "grow into b's pages");
    CHECK(zt_large_size(l, a) == 112 * KiB, "grown size %zu", zt_large_size(l, a));
    CHECK(a[48 * KiB - 1] == 7 && all_zero(a + 48 * KiB, 64 * KiB), "contents kept, tail zero");
    memset(a, 8, 112 * KiB);

    CHECK(zt_large_realloc_in_place(l, a, 20 * KiB), "shrink");
    CHECK(zt_large_size(l, a) == 32 * KiB, "shrunk size %zu", zt_large_size(l, a));
    unsigned char *c = zt_large_malloc(l, 16 * KiB, 0, true);
    CHECK(c == a + 32 * KiB, "tail pages reused: %p", (void *)c);
    CHECK(c && all_zero(c, 16 * KiB), "reused tail reads zeros");

    /* Exhaustion: NULL with ENOMEM, nothing recorded. */
    errno = 0;
    void *huge = zt_large_malloc(l, 8 * MiB, 0, true);
    CHECK(huge == NULL && errno == ENOMEM, "too big: %p errno %d", huge, errno);
    malloc_statistics_t st;
    zt_large_statistics(l, &st);
    CHECK(st.blocks_in_use == 2 && st.size_in_use == 48 * KiB, "stats %u %zu", st.blocks_in_use,
          st.size_in_use);
    CHECK(st.max_size_in_use >= 112 * KiB, "peak %zu", st.max_size_in_use);
    CHECK(!zt_large_realloc_in_place(l, a, 9 * MiB), "grow past the window");

    /* Fork protocol: lock, unlock, reinit leave a usable table. */
    zt_large_force_lock(l);
    zt_large_force_unlock(l);
    zt_large_force_lock(l);
    zt_large_reinit_lock(l);
    CHECK(zt_large_size(l, a) == 32 * KiB, "usable after reinit");

    zt_large_destroy(l);
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    CHECK(vs.used_bytes == 0, "window empty again (%zu)", vs.used_bytes);
    zt_va_reset_for_test();
}

/* Death row (macOS-style profiles): a freed block is reused by a request it
 * fits, keeps its data unless cleared, is not live while cached, and
 * pressure relief unmaps it. libmalloc's rules: the Mac row (native's own
 * policy is test_native_cache). */
static void test_death_row(void)
{
    const zt_profile_t *p = zt_profile_find("macos15-arm64");
    zt_active_profile = *p;
    zt_va_reset_for_test();
    CHECK(zt_va_init(p, 0), "zt_va_init macos15-arm64");
    zt_large_t *l = zt_large_create(NULL);
    size_t page = zt_profile_page_bytes(p);
    unsigned char *a = zt_large_malloc(l, MiB, 0, false);
    CHECK(a != NULL, "1 MiB block");
    if (!a) return;
    memset(a, 0xab, MiB);
    CHECK(zt_large_free(l, a), "free");
    CHECK(zt_large_size(l, a) == 0, "a cached block is not live");
    malloc_statistics_t st;
    zt_large_statistics(l, &st);
    CHECK(st.blocks_in_use == 0 && st.size_allocated == MiB,
          "statistics count it as allocated only");
    unsigned char *b = zt_large_malloc(l, MiB - page, 0, false);
    CHECK(b == a, "reused by a request it fits (%p vs %p)", (void *)b, (void *)a);
    CHECK(b[0] == 0xab, "uncleared reuse keeps the data (no purge below the dirty limit)");
    /* libmalloc-792.41.1 src/magazine_large.c:619-690: the whole cached entry is handed out */
    CHECK(zt_large_size(l, b) == MiB, "reused block handed out whole (%zu)", zt_large_size(l, b));
    zt_large_free(l, b);
    unsigned char *c = zt_large_malloc(l, MiB - page, 0, true);
    CHECK(c == a, "reused again");
    size_t nonzero = 0;
    for (size_t i = 0; i < MiB - page; i++)
        nonzero += c[i] != 0;
    CHECK(nonzero == 0, "calloc-style reuse is zeroed (%zu non-zero bytes)", nonzero);
    unsigned char *d = zt_large_malloc(l, 4 * MiB, 0, false);
    CHECK(d != NULL && d != c, "a request twice as big is not served from a smaller block");
    zt_large_free(l, c);
    zt_large_free(l, d);
    size_t released = zt_large_pressure_relief(l, 0);
    CHECK(released == 5 * MiB, "pressure relief unmaps death row (%zu)", released);
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    CHECK(vs.used_bytes == 0, "no address space left mapped (%zu)", vs.used_bytes);
    zt_large_destroy(l);
    zt_active_profile = (zt_profile_t){0};
    zt_va_reset_for_test();
}

/* Native's death row: a large allocator under profile p, and its end (every
 * block freed and the cache emptied leave no address space mapped). */
static zt_large_t *native_begin(const zt_profile_t *p)
{
    zt_active_profile = *p;
    zt_va_reset_for_test();
    CHECK(zt_va_init(&zt_active_profile, 0), "zt_va_init native");
    return zt_large_create(NULL);
}

static void native_end(zt_large_t *l)
{
    zt_large_pressure_relief(l, 0);
    zt_large_destroy(l);
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    CHECK(vs.used_bytes == 0, "no address space left mapped (%zu)", vs.used_bytes);
    zt_active_profile = (zt_profile_t){0};
    zt_va_reset_for_test();
}

/* Native's death row (profile large_cache_*; issue 15, bench/README.md): a
 * bigger cached block is handed out to the page asked for, and its tail
 * stays cached as a block of its own for the next request it fits. Fails
 * with libmalloc's whole-block rule (b's size would be 1 MiB). */
static void test_native_cache(void)
{
    zt_large_t *l = native_begin(zt_profile_find("native"));
    size_t page = zt_prim_page_bytes();
    unsigned char *a = zt_large_malloc(l, MiB, 0, false);
    REQUIRE(a != NULL, "1 MiB block");
    memset(a, 0xcd, MiB);
    CHECK(zt_large_free(l, a), "free");
    unsigned char *b = zt_large_malloc(l, MiB - 4 * page, 0, false);
    CHECK(b == a, "reused (%p vs %p)", (void *)b, (void *)a);
    CHECK(zt_large_size(l, b) == MiB - 4 * page, "handed out to the page (%zu)",
          zt_large_size(l, b));
    CHECK(zt_large_on_death_row(l, a + MiB - 4 * page), "the tail stays cached");
    unsigned char *c = zt_large_malloc(l, 3 * page, 0, false);
    CHECK(c == a + MiB - 4 * page, "the tail serves a request it fits (%p)", (void *)c);
    CHECK(c && c[0] == 0xcd, "with its pages (not purged)");
    zt_large_free(l, b);
    zt_large_free(l, c);
    native_end(l);
}

/* Native's death row joins neighbours: a block split by smaller requests
 * and both its parts freed is one cached block again, which serves a request
 * for the whole (fails without the join: no cached piece fits, and the
 * request maps fresh pages). A cached block four times the request serves it
 * too, split (fails with libmalloc's rule that refuses waste >= the
 * request). */
static void test_native_merge(void)
{
    zt_large_t *l = native_begin(zt_profile_find("native"));
    size_t page = zt_prim_page_bytes();
    unsigned char *a = zt_large_malloc(l, MiB, 0, false);
    REQUIRE(a != NULL, "1 MiB block");
    zt_large_free(l, a);
    unsigned char *b = zt_large_malloc(l, MiB / 4 * 3, 0, false);
    unsigned char *c = zt_large_malloc(l, MiB / 4, 0, false);
    CHECK(b == a && c == a + MiB / 4 * 3, "both parts from the cached block (%p %p)", (void *)b,
          (void *)c);
    zt_large_free(l, c);
    zt_large_free(l, b);
    CHECK(zt_large_on_death_row(l, a), "the parts are cached");
    CHECK(!zt_large_on_death_row(l, a + MiB / 4 * 3), "as one block");
    unsigned char *d = zt_large_malloc(l, MiB, 0, false);
    CHECK(d == a, "the whole served from the joined block (%p vs %p)", (void *)d, (void *)a);
    zt_large_free(l, d);
    unsigned char *e = zt_large_malloc(l, MiB / 4 - page, 0, false);
    CHECK(e == a, "a quarter served from it too (%p vs %p)", (void *)e, (void *)a);
    CHECK(zt_large_size(l, e) == MiB / 4 - page, "to the page (%zu)", zt_large_size(l, e));
    zt_large_free(l, e);
    native_end(l);
}

/* Native's dirty budget (death_row_put). Five 8 MiB blocks a-e, mapped
 * next to one another; b and d shrink in place to one page, so the holes
 * they leave keep death row from joining a, c and e. A byte is written in
 * each of a, c, e, and they are freed in turn, with nothing else live but
 * b's and d's pages:
 * - with native's 1 GiB cap, all three stay cached with their pages: live
 *   fell 40 MiB short of its peak (fails with the old rule of 2 x live + the
 *   block, under which e was purged);
 * - under a 16 MiB cap, the oldest cached block (a) is let go and the one
 *   just freed keeps its pages (fails with libmalloc's order, which purges
 *   the block being freed: e would read 0 and a would stay cached), also on
 *   a 64 GiB machine, whose libmalloc budget (RAM / 1024) is 64 MiB (fails
 *   if the cap bounds only native's own part).
 * The RAM is the profile's, so that libmalloc's part of the budget (RAM /
 * 1024, at least 16 MiB) does not depend on the host. */
static void native_budget_case(size_t cap_bytes, uint64_t ram_bytes)
{
    zt_profile_t p = *zt_profile_find("native");
    p.large_cache_dirty_max_bytes = cap_bytes;
    p.ram_bytes = ram_bytes;
    p.large_cache_decay_ms = 0;
    zt_large_t *l = native_begin(&p);
    size_t page = zt_prim_page_bytes();
    unsigned char *b[5];
    for (unsigned i = 0; i < 5; i++) {
        b[i] = zt_large_malloc(l, 8 * MiB, 0, false);
        REQUIRE(b[i] != NULL, "8 MiB block %u", i);
        b[i][0] = (unsigned char)(0xa0 + i);
    }
    for (unsigned i = 1; i < 5; i += 2)
        REQUIRE(zt_large_realloc_in_place(l, b[i], page), "block %u shrinks in place", i);
    for (unsigned i = 0; i < 5; i += 2)
        CHECK(zt_large_free(l, b[i]), "free block %u", i);
    bool capped = cap_bytes < 24 * MiB;
    CHECK(zt_large_on_death_row(l, b[0]) == !capped, "a %s", capped ? "let go" : "cached");
    CHECK(zt_large_on_death_row(l, b[2]) && zt_large_on_death_row(l, b[4]), "c and e cached");
    CHECK(b[2][0] == 0xa2 && b[4][0] == 0xa4, "c and e keep their pages (%#x %#x)", b[2][0],
          b[4][0]);
    if (!capped) CHECK(b[0][0] == 0xa0, "a keeps its pages (%#x)", b[0][0]);
    zt_large_free(l, b[1]);
    zt_large_free(l, b[3]);
    native_end(l);
}

/* A program that held 8 x 8 MiB and freed them all keeps at most four of
 * its largest blocks cached (32 MiB), not its whole 64 MiB peak (fails
 * with the budget of peak - live alone). */
static void test_native_budget_after_free_all(void)
{
    zt_profile_t p = *zt_profile_find("native");
    p.large_cache_decay_ms = 0;
    p.ram_bytes = (uint64_t)4 << 30; /* libmalloc's part: 16 MiB */
    zt_large_t *l = native_begin(&p);
    unsigned char *b[8];
    for (unsigned i = 0; i < 8; i++) {
        b[i] = zt_large_malloc(l, 8 * MiB, 0, false);
        REQUIRE(b[i] != NULL, "8 MiB block %u", i);
        b[i][0] = 1;
    }
    for (unsigned i = 0; i < 8; i++)
        zt_large_free(l, b[i]);
    malloc_statistics_t st;
    zt_large_statistics(l, &st);
    CHECK(st.size_in_use == 0, "nothing live (%zu)", st.size_in_use);
    CHECK(st.size_allocated <= 32 * MiB, "at most 32 MiB cached, not 64 (%zu MiB)",
          st.size_allocated / MiB);
    native_end(l);
}

/* Over its budget, native's death row lets go of no more of its oldest
 * entry than the budget needs. A 16 MiB block is split into a page, about
 * 4 and 12 MiB and a page; the two middle parts are freed and join again,
 * and the pages stay live as fences, which keep a fresh 8 MiB block from
 * joining them wherever it is mapped. That block is freed under a 16 MiB
 * cap with nothing else live: the joined block keeps its first 8 MiB cached,
 * with its pages, and only the rest goes (fails with the whole oldest entry
 * unmapped, which large's benchmark paid for in page faults). */
static void test_native_budget_cut(void)
{
    zt_profile_t p = *zt_profile_find("native");
    p.large_cache_dirty_max_bytes = 16 * MiB;
    p.ram_bytes = (uint64_t)4 << 30; /* libmalloc's part: 16 MiB */
    p.large_cache_decay_ms = 0;
    zt_large_t *l = native_begin(&p);
    size_t page = zt_prim_page_bytes();
    unsigned char *all = zt_large_malloc(l, 16 * MiB, 0, false);
    REQUIRE(all != NULL, "16 MiB block");
    zt_large_free(l, all);
    unsigned char *fence0 = zt_large_malloc(l, page, 0, false);
    unsigned char *b = zt_large_malloc(l, 4 * MiB - page, 0, false);
    unsigned char *c = zt_large_malloc(l, 12 * MiB - page, 0, false);
    unsigned char *fence1 = zt_large_malloc(l, page, 0, false);
    unsigned char *a = all + page;
    REQUIRE(fence0 == all && b == a && c == a + 4 * MiB - page && fence1 == all + 16 * MiB - page,
            "all four from the cached block");
    b[0] = 0xb0;
    unsigned char *d = zt_large_malloc(l, 8 * MiB, 0, false);
    REQUIRE(d != NULL, "a fresh 8 MiB block");
    zt_large_free(l, b);
    zt_large_free(l, c);
    CHECK(zt_large_on_death_row(l, a) && !zt_large_on_death_row(l, c), "the parts joined");
    zt_large_free(l, d);
    CHECK(zt_large_on_death_row(l, d), "the block just freed is cached");
    CHECK(zt_large_on_death_row(l, a), "the oldest entry is cut, not let go");
    if (zt_large_on_death_row(l, a)) CHECK(a[0] == 0xb0, "its first half keeps its pages");
    malloc_statistics_t st;
    zt_large_statistics(l, &st);
    CHECK(st.size_allocated == 16 * MiB + 2 * page,
          "the 16 MiB budget cached, and the fences (%zu KiB)", st.size_allocated >> 10);
    zt_large_free(l, fence0);
    zt_large_free(l, fence1);
    native_end(l);
}

/* Native under an address-space limit (ZONETRACE_VA_LIMIT): a fresh block
 * that does not fit beside what death row holds gets the room from it, not
 * NULL. 16 MiB live and 32 MiB cached under a 64 MiB limit, then 40 MiB
 * asked for (fails without the release: 88 MiB would be mapped). */
static void test_native_limit(void)
{
    zt_profile_t p = *zt_profile_find("native");
    p.large_cache_decay_ms = 0;
    zt_active_profile = p;
    zt_va_reset_for_test();
    REQUIRE(zt_va_init(&zt_active_profile, 64 * MiB), "zt_va_init native, 64 MiB");
    zt_large_t *l = zt_large_create(NULL);
    unsigned char *a = zt_large_malloc(l, 16 * MiB, 0, false);
    unsigned char *b = zt_large_malloc(l, 32 * MiB, 0, false);
    REQUIRE(a != NULL && b != NULL, "16 and 32 MiB under the limit");
    zt_large_free(l, b);
    CHECK(zt_large_on_death_row(l, b), "the 32 MiB block is cached");
    unsigned char *c = zt_large_malloc(l, 40 * MiB, 0, false);
    CHECK(c != NULL, "40 MiB more: death row gave its room back");
    CHECK(!zt_large_on_death_row(l, b), "the cached block let go");
    if (c) zt_large_free(l, c);
    zt_large_free(l, a);
    native_end(l);
}

static void test_native_budget(void)
{
    native_budget_case((size_t)1 << 30, (uint64_t)4 << 30);
    native_budget_case(16 * MiB, (uint64_t)4 << 30);
    native_budget_case(16 * MiB, (uint64_t)64 << 30);
    test_native_budget_after_free_all();
    test_native_budget_cut();
}

/* Native's decay (profile large_cache_decay_ms) on a clock the test moves.
 * A bigger block's tail left on death row by a split is stamped when it was
 * split (it fails if the tail keeps its block's older stamp: it would decay
 * at the next call), and a clock reading older than an entry never makes it
 * due (it fails with an unsigned `now - when` wrapping round to a huge age,
 * which is what a reading taken before the lock could produce). */
static uint64_t fake_now_ns;
static uint64_t fake_clock(void)
{
    return fake_now_ns;
}

static void test_native_decay(void)
{
    zt_profile_t p = *zt_profile_find("native");
    p.large_cache_decay_ms = 1000;
    zt_large_clock_for_test(fake_clock);
    fake_now_ns = 10ull * 1000000000u;
    zt_large_t *l = native_begin(&p);
    unsigned char *a = zt_large_malloc(l, MiB, 0, false);
    REQUIRE(a != NULL, "1 MiB block");
    zt_large_free(l, a);                                          /* cached at t = 10 s */
    fake_now_ns += 900000000u;                                    /* 10.9 s: not due yet */
    unsigned char *b = zt_large_malloc(l, MiB / 4 * 3, 0, false); /* waste < 50 % */
    CHECK(b == a, "reused (%p vs %p)", (void *)b, (void *)a);
    unsigned char *tail = a + MiB / 4 * 3;
    CHECK(zt_large_on_death_row(l, tail), "the tail stays cached");
    fake_now_ns += 500000000u; /* 11.4 s: 1.4 s after the free, 0.5 s after the split */
    unsigned char *c = zt_large_malloc(l, MiB / 2, 0, false); /* a decay check, no fit */
    CHECK(c != NULL, "a small large block");
    CHECK(zt_large_on_death_row(l, tail), "the tail was stamped at the split, not decayed");
    fake_now_ns += 600000000u; /* 12.0 s: 1.1 s after the split */
    zt_large_free(l, c);       /* put: the tail is due */
    CHECK(!zt_large_on_death_row(l, tail), "the tail decays 1 s after the split");
    CHECK(zt_large_on_death_row(l, c), "c cached at 12.0 s");
    fake_now_ns -= 300000000u; /* a reading older than c's stamp (11.7 s) */
    unsigned char *d = zt_large_malloc(l, MiB, 0, false); /* decay check, no fit */
    CHECK(zt_large_on_death_row(l, c), "an entry newer than the reading is not due");
    zt_large_free(l, b);
    zt_large_free(l, d);
    zt_large_clock_for_test(NULL);
    native_end(l);
}

int main(void)
{
    CHECK_CASE("basic")
    {
        test_basic();
    }
    CHECK_CASE("in place in a 16 KiB-page window")
    {
        test_in_place_window();
    }
    CHECK_CASE("death row")
    {
        test_death_row();
    }
    CHECK_CASE("native's death row")
    {
        test_native_cache();
    }
    CHECK_CASE("native's death row joins neighbours")
    {
        test_native_merge();
    }
    CHECK_CASE("native's death-row budget")
    {
        test_native_budget();
    }
    CHECK_CASE("native's death row under an address-space limit")
    {
        test_native_limit();
    }
    CHECK_CASE("native's death-row decay")
    {
        test_native_decay();
    }
    return CHECK_DONE("test_large");
}
