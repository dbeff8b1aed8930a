/* ----------------------------------------------------------------------------
 * large.c — large blocks (libmalloc.md §2.4; contract in large.h).
 *
 * Every block is its own page-rounded mapping from zt_va_map(ZT_KIND_LARGE),
 * so it is placed (and can fail) exactly as on the device. The table is an
 * open-addressed hash of {address, size, tag} with linear probing and
 * backward-shift deletion (no tombstones), in a zt_prim_map'd array that
 * doubles when 3/4 full. Every access holds the table's lock, so the old
 * array is unmapped right away (libmalloc leaks it because its region hash
 * is read lock-free; this one is not).
 *
 * The profiler's tag lives in the entry, outside the block and outside the
 * emulated windows. Hooks and zt_va calls run outside the lock.
 *
 * Death row (profiles with large_cache, i.e. macOS-style), with
 * libmalloc-792.41.1's values: depth 16 and entries of at most 128 MiB when
 * RAM < 32 GiB, depth 64 and at most 512 MiB when RAM >= 32 GiB, no cap on
 * the total (792 src/thresholds.h:137-150, magazine_malloc.c:1757-1766; RAM is
 * the profile's, else the host's). A request takes the best-fitting cached
 * block (newest first, exact fit ends the search), refused when the waste is
 * >= the request, and gets the whole cached block: malloc_size is the
 * cached size (792 magazine_large.c:552-606, 619-690). Dirty (unpurged) bytes
 * kept on death row: libmalloc's memsize/1024, or twice the live large
 * bytes when that is more (at most 128 MiB). Blocks beyond that are purged
 * before they are cached. Native's own budget and order are in
 * death_row_put. iOS profiles have no death row, as on the device
 * (166 src/platform.h:77-81): every free unmaps.
 * -------------------------------------------------------------------------- */
#include "large.h"
#include "va.h"
#include "hooks.h"

#include <errno.h>
#include <string.h>

#define INITIAL_SLOTS 128 /* a power of two */

typedef struct entry {
    uintptr_t addr; /* 0 = empty slot */
    size_t bytes;   /* page-rounded block size */
    uint32_t tag;   /* profiler stack id, 0 = untagged */
} entry_t;

/* libmalloc-792.41.1 src/thresholds.h:137-150 (64-bit). */
#define DEATH_ROW_EXPANDED_RAM_BYTES  ((uint64_t)32 << 30)
#define DEATH_ROW_SLOTS_LOW           16
#define DEATH_ROW_ENTRY_MAX_BYTES_LOW ((size_t)128 << 20)
#define DEATH_ROW_SLOTS               64 /* _HIGH: the array's capacity */
#define DEATH_ROW_ENTRY_MAX_BYTES     ((size_t)512 << 20)
/* Dirty (unpurged) bytes kept on death row: libmalloc's memsize/1024,
 * clamped to [16, 128] MiB (24 MiB on a 24 GiB machine). */
#define DEATH_ROW_DIRTY_MIN_BYTES ((size_t)16 << 20)
#define DEATH_ROW_DIRTY_MAX_BYTES ((size_t)128 << 20)

typedef struct cached {
    uintptr_t addr;
    size_t bytes;
    bool dirty;       /* pages may hold old data (not purged) */
    uint64_t when_ns; /* when it was cached (native's decay) */
} cached_t;

struct zt_large {
    zt_lock_t lock;
    bool death_row_on;
    cached_t death_row[DEATH_ROW_SLOTS]; /* oldest first */
    unsigned death_row_count;
    unsigned death_row_depth;         /* 16 or 64, by RAM */
    size_t death_row_entry_max_bytes; /* 128 or 512 MiB, by RAM */
    size_t death_row_bytes, death_row_dirty_bytes;
    size_t death_row_dirty_limit_bytes;
    size_t native_dirty_max_bytes; /* profile large_cache_dirty_max_bytes (0: libmalloc's rule) */
    uint64_t decay_ns;             /* profile large_cache_decay_ms (0: no decay) */
    malloc_zone_t *zone;
    entry_t *slots;
    size_t nslots;       /* power of two */
    size_t slots_bytes;  /* mapping size of `slots` */
    size_t count;        /* live blocks */
    size_t in_use_bytes; /* sum of live block sizes */
    size_t peak_in_use_bytes;
    size_t largest_bytes; /* the largest block handed out (native's budget) */
    size_t page_bytes;    /* block granule: the profile page */
    unsigned page_shift;
};

