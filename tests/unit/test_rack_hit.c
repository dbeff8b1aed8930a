/* ----------------------------------------------------------------------------
 * test_rack_hit.c — the front's tiny cache hits (zone/rack.h,
 * zt_rack_tiny_malloc_hit and zt_rack_tiny_free_hit) on a tiny rack that
 * owns the thread caches:
 * - the rack publishes itself (zt_rack_front_tiny/_zone/_id) when it claims
 *   the caches and withdraws when destroyed;
 * - a free hit caches the block (size 0, the section's bytes grow by the
 *   block) and a malloc hit hands the newest one back (bytes shrink again);
 * - everything doubtful is refused (false) and left as it was, for
 *   zt_rack_free to decide: no section yet, a block already cached, a
 *   pointer into a block, a misaligned one, a full bin, the magazine's
 *   last-free block.
 * -------------------------------------------------------------------------- */
#include "rack.h"

#include <stdio.h>
#include <string.h>

#include "chunkmap.h"
#include "error.h"
#include "tcache.h"
#include "va.h"

#include "../check.h"

#define BYTES 300
#define BLOCK 304
#define CLS   (ZT_CLASS_TINY_FIRST + BLOCK / 16 - 1)

static malloc_zone_t fake_zone; /* a rack made for a zone claims the caches */

static size_t section_bytes(void)
{
    return zt_tcache_self ? zt_tcache_self->sec[ZT_TCACHE_TINY].bytes : 0;
}

static unsigned bin_count(void)
{
    return zt_tcache_self ? zt_tcache_self->sec[ZT_TCACHE_TINY].count[BLOCK / 16 - 1] : 0;
}

static void test_hits(void)
{
    zt_rack_t *r = zt_rack_create(&fake_zone, ZT_KIND_TINY, 1);
    REQUIRE(r != NULL, "zt_rack_create");
    zt_owner_t *o = (zt_owner_t *)r;
    CHECK(zt_rack_front_tiny == o && zt_rack_front_zone == &fake_zone && zt_rack_front_id != 0,
          "the rack owning the caches is published");

    char *p = zt_rack_malloc(r, CLS, false);
    char *live = zt_rack_malloc(r, CLS, false);
    REQUIRE(p != NULL && live != NULL && zt_chunkmap_get(p) == o, "malloc");
    if (zt_tcache_self == NULL)
        CHECK(!zt_rack_tiny_free_hit(o, p), "no section yet: refused (zt_rack_free makes it)");
    zt_rack_free(r, p);
    CHECK(zt_rack_size(r, p) == 0 && section_bytes() == BLOCK && bin_count() == 1,
          "zt_rack_free cached it (bytes %zu, count %u)", section_bytes(), bin_count());
    CHECK(zt_rack_tiny_malloc_hit(BYTES) == p, "the malloc hit hands it back");
    CHECK(section_bytes() == 0 && bin_count() == 0, "bytes %zu, count %u after the pop",
          section_bytes(), bin_count());
    CHECK(zt_rack_size(r, p) == BLOCK, "live again: size %zu", zt_rack_size(r, p));
    CHECK(zt_rack_tiny_malloc_hit(BYTES) == NULL, "an empty bin: no hit");

    CHECK(zt_rack_tiny_free_hit(o, p), "a live block: the free hit takes it");
    CHECK(zt_rack_size(r, p) == 0 && section_bytes() == BLOCK && bin_count() == 1,
          "cached (bytes %zu, count %u)", section_bytes(), bin_count());
    CHECK(!zt_rack_tiny_free_hit(o, p), "a cached block is refused (a double free)");
    CHECK(section_bytes() == BLOCK && bin_count() == 1, "and nothing changed");

    CHECK(!zt_rack_tiny_free_hit(o, live + 16), "a pointer into a block is refused");
    CHECK(!zt_rack_tiny_free_hit(o, live + 8), "a misaligned pointer is refused");
    CHECK(!zt_rack_tiny_free_hit(o, live + BLOCK - 16), "the block's last quantum is refused");
    CHECK(zt_rack_size(r, live) == BLOCK && bin_count() == 1, "the block is untouched");
    CHECK(zt_rack_tiny_malloc_hit(BYTES) == p, "pop p");

    /* A full bin (32) is refused; zt_rack_free then flushes the 16 oldest, the
     * last of them staying in the magazine's last-free slot. */
    enum { CAP = ZT_RACK_TC_STRIDE };
    char *v[CAP + 1];
    for (int i = 0; i <= CAP; i++)
        v[i] = zt_rack_malloc(r, CLS, false);
    for (int i = 0; i < CAP; i++)
        CHECK(zt_rack_tiny_free_hit(o, v[i]), "free hit %d", i);
    CHECK(bin_count() == CAP, "the bin is full (%u)", bin_count());
    CHECK(!zt_rack_tiny_free_hit(o, v[CAP]), "a full bin is refused");
    zt_rack_free(r, v[CAP]);
    CHECK(bin_count() == CAP / 2 + 1, "zt_rack_free flushed half: %u left", bin_count());
    CHECK(zt_rack_size(r, v[CAP / 2 - 1]) == 0, "the last flushed block is not live");
    CHECK(!zt_rack_tiny_free_hit(o, v[CAP / 2 - 1]), "the last-free block is refused");
    CHECK(!zt_rack_tiny_free_hit(o, v[0]), "a block freed for real is refused");
    CHECK(bin_count() == CAP / 2 + 1, "and the bin did not change");
    CHECK(zt_rack_check(r), "zt_rack_check");

    zt_rack_destroy(r);
    CHECK(zt_rack_front_tiny == NULL && zt_rack_front_zone == NULL,
          "a destroyed rack is withdrawn");
}

int main(void)
{
    zt_active_profile = *zt_profile_find("native");
    zt_options.on_error = "report";
    REQUIRE(zt_chunkmap_init() && zt_va_init(&zt_active_profile, 0), "init failed");
    CHECK_CASE("tiny cache hits")
    {
        test_hits();
    }
    return CHECK_DONE("test_rack_hit");
}
