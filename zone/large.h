/* ----------------------------------------------------------------------------
 * large.h — large blocks: each its own page-rounded mapping (profile page),
 * tracked in an open-addressed hash {address, size, tag} under one lock, as
 * libmalloc's large allocator, with its death-row cache of freed blocks on
 * macOS-style profiles (off on iOS, as on the device).
 * -------------------------------------------------------------------------- */
#ifndef ZT_LARGE_H
#define ZT_LARGE_H

#include "zone.h"

typedef struct zt_large zt_large_t;

zt_large_t *zt_large_create(malloc_zone_t *zone);
void zt_large_destroy(zt_large_t *l);

/* Page-rounded block of at least `bytes`, aligned to max(page, align_bytes).
 * NULL with errno = ENOMEM on failure. Zero-filled when `clear` (a block
 * reused from death row may hold old data otherwise). */
void *zt_large_malloc(zt_large_t *l, size_t bytes, size_t align_bytes, bool clear);

/* Unmap death-row blocks until goal_bytes are released (0 = all). */
size_t zt_large_pressure_relief(zt_large_t *l, size_t goal_bytes);

/* Free ptr if it is a live large block of this table: true. False (nothing
 * done) if not ours. */
bool zt_large_free(zt_large_t *l, void *ptr);

/* True if ptr is a freed block waiting on death row (a second free of it is
 * libmalloc's "being freed already on death-row"). */
bool zt_large_on_death_row(zt_large_t *l, const void *ptr);

/* Tests: the clock of native's death-row decay (NULL: the real one). */
void zt_large_clock_for_test(uint64_t (*now_ns)(void));

/* Block size if ptr is a live large block of this table, else 0. */
size_t zt_large_size(zt_large_t *l, const void *ptr);

/* Shrink (unmap the tail) or grow in place (map the following pages when
 * free). True if the block now holds new_bytes. */
bool zt_large_realloc_in_place(zt_large_t *l, void *ptr, size_t new_bytes);

void zt_large_walk(zt_large_t *l, const zt_walker_t *w);
void zt_large_statistics(zt_large_t *l, malloc_statistics_t *stats);
void zt_large_force_lock(zt_large_t *l);
void zt_large_force_unlock(zt_large_t *l);
void zt_large_reinit_lock(zt_large_t *l);

#endif /* ZT_LARGE_H */