static inline size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static inline size_t home_slot(const zt_large_t *l, uintptr_t addr)
{
    /* Fibonacci hashing of the page number (libmalloc's multiplier). */
    uint64_t h = (uint64_t)(addr >> l->page_shift) * 0x9E3779B97F4A7C55ull;
    return (size_t)(h >> 32) & (l->nslots - 1);
}

static entry_t *find_locked(zt_large_t *l, uintptr_t addr)
{
    if (addr == 0) return NULL;
    size_t mask = l->nslots - 1;
    for (size_t i = home_slot(l, addr);; i = (i + 1) & mask) {
        entry_t *e = &l->slots[i];
        if (e->addr == addr) return e;
        if (e->addr == 0) return NULL;
    }
}

static void put_locked(zt_large_t *l, entry_t e)
{
    size_t mask = l->nslots - 1;
    size_t i = home_slot(l, e.addr);
    while (l->slots[i].addr != 0)
        i = (i + 1) & mask;
    l->slots[i] = e;
}

/* Remove slot i, shifting back later members of its probe chain so that
 * lookups never need tombstones. */
static void remove_locked(zt_large_t *l, entry_t *e)
{
    size_t mask = l->nslots - 1;
    size_t hole = (size_t)(e - l->slots);
    for (size_t j = (hole + 1) & mask; l->slots[j].addr != 0; j = (j + 1) & mask) {
        size_t home = home_slot(l, l->slots[j].addr);
        /* The entry at j may move to the hole if its home is not in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            l->slots[hole] = l->slots[j];
            hole = j;
        }
    }
    memset(&l->slots[hole], 0, sizeof(entry_t));
}

/* Make room for one more entry (load <= 3/4). False if the bigger table
 * cannot be mapped. */
static bool reserve_slot_locked(zt_large_t *l)
{
    if ((l->count + 1) * 4 <= l->nslots * 3) return true;
    size_t nslots = l->nslots * 2;
    size_t bytes = align_up(nslots * sizeof(entry_t), zt_prim_page_bytes());
    entry_t *fresh = zt_prim_map(bytes);
    if (!fresh) return false;
    entry_t *old = l->slots;
    size_t old_n = l->nslots, old_bytes = l->slots_bytes;
    l->slots = fresh;
    l->nslots = nslots;
    l->slots_bytes = bytes;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].addr) put_locked(l, old[i]);
    zt_prim_unmap(old, old_bytes);
    return true;
}

zt_large_t *zt_large_create(malloc_zone_t *zone)
{
    size_t host_page = zt_prim_page_bytes();
    zt_large_t *l = zt_prim_map(align_up(sizeof *l, host_page));
    if (!l) return NULL;
    size_t bytes = align_up(INITIAL_SLOTS * sizeof(entry_t), host_page);
    l->slots = zt_prim_map(bytes);
    if (!l->slots) {
        zt_prim_unmap(l, align_up(sizeof *l, host_page));
        return NULL;
    }
    l->zone = zone;
    l->nslots = INITIAL_SLOTS;
    l->slots_bytes = bytes;
    size_t page = zt_profile_page_bytes(&zt_active_profile);
    if (page < host_page || (page & (page - 1))) page = host_page;
    l->page_bytes = page;
    l->page_shift = (unsigned)__builtin_ctzl(page);
    l->death_row_on = zt_active_profile.large_cache;
    uint64_t ram = zt_active_profile.ram_bytes ? zt_active_profile.ram_bytes : zt_prim_ram_bytes();
    bool expanded = ram >= DEATH_ROW_EXPANDED_RAM_BYTES;
    l->death_row_depth = expanded ? DEATH_ROW_SLOTS : DEATH_ROW_SLOTS_LOW;
    /* Native's cache sized to the workload (issue 15, bench/README.md): a
     * divergence from libmalloc's fixed depth and dirty budget, native only. */
    if (zt_active_profile.large_cache_depth)
        l->death_row_depth = zt_active_profile.large_cache_depth < DEATH_ROW_SLOTS
                                 ? zt_active_profile.large_cache_depth
                                 : DEATH_ROW_SLOTS;
    l->native_dirty_max_bytes = zt_active_profile.large_cache_dirty_max_bytes;
    l->decay_ns = (uint64_t)zt_active_profile.large_cache_decay_ms * 1000000u;
    l->death_row_entry_max_bytes =
        expanded ? DEATH_ROW_ENTRY_MAX_BYTES : DEATH_ROW_ENTRY_MAX_BYTES_LOW;
    uint64_t dirty = ram / 1024;
    l->death_row_dirty_limit_bytes = dirty < DEATH_ROW_DIRTY_MIN_BYTES   ? DEATH_ROW_DIRTY_MIN_BYTES
                                     : dirty > DEATH_ROW_DIRTY_MAX_BYTES ? DEATH_ROW_DIRTY_MAX_BYTES
                                                                         : (size_t)dirty;
    return l;
}

