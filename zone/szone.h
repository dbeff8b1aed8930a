/* ----------------------------------------------------------------------------
 * szone.h — the scalable zone: a complete malloc_zone_t (version 10) over a
 * tiny rack, a small rack, a medium rack (profiles with medium) and a large
 * table. The malloc_zone_t sits alone on the first page of the zone's
 * mapping (malloc_set_zone_name write-protects that page); mutable state
 * lives on the following pages.
 * -------------------------------------------------------------------------- */
#ifndef ZT_SZONE_H
#define ZT_SZONE_H

#include "zone.h"

/* Create a scalable zone (not registered). name is copied. */
malloc_zone_t *zt_szone_create(const char *name);

/* True if zone was made by zt_szone_create. */
bool zt_szone_is(const malloc_zone_t *zone);

/* Direct calls used by the nano zone for delegation (same as the vtable). */
void *zt_szone_malloc(malloc_zone_t *zone, size_t bytes);
void *zt_szone_calloc(malloc_zone_t *zone, size_t n, size_t bytes);
void zt_szone_free(malloc_zone_t *zone, void *ptr);
size_t zt_szone_size(malloc_zone_t *zone, const void *ptr);
void *zt_szone_memalign(malloc_zone_t *zone, size_t align_bytes, size_t bytes);

/* What the zone's pressure_relief does (purge free pages, drop death row),
 * returning the bytes released; pressure_relief itself returns 0 as
 * libmalloc's does. For zonetrace's own callers (tests, the profiler). */
size_t zt_szone_relieve(malloc_zone_t *zone, size_t goal);

/* Heap walk of every rack and the large table. */
void zt_szone_walk(malloc_zone_t *zone, const zt_walker_t *w);

/* Front-end hooks for pointers no zonetrace zone owns. NULL (Linux): they
 * are reported as bad frees. Darwin sets them to libc's free/realloc, which
 * find the pointer's libmalloc zone (the system default before install). */
extern void (*zt_szone_foreign_free)(void *ptr);
extern void *(*zt_szone_foreign_realloc)(void *ptr, size_t bytes);

/* Darwin, where libmalloc drives fork locking zone by zone: this zone's
 * force_lock / force_unlock / reinit_lock also take, release and reset the
 * address-space lock, last (the registry does it on Linux). */
void zt_szone_set_fork_va(malloc_zone_t *zone);

#endif /* ZT_SZONE_H */
