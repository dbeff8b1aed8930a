/* ----------------------------------------------------------------------------
 * test_memalign_path.c — aligned allocations take libmalloc's path and sizes:
 * - posix_memalign, aligned_alloc, memalign and valloc go to the default
 *   zone's memalign (libmalloc-166.220.1 src/malloc.c:1573-1600, 1856-1880),
 *   which nano hands to its helper zone whatever the alignment
 *   (src/nanov2_malloc.c:1124-1129): on ios12-2gb (nano on) even
 *   posix_memalign(16, 32) lands in a tiny region of MallocHelperZone. The
 *   test asks the chunk map which kind of region holds the block:
 *   malloc_zone_from_ptr cannot tell, since libmalloc's nanov2_size answers
 *   for its helper's blocks too (src/nanov2_malloc.c:909-915), so both
 *   kinds of pointer name the default zone;
 * - szone_memalign bumps a tiny-sized request whose alignment needs small to
 *   1008 + 16 = 1024 B (166 src/magazine_malloc.c:486-490): posix_memalign(1024,
 *   100) returns a 1024-byte block;
 * - with medium (macos-arm64), a small-sized request whose alignment needs
 *   medium is bumped to the small limit + 512 B (libmalloc-792.41.1
 *   src/magazine_malloc.c:652-660), i.e. a 64 KiB medium block for
 *   posix_memalign(64 KiB, 20000).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "chunkmap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../rerun.h"

#define KiB ((size_t)1024)

/* The kind of region the block lies in: "nano", "tiny", ... ("large" off the map). */
static const char *kind_of(const void *p)
{
    zt_owner_t *o = zt_chunkmap_get(p);
    return o ? zt_kind_name((enum zt_kind)o->kind) : "large";
}

static void run_ios(void)
{
    CHECK_CASE("posix_memalign(16, 32) goes to the helper, not nano (nanov2_malloc.c:1124-1129)")
    {
        void *small = malloc(32);
        REQUIRE(small != NULL, "malloc(32)");
        CHECK(strcmp(kind_of(small), "nano") == 0, "malloc(32) in %s", kind_of(small));
        void *p = NULL;
        CHECK(posix_memalign(&p, 16, 32) == 0 && p != NULL, "posix_memalign(16, 32)");
        CHECK(p && strcmp(kind_of(p), "tiny") == 0, "posix_memalign(16, 32) in %s", kind_of(p));
        CHECK(p && malloc_size(p) == 32, "a 32-byte tiny block (%zu)", p ? malloc_size(p) : 0);
        void *a = aligned_alloc(16, 48);
        CHECK(a && strcmp(kind_of(a), "tiny") == 0, "aligned_alloc(16, 48) in %s", kind_of(a));
        void *m = memalign(8, 64);
        CHECK(m && strcmp(kind_of(m), "tiny") == 0, "memalign(8, 64) in %s", kind_of(m));
        void *v = valloc(100);
        CHECK(v && strcmp(kind_of(v), "nano") != 0, "valloc(100) in %s", kind_of(v));
        free(small);
        free(p);
        free(a);
        free(m);
        free(v);
    }
    CHECK_CASE(
        "posix_memalign(1024, 100) returns a 1024-byte block (166 magazine_malloc.c:486-490)")
    {
        void *p = NULL;
        CHECK(posix_memalign(&p, 1024, 100) == 0 && p != NULL, "posix_memalign(1024, 100)");
        CHECK(p && ((uintptr_t)p & 1023) == 0, "aligned (%p)", p);
        CHECK(p && malloc_size(p) == 1024, "block of %zu bytes (libmalloc: 1024)",
              p ? malloc_size(p) : 0);
        free(p);
    }
    CHECK_CASE("posix_memalign(64, 100) stays tiny (span 163 <= 1008, 166 :480-482)")
    {
        void *p = NULL;
        CHECK(posix_memalign(&p, 64, 100) == 0 && p && ((uintptr_t)p & 63) == 0, "aligned");
        CHECK(p && malloc_size(p) == 112, "tiny block of %zu (want 112)", p ? malloc_size(p) : 0);
        free(p);
    }
}

static void run_macos(void)
{
    CHECK_CASE("posix_memalign(64 KiB, 20000) bumped to medium 32 KiB + 512 (792 :652-660)")
    {
        void *p = NULL;
        CHECK(posix_memalign(&p, 64 * KiB, 20000) == 0 && p != NULL, "posix_memalign");
        CHECK(p && ((uintptr_t)p & (64 * KiB - 1)) == 0, "aligned (%p)", p);
        CHECK(p && malloc_size(p) == 64 * KiB, "block of %zu bytes (libmalloc: 65536)",
              p ? malloc_size(p) : 0);
        free(p);
    }
    CHECK_CASE("posix_memalign(1024, 100) returns a 1024-byte small block")
    {
        void *p = NULL;
        CHECK(posix_memalign(&p, 1024, 100) == 0 && p && malloc_size(p) == 1024, "size %zu",
              p ? malloc_size(p) : 0);
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) {
        const char *dev = getenv("ZONETRACE_DEVICE");
        if (dev && strcmp(dev, "macos-arm64") == 0)
            run_macos();
        else
            run_ios();
        return CHECK_DONE(dev);
    }
    CHECK_CASE("ios12-2gb")
    {
        rerun_under_device(argv[0], "ios12-2gb");
    }
    CHECK_CASE("macos-arm64")
    {
        rerun_under_device(argv[0], "macos-arm64");
    }
    return CHECK_DONE("test_memalign_path");
}