void zt_large_destroy(zt_large_t *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->nslots; i++) {
        entry_t e = l->slots[i];
        if (!e.addr) continue;
        zt_hook_freed(l->zone, (void *)e.addr, e.bytes, ZT_CLASS_LARGE, e.tag);
        zt_va_unmap((void *)e.addr, e.bytes, ZT_KIND_LARGE);
    }
    for (unsigned i = 0; i < l->death_row_count; i++)
        zt_va_unmap((void *)l->death_row[i].addr, l->death_row[i].bytes, ZT_KIND_LARGE);
    zt_prim_unmap(l->slots, l->slots_bytes);
    zt_prim_unmap(l, align_up(sizeof *l, zt_prim_page_bytes()));
}

static void death_row_remove_locked(zt_large_t *l, unsigned i)
{
    l->death_row_bytes -= l->death_row[i].bytes;
    if (l->death_row[i].dirty) l->death_row_dirty_bytes -= l->death_row[i].bytes;
    l->death_row_count--;
    memmove(&l->death_row[i], &l->death_row[i + 1], (l->death_row_count - i) * sizeof(cached_t));
}

/* The clock for native's decay (a test may stand in its own). */
static uint64_t (*large_clock)(void) = zt_prim_now_ns;

void zt_large_clock_for_test(uint64_t (*now_ns)(void))
{
    large_clock = now_ns ? now_ns : zt_prim_now_ns;
}

/* Now, read under the lock: entries are stamped in lock order, so the array
 * stays oldest first and no entry is ever newer than a later reading (a
 * reading taken before the lock could be older than an entry another thread
 * stamped meanwhile, and `now - when_ns` would wrap to a huge age). */
static uint64_t now_locked(const zt_large_t *l)
{
    return l->decay_ns ? large_clock() : 0;
}

/* Native's decay: cached blocks unused for decay_ns leave death row (into
 * out[], for the caller to unmap outside the lock); the oldest are first.
 * An entry stamped after `now` is never due (no unsigned wraparound).
 * Returns how many. */
static unsigned death_row_decay_locked(zt_large_t *l, uint64_t now, cached_t *out)
{
    unsigned n = 0;
    if (!l->decay_ns) return 0;
    while (l->death_row_count && now > l->death_row[0].when_ns &&
           now - l->death_row[0].when_ns > l->decay_ns) {
        out[n++] = l->death_row[0];
        death_row_remove_locked(l, 0);
    }
    return n;
}

/* Take the best-fitting cached block for `block` bytes (page-rounded) whose
 * address has the alignment asked for, whole: *got receives its size
 * (792 magazine_large.c:552-606). Returns NULL when none fits. */
