/* ----------------------------------------------------------------------------
 * promote.h — making a zone the process default inside a libmalloc-style
 * zone registry (reference/darwin_override.md §1 items 2, 7, 9; §9 step 5;
 * §10 items 5, 6), written once for every platform: front/darwin.c runs it
 * against Apple's libmalloc, tests/api/test_promote.c against zonetrace's own
 * libmalloc-compatible registry (registry.c, zone_api.c) on Linux.
 *
 * The dance relies on two libmalloc rules (both in libmalloc-166.220.1 and
 * libmalloc-792.41.1 src/malloc.c): malloc_zone_register appends
 * (166 :611-660, 792 :1332-1390), and malloc_zone_unregister moves the LAST
 * zone into the freed slot (166 :1637-1682, 792 :2971-3020). So: register
 * ours (last), unregister zone 0 (ours moves into slot 0), register the old
 * zone 0 again (appended: its blocks stay freeable).
 * -------------------------------------------------------------------------- */
#ifndef ZT_PROMOTE_H
#define ZT_PROMOTE_H

#include "zone.h"

/* Rounds of "unregister zone 0, register it again" before giving up: another
 * agent that keeps slot 0 (ASan's mprotect hook puts its zone back after
 * every registry change, reference §5) must not make us loop forever
 * (reference §10 item 6, jemalloc #420). */
#define ZT_PROMOTE_TRIES 3

/* The only zone 0 we take over: libmalloc's default zone (nano v2 or the
 * scalable zone) is named so. Anything else in slot 0 (ASan, another
 * allocator) owns the process's malloc; we stay out (reference §9 step 5). */
#define ZT_PROMOTE_DEFAULT_NAME "DefaultMallocZone"

/* The registry the dance works on, and where foreign pointers go. */
typedef struct zt_promote_registry {
    void (*zone_register)(malloc_zone_t *zone);   /* malloc_zone_register */
    void (*zone_unregister)(malloc_zone_t *zone); /* malloc_zone_unregister */
    malloc_zone_t *(*zone0)(void);                /* malloc_get_all_zones()[0], NULL if none */
    malloc_zone_t *(*purgeable)(void);            /* malloc_default_purgeable_zone, or NULL */
    /* Blocks no zonetrace zone owns (the system zones' blocks, allocated
     * before the takeover) reach our free/realloc through
     * malloc_zone_free(malloc_default_zone(), p) without an owner lookup
     * (reference §1 item 3): they are handed to these, which find the owner
     * (libc's free/realloc on Darwin). NULL leaves the current ones. */
    void (*foreign_free)(void *ptr);
    void *(*foreign_realloc)(void *ptr, size_t bytes);
} zt_promote_registry_t;

typedef enum zt_promote_result {
    ZT_PROMOTED = 0,     /* ours is zone 0 */
    ZT_PROMOTE_REFUSED,  /* zone 0 was not DefaultMallocZone: nothing registered */
    ZT_PROMOTE_GAVE_UP,  /* ZT_PROMOTE_TRIES rounds and zone 0 is still another zone */
    ZT_PROMOTE_NO_ZONES, /* the registry has no zone 0 */
} zt_promote_result_t;

/* Make `ours` zone 0 of `reg`, with `helper` (its nano helper, may be NULL)
 * registered before it. Single-threaded by contract: libmalloc's lock-free
 * owner lookup assumes the initial zones do not move while other threads
 * free (reference §1 item 9). *tries_out (may be NULL): rounds run. Each
 * outcome other than ZT_PROMOTED is said in one line (zt_prim_message). */
zt_promote_result_t zt_promote(const zt_promote_registry_t *reg, malloc_zone_t *ours,
                               malloc_zone_t *helper, unsigned *tries_out);

#endif /* ZT_PROMOTE_H */
