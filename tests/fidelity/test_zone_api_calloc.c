/* ----------------------------------------------------------------------------
 * test_zone_api_calloc.c — an overflowing calloc reaches the zone and the
 * logger, as in libmalloc-166.220.1 src/malloc.c:1466-1484: malloc_zone_calloc
 * calls zone->calloc(zone, num, size) with no check of its own (a scalable
 * zone's calloc_get_size then fails), and malloc_logger is told num * size
 * (wrapped) with a NULL result. calloc() takes the same path through the
 * default zone (166 src/malloc.c:1730-1737).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

static struct {
    int calls;
    size_t num, size;
} seen;

static struct {
    int calls;
    uint32_t type;
    uintptr_t zone, bytes, result;
} logged;

static malloc_zone_t *real;
static malloc_zone_t fake;

static void *fake_calloc(malloc_zone_t *z, size_t num, size_t size)
{
    seen.calls++;
    seen.num = num;
    seen.size = size;
    size_t total;
    if (__builtin_mul_overflow(num, size, &total)) return NULL;
    return real->calloc(real, num, size);
}

static void logger(uint32_t type, uintptr_t arg1, uintptr_t arg2, uintptr_t arg3, uintptr_t result,
                   uint32_t skip)
{
    if (!(type & MALLOC_LOG_TYPE_CLEARED)) return;
    logged.calls++;
    logged.type = type;
    logged.zone = arg1;
    logged.bytes = arg2;
    logged.result = result;
}

int main(void)
{
    real = malloc_create_zone(0, 0);
    REQUIRE(real != NULL, "malloc_create_zone");
    fake = *real; /* every other entry of a real zone */
    fake.calloc = fake_calloc;
    size_t huge = SIZE_MAX / 2 + 1;

    CHECK_CASE("malloc_zone_calloc overflow reaches zone->calloc (166 malloc.c:1466-1484)")
    {
        memset(&seen, 0, sizeof seen);
        void *p = malloc_zone_calloc(&fake, huge, 4);
        CHECK(p == NULL, "overflowed calloc returned %p", p);
        CHECK(seen.calls == 1 && seen.num == huge && seen.size == 4,
              "the zone saw %d call(s), num %zu size %zu", seen.calls, seen.num, seen.size);
        void *q = malloc_zone_calloc(&fake, 3, 5);
        CHECK(q && seen.calls == 2 && malloc_size(q) >= 15, "a normal calloc");
        malloc_zone_free(real, q);
    }
    CHECK_CASE("the logger sees num * size and NULL (166 malloc.c:1478-1481)")
    {
        memset(&logged, 0, sizeof logged);
        malloc_logger = logger;
        void *p = malloc_zone_calloc(&fake, huge, 4);
        malloc_logger = NULL;
        CHECK(p == NULL, "overflowed calloc returned %p", p);
        CHECK(logged.calls == 1, "logged %d time(s)", logged.calls);
        CHECK(logged.type ==
                  (MALLOC_LOG_TYPE_ALLOCATE | MALLOC_LOG_TYPE_HAS_ZONE | MALLOC_LOG_TYPE_CLEARED),
              "type 0x%x", logged.type);
        CHECK(logged.zone == (uintptr_t)&fake, "zone %p", (void *)logged.zone);
        CHECK(logged.bytes == (uintptr_t)(huge * 4), "bytes %zu (want the wrapped product %zu)",
              (size_t)logged.bytes, (size_t)(huge * 4));
        CHECK(logged.result == 0, "result %p", (void *)logged.result);
    }
    CHECK_CASE("calloc() overflow: NULL, ENOMEM, and logged through the default zone")
    {
        memset(&logged, 0, sizeof logged);
        malloc_logger = logger;
        errno = 0;
        /* Called through a volatile pointer: as a builtin, calloc is assumed not to read
         * malloc_logger, and the stores around it could be merged away. */
        void *(*volatile call)(size_t, size_t) = calloc;
        void *volatile p = call(huge, 4);
        int e = errno;
        malloc_logger = NULL;
        CHECK(p == NULL && e == ENOMEM, "calloc(huge, 4) = %p errno %d", p, e);
        CHECK(logged.calls == 1 && logged.result == 0 && logged.bytes == (uintptr_t)(huge * 4),
              "logged %d time(s), bytes %zu", logged.calls, (size_t)logged.bytes);
    }
    malloc_destroy_zone(real);
    return CHECK_DONE("test_zone_api_calloc");
}