static void *death_row_take(zt_large_t *l, size_t block, size_t align, bool clear, size_t *got)
{
    cached_t decayed[DEATH_ROW_SLOTS];
    zt_lock(&l->lock);
    uint64_t now = now_locked(l);
    unsigned ndecayed = death_row_decay_locked(l, now, decayed);
    unsigned best = DEATH_ROW_SLOTS;
    size_t best_bytes = SIZE_MAX;
    for (unsigned i = l->death_row_count; i-- > 0;) { /* newest first */
        size_t b = l->death_row[i].bytes;
        if (l->death_row[i].addr & (align - 1)) continue;
        if (b == block || (block < b && b < best_bytes)) {
            best = i;
            best_bytes = b;
            if (b == block) break;
        }
    }
    /* Waste < 50 %, unless native splits the rest off (no waste). */
    if (best == DEATH_ROW_SLOTS || (!l->native_dirty_max_bytes && best_bytes - block >= block)) {
        zt_unlock(&l->lock);
        for (unsigned i = 0; i < ndecayed; i++)
            zt_va_unmap((void *)decayed[i].addr, decayed[i].bytes, ZT_KIND_LARGE);
        return NULL;
    }
    cached_t c = l->death_row[best];
    death_row_remove_locked(l, best);
    /* Native (large_cache_dirty_max_bytes set) hands out exactly the pages
     * asked for; the rest of a bigger cached block stays on death row as a
     * block of its own (its pages keep their state), so malloc_size stays
     * the good size and the tail serves a later, smaller request. The device
     * and Mac rows give the whole block, as libmalloc does. The tail goes
     * to the newest end, so it is stamped now (keeping the array oldest
     * first, which the decay relies on). */
    cached_t tail = {0, 0, false, 0};
    if (l->native_dirty_max_bytes && c.bytes > block) {
        tail = (cached_t){c.addr + block, c.bytes - block, c.dirty, now};
        c.bytes = block;
        if (l->death_row_count < l->death_row_depth) {
            l->death_row[l->death_row_count++] = tail;
            l->death_row_bytes += tail.bytes;
            if (tail.dirty) l->death_row_dirty_bytes += tail.bytes;
            tail.bytes = 0;
        }
    }
    zt_unlock(&l->lock);
    if (tail.bytes) zt_va_unmap((void *)tail.addr, tail.bytes, ZT_KIND_LARGE);
    for (unsigned i = 0; i < ndecayed; i++)
        zt_va_unmap((void *)decayed[i].addr, decayed[i].bytes, ZT_KIND_LARGE);
    if (clear && c.dirty) memset((void *)c.addr, 0, block); /* 792 :685-687: size bytes */
    *got = c.bytes;
    return (void *)c.addr;
}

/* Native: a freed block joins the cached blocks it touches (the kernel
 * places anonymous mappings next to one another, so a block and the tail
 * split off it, or two blocks mapped in turn, are neighbours), and the
 * union goes back on death row as one block, newest. Without it best fit
 * ground the cache into tails too small for any later request: bigblock
 * (5-25 MiB) mapped fresh and faulted in ~300 MiB more than glibc, and the
 * fragments pushed death row over its dirty budget, so blocks were purged
 * and faulted in again. On Linux munmap and madvise may span adjacent
 * mappings, so the union is released like any block. A union holding
 * purged pages counts as dirty (over-counted, never under). The address
 * space is that of the separate blocks: only native caches this way. */
static cached_t death_row_merge_locked(zt_large_t *l, cached_t c)
{
    for (unsigned i = 0; i < l->death_row_count;) {
        cached_t d = l->death_row[i];
        bool touches = d.addr + d.bytes == c.addr || c.addr + c.bytes == d.addr;
        if (!touches || c.bytes + d.bytes > l->death_row_entry_max_bytes) {
            i++;
            continue;
        }
        death_row_remove_locked(l, i);
        c.addr = d.addr < c.addr ? d.addr : c.addr;
        c.bytes += d.bytes;
        c.dirty = c.dirty || d.dirty;
        i = 0; /* the union may now touch an entry already passed */
    }
    return c;
}

/* Native's dirty budget for death row, `bytes` just freed with `live`
 * still in use: twice what is live plus the block (a loop over a few big
 * blocks never faults its pages back in), or what live falls short of its
 * peak (the program held that much before, so caching the difference never
 * raises its peak) up to four of the largest blocks it has had, whichever
 * is more (the caller caps it). The four: a program that frees a big heap
 * and then idles keeps that much, not its whole peak, until the decay (which
 * runs only at the next large malloc or free) lets it go: 60 x 16 MiB held
 * and freed left 961 MiB resident without the bound, 641 MiB with the old
 * 2 x live rule, 65 MiB with it (four of the blocks, memset each; measured
 * again with the partial cut in death_row_put, same figure). */
static size_t death_row_native_limit_locked(const zt_large_t *l, size_t live, size_t bytes)
{
    size_t peak = l->peak_in_use_bytes;
    size_t want = 2 * live + bytes;
    size_t room = peak > live ? peak - live : 0;
    if (room > 4 * l->largest_bytes) room = 4 * l->largest_bytes;
    return room > want ? room : want;
}

/* Keep a freed block on death row; false if it does not qualify (the
 * caller unmaps it). Evicted older blocks are unmapped here. */
static bool death_row_put(zt_large_t *l, void *ptr, size_t bytes)
{
    if (!l->death_row_on || bytes > l->death_row_entry_max_bytes) return false;
    /* A program that keeps much in large blocks recycles them (a heap would
     * keep that much mapped anyway): allow twice as much dirty as is live. */
    size_t limit = l->death_row_dirty_limit_bytes;
    size_t live = __atomic_load_n(&l->in_use_bytes, __ATOMIC_RELAXED);
    if (2 * live > limit)
        limit = 2 * live < DEATH_ROW_DIRTY_MAX_BYTES ? 2 * live : DEATH_ROW_DIRTY_MAX_BYTES;
    /* libmalloc purges the block being freed when death row is over its
     * budget (792.41.1 magazine_large.c:764-765, 851-876), before publishing it: once
     * cached, another thread may reuse it. Native keeps it dirty and lets
     * the oldest cached blocks go instead (below): the next malloc is the
     * likeliest to want the newest block, and a purged block faults every
     * page back in (large: 113 k faults, 56 k with this). */
    bool native = l->native_dirty_max_bytes != 0;
    bool dirty =
        native || __atomic_load_n(&l->death_row_dirty_bytes, __ATOMIC_RELAXED) + bytes <= limit;
    if (!dirty) zt_va_purge(ptr, bytes);
    cached_t evicted[2 * DEATH_ROW_SLOTS];
    zt_lock(&l->lock);
    uint64_t now = now_locked(l);
    unsigned nevicted = death_row_decay_locked(l, now, evicted);
    cached_t c = {(uintptr_t)ptr, bytes, dirty, now};
    if (native) c = death_row_merge_locked(l, c);
    while (l->death_row_count >= l->death_row_depth) { /* the ring's oldest goes */
        evicted[nevicted++] = l->death_row[0];
        death_row_remove_locked(l, 0);
    }
    l->death_row[l->death_row_count++] = c;
    l->death_row_bytes += c.bytes;
    if (c.dirty) l->death_row_dirty_bytes += c.bytes;
    /* Native over its budget: the oldest blocks are unmapped, the last of
     * them only as far as the budget needs (its tail; the rest stays
     * cached). Every native entry is dirty, so unmapping is its purge, and
     * the address space goes back too. At most count + 1 removals in all,
     * within evicted[]. Why the partial cut: neighbours join (above), so the
     * oldest entry is often a union of several blocks, and unmapping all of
     * it to get under the budget by a few MiB threw away pages the next
     * requests then mapped and faulted in afresh: large was bimodal, 56 k
     * page faults in most runs and 76-79 k in about a third (by where ASLR
     * put the first blocks, hence which ones joined); with the cut, 56-61 k
     * in every one of 20 runs. */
    if (native) {
        size_t want = death_row_native_limit_locked(l, live, bytes);
        if (want > limit) limit = want;
        /* The profile's cap bounds libmalloc's part too (RAM / 1024 is
         * 64 MiB on a 64 GiB host). */
        if (limit > l->native_dirty_max_bytes) limit = l->native_dirty_max_bytes;
        while (l->death_row_dirty_bytes > limit && l->death_row_count) {
            cached_t *o = &l->death_row[0];
            size_t cut = align_up(l->death_row_dirty_bytes - limit, l->page_bytes);
            if (o->dirty && cut < o->bytes) {
                evicted[nevicted++] = (cached_t){o->addr + o->bytes - cut, cut, true, o->when_ns};
                o->bytes -= cut;
                l->death_row_bytes -= cut;
                l->death_row_dirty_bytes -= cut;
                break;
            }
            evicted[nevicted++] = *o;
            death_row_remove_locked(l, 0);
        }
    }
    zt_unlock(&l->lock);
    for (unsigned i = 0; i < nevicted; i++)
        zt_va_unmap((void *)evicted[i].addr, evicted[i].bytes, ZT_KIND_LARGE);
    return true;
}

size_t zt_large_pressure_relief(zt_large_t *l, size_t goal_bytes)
{
    size_t released = 0;
    while (goal_bytes == 0 || released < goal_bytes) {
        zt_lock(&l->lock);
        if (l->death_row_count == 0) {
            zt_unlock(&l->lock);
            break;
        }
        cached_t c = l->death_row[0];
        death_row_remove_locked(l, 0);
        zt_unlock(&l->lock);
        zt_va_unmap((void *)c.addr, c.bytes, ZT_KIND_LARGE);
        released += c.bytes;
    }
    return released;
}

void *zt_large_malloc(zt_large_t *l, size_t bytes, size_t align_bytes, bool clear)
{
    size_t page = l->page_bytes;
    size_t align = align_bytes > page ? align_bytes : page;
    if (bytes > SIZE_MAX - page || (align & (align - 1))) {
        errno = ENOMEM;
        return NULL;
    }
    size_t block = bytes ? align_up(bytes, page) : page;
    void *p = NULL;
    if (l->death_row_on && block <= l->death_row_entry_max_bytes && l->death_row_count)
        p = death_row_take(l, block, align, clear, &block); /* 792 magazine_large.c:709-715 */
    /* Native under an address-space limit (ZONETRACE_VA_LIMIT): death row
     * gives back what the fresh block needs before it is mapped, so that a
     * cache of freed blocks never turns a malloc that fits into NULL (and a
     * failure event). Keep 50 MiB, free 100, ask for 110 under a 200 MiB
     * limit: NULL before. The Mac row keeps libmalloc's behaviour, which
     * returns NULL with death row untouched (792.41.1
     * src/magazine_large.c:709-722). */
    if (!p && l->native_dirty_max_bytes && l->death_row_count) {
        size_t room = zt_va_room_bytes();
        if (room < block) zt_large_pressure_relief(l, block - room);
    }
    /* calloc needs zeros; malloc may get a held range's old bytes (va.h) */
    if (!p)
        p = clear ? zt_va_map(ZT_KIND_LARGE, block, align, NULL)
                  : zt_va_map_unzeroed(ZT_KIND_LARGE, block, align, NULL);
    if (!p) return NULL; /* errno = ENOMEM, failure reported by va.c */

    uint32_t tag =
        zt_hook_wanted(block) ? zt_hook_alloc_slow(l->zone, p, block, ZT_CLASS_LARGE) : 0;

    zt_lock(&l->lock);
    if (!reserve_slot_locked(l)) {
        zt_unlock(&l->lock);
        zt_hook_freed(l->zone, p, block, ZT_CLASS_LARGE, tag);
        zt_va_unmap(p, block, ZT_KIND_LARGE);
        errno = ENOMEM;
        return NULL;
    }
    put_locked(l, (entry_t){(uintptr_t)p, block, tag});
    l->count++;
    l->in_use_bytes += block;
    if (l->in_use_bytes > l->peak_in_use_bytes) l->peak_in_use_bytes = l->in_use_bytes;
    if (block > l->largest_bytes) l->largest_bytes = block;
    zt_unlock(&l->lock);
    return p;
}

bool zt_large_free(zt_large_t *l, void *ptr)
{
    uintptr_t a = (uintptr_t)ptr;
    if (!l || a == 0 || (a & (l->page_bytes - 1))) return false;
    zt_lock(&l->lock);
    entry_t *e = find_locked(l, a);
    if (!e) {
        zt_unlock(&l->lock);
        return false;
    }
    entry_t copy = *e;
    remove_locked(l, e);
    l->count--;
    l->in_use_bytes -= copy.bytes;
    zt_unlock(&l->lock);
    zt_hook_freed(l->zone, ptr, copy.bytes, ZT_CLASS_LARGE, copy.tag);
    if (!death_row_put(l, ptr, copy.bytes)) zt_va_unmap(ptr, copy.bytes, ZT_KIND_LARGE);
    return true;
}

bool zt_large_on_death_row(zt_large_t *l, const void *ptr)
{
    if (!l || !l->death_row_on) return false;
    bool found = false;
    zt_lock(&l->lock);
    for (unsigned i = 0; i < l->death_row_count && !found; i++)
        found = l->death_row[i].addr == (uintptr_t)ptr;
    zt_unlock(&l->lock);
    return found;
}

size_t zt_large_size(zt_large_t *l, const void *ptr)
{
    uintptr_t a = (uintptr_t)ptr;
    if (!l || a == 0 || (a & (l->page_bytes - 1))) return 0;
    zt_lock(&l->lock);
    entry_t *e = find_locked(l, a);
    size_t bytes = e ? e->bytes : 0;
    zt_unlock(&l->lock);
    return bytes;
}

bool zt_large_realloc_in_place(zt_large_t *l, void *ptr, size_t new_bytes)
{
    uintptr_t a = (uintptr_t)ptr;
    size_t page = l->page_bytes;
    if (a == 0 || (a & (page - 1)) || new_bytes > SIZE_MAX - page) return false;
    size_t want = new_bytes ? align_up(new_bytes, page) : page;

    zt_lock(&l->lock);
    entry_t *e = find_locked(l, a);
    if (!e) {
        zt_unlock(&l->lock);
        return false;
    }
    size_t old = e->bytes;
    uint32_t old_tag = e->tag;
    if (want == old) {
        zt_unlock(&l->lock);
        return true;
    }
    if (want < old) {
        /* Shrink: the entry shrinks first so a concurrent walk never reports
         * pages that are about to go. */
        e->bytes = want;
        l->in_use_bytes -= old - want;
        zt_unlock(&l->lock);
        zt_va_unmap((char *)ptr + want, old - want, ZT_KIND_LARGE);
    } else {
        zt_unlock(&l->lock);
        if (!zt_va_grow(ptr, old, want - old, ZT_KIND_LARGE)) return false;
        zt_lock(&l->lock);
        e = find_locked(l, a);
        if (e) { /* always, unless the caller freed ptr concurrently */
            e->bytes = want;
            l->in_use_bytes += want - old;
            if (l->in_use_bytes > l->peak_in_use_bytes) l->peak_in_use_bytes = l->in_use_bytes;
            if (want > l->largest_bytes) l->largest_bytes = want;
        }
        zt_unlock(&l->lock);
    }

    /* The profiler sees free(old size) + alloc(new size) of the same address. */
    zt_hook_freed(l->zone, ptr, old, ZT_CLASS_LARGE, old_tag);
    uint32_t tag =
        zt_hook_wanted(want) ? zt_hook_alloc_slow(l->zone, ptr, want, ZT_CLASS_LARGE) : 0;
    if (tag || old_tag) {
        zt_lock(&l->lock);
        e = find_locked(l, a);
        if (e) e->tag = tag;
        zt_unlock(&l->lock);
    }
    return true;
}

void zt_large_walk(zt_large_t *l, const zt_walker_t *w)
{
    zt_lock(&l->lock);
    for (size_t i = 0; i < l->nslots; i++) {
        const entry_t *e = &l->slots[i];
        if (!e->addr) continue;
        if (w->region) w->region(w->ctx, l->zone, ZT_KIND_LARGE, e->addr, e->bytes, e->bytes);
        if (w->block) w->block(w->ctx, e->addr, e->bytes, ZT_CLASS_LARGE, e->tag);
    }
    zt_unlock(&l->lock);
}

/* Fills *stats (does not add): each block is its own mapping, so the space
 * allocated equals the space in use. */
void zt_large_statistics(zt_large_t *l, malloc_statistics_t *stats)
{
    zt_lock(&l->lock);
    stats->blocks_in_use = (unsigned)l->count;
    stats->size_in_use = l->in_use_bytes;
    stats->max_size_in_use = l->peak_in_use_bytes;
    stats->size_allocated = l->in_use_bytes + l->death_row_bytes;
    zt_unlock(&l->lock);
}

void zt_large_force_lock(zt_large_t *l)
{
    zt_lock(&l->lock);
}
void zt_large_force_unlock(zt_large_t *l)
{
    zt_unlock(&l->lock);
}
void zt_large_reinit_lock(zt_large_t *l)
{
    zt_lock_reinit(&l->lock);
}
