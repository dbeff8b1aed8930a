/* ----------------------------------------------------------------------------
 * account.c — live accounting: counters per (stack, zone) and per (zone,
 * size class), kept in the record file so they survive SIGKILL.
 *
 * Hot-path cost per allocation or free, chosen so that the file is exact at
 * any instant without paying for contended lines:
 *  - (stack, zone): two atomic adds (blocks, bytes); on allocation the peak
 *    is checked with plain loads of the same line and CASed only on a new
 *    high. These lines are shared by every thread using the stack.
 *  - (zone, class): two plain load+store pairs into the calling thread's
 *    own shard of class counters (ZT_REC_SHARDS per zone, in the file; a
 *    shard has one writer at a time, so no lock prefix). A thread that
 *    finds no free shard uses the zone's shared shard with atomic adds.
 *  - per stack over all zones: nothing; the snapshot sums the zones into
 *    the stack entry (readers sum them themselves for current values).
 * Shards are claimed at a thread's first counted operation and reclaimed
 * from threads that have exited (their tid no longer exists), so a program
 * that churns through threads keeps reusing the same few.
 * Peaks of sums (a zone's class over shards, a stack over zones, a zone)
 * are folded in by the monitor at each snapshot: lower bounds, exact to
 * the snapshot period.
 * -------------------------------------------------------------------------- */
#include "internal.h"

static malloc_zone_t *zone_ptrs[ZT_REC_MAX_ZONES];
static unsigned zone_count;
static unsigned zone_generation; /* bumped when an index is added (address reuse) */
static zt_lock_t zone_lock = ZT_LOCK_INIT;

static __thread malloc_zone_t *tls_zone_last;
static __thread int tls_zone_last_index;
static __thread unsigned tls_zone_generation;

static int shard_owner[ZT_REC_SHARDS]; /* tid of the thread writing shard s, 0 = free */
static __thread int tls_shard;         /* 0 = not claimed yet, -1 = none, else shard + 1 */

/* Copy the zone's current name (a string in the process, set at creation
 * or later with malloc_set_zone_name); bounded, never past a NUL. */
static void zone_publish(unsigned z)
{
    malloc_zone_t *zone = zone_ptrs[z];
    const char *name = zone ? zone->zone_name : NULL;
    zt_record_zone(z, name, (uint64_t)(uintptr_t)zone);
}

static int zone_append_locked(malloc_zone_t *zone)
{
    unsigned n = zone_count;
    if (n >= ZT_REC_MAX_ZONES) return -1;
    zone_ptrs[n] = zone;
    __atomic_store_n(&zone_count, n + 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&zone_generation, 1, __ATOMIC_RELEASE);
    zone_publish(n);
    return (int)n;
}

static int zone_add(malloc_zone_t *zone)
{
    zt_lock(&zone_lock);
    int z = -1;
    for (unsigned i = zone_count; i-- > 0;)
        if (zone_ptrs[i] == zone) {
            z = (int)i;
            break;
        }
    if (z < 0) z = zone_append_locked(zone);
    zt_unlock(&zone_lock);
    return z;
}

static int zone_index_slow(malloc_zone_t *zone, unsigned gen);

/* The zone's index, from the thread's memo of the last zone it used (a
 * program allocates from one or two zones; the generation catches an index
 * added for a reused address). */
static inline int zone_index(malloc_zone_t *zone)
{
    unsigned gen = __atomic_load_n(&zone_generation, __ATOMIC_ACQUIRE);
    if (zt_likely(zone == tls_zone_last && gen == tls_zone_generation && zone))
        return tls_zone_last_index;
    return zone_index_slow(zone, gen);
}

int zt_account_zone_index(malloc_zone_t *zone)
{
    return zone_index(zone);
}

static int zone_index_slow(malloc_zone_t *zone, unsigned gen)
{
    unsigned n = __atomic_load_n(&zone_count, __ATOMIC_ACQUIRE);
    int z = -1;
    for (unsigned i = n; i-- > 0;) /* newest first: a destroyed zone's address may be reused */
        if (zone_ptrs[i] == zone) {
            z = (int)i;
            break;
        }
    if (z < 0) z = zone ? zone_add(zone) : -1;
    if (z >= 0) {
        tls_zone_last = zone;
        tls_zone_last_index = z;
        tls_zone_generation = gen;
    }
    return z;
}

void zt_account_zone_created(malloc_zone_t *zone)
{
    if (zone == NULL) return;
    zt_lock(&zone_lock);
    unsigned n = zone_count;
    if (!(n > 0 && zone_ptrs[n - 1] == zone))
        zone_append_locked(zone); /* a new zone at a reused address gets a new index */
    zt_unlock(&zone_lock);
}

void zt_account_publish_zones(void)
{
    zt_lock(&zone_lock);
    for (unsigned i = 0; i < zone_count; i++)
        zone_publish(i);
    zt_unlock(&zone_lock);
}

/* Names may be set after creation (malloc_set_zone_name): snapshots copy
 * them again, for the zones in `live` (registered now, so their
 * malloc_zone_t is mapped). The name is a string in the process that a
 * concurrent rename may free: it is probed first (zt_prim_readable, unless
 * probing itself is unavailable) and copied with a bounded loop. */
void zt_account_refresh_zone_names(malloc_zone_t *const *live, unsigned nlive)
{
    if (!zt_rec_open || !zt_trylock(&zone_lock)) return;
    bool probe = nlive > 0 && zt_prim_readable(live[0], sizeof *live[0]);
    for (unsigned i = 0; i < zone_count; i++) {
        malloc_zone_t *zone = zone_ptrs[i];
        bool alive = false;
        for (unsigned j = 0; j < nlive && !alive; j++)
            alive = live[j] == zone;
        if (!alive) continue;
        const char *name = __atomic_load_n(&zone->zone_name, __ATOMIC_ACQUIRE);
        if (name && probe && !zt_prim_readable(name, 1)) continue;
        zt_record_zone_name(i, name);
    }
    zt_unlock(&zone_lock);
}

/* ---- per-thread class shards ------------------------------------------------ */

static int shard_claim(void)
{
    int tid = zt_prim_tid();
    for (unsigned s = 0; s < ZT_REC_SHARDS; s++) {
        int owner = __atomic_load_n(&shard_owner[s], __ATOMIC_ACQUIRE);
        if (owner == tid ||
            (owner == 0 && __atomic_compare_exchange_n(&shard_owner[s], &owner, tid, false,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)))
            return (int)s + 1;
    }
    /* All taken: reclaim one whose thread has exited (it can write no more). */
    for (unsigned s = 0; s < ZT_REC_SHARDS; s++) {
        int owner = __atomic_load_n(&shard_owner[s], __ATOMIC_ACQUIRE);
        if (owner != 0 && !zt_prim_pid_alive(owner) &&
            __atomic_compare_exchange_n(&shard_owner[s], &owner, tid, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int)s + 1;
    }
    return -1;
}

void zt_account_fork_child(void)
{
    /* Only the forking thread survives: every other shard is free again. */
    int mine = tls_shard;
    for (unsigned s = 0; s < ZT_REC_SHARDS; s++)
        __atomic_store_n(&shard_owner[s], 0, __ATOMIC_RELAXED);
    if (mine > 0) __atomic_store_n(&shard_owner[mine - 1], zt_prim_tid(), __ATOMIC_RELEASE);
    zt_lock_reinit(&zone_lock);
}

/* The calling thread's class counters for zone z, or NULL (then the shared
 * shard, with atomics). */
static inline zt_rec_counters_t *own_classes(int z)
{
    int s = tls_shard;
    if (zt_unlikely(s <= 0)) {
        if (s < 0) return NULL;
        s = tls_shard = shard_claim();
        if (s < 0) return NULL;
    }
    zt_rec_counters_t *c = __atomic_load_n(&zt_rec.shard_classes[z][s - 1], __ATOMIC_ACQUIRE);
    if (zt_likely(c != NULL)) return c;
    return zt_record_class_shard((unsigned)z, (unsigned)s - 1);
}

/* Single-writer add: no lock prefix, but a whole aligned 64-bit store so a
 * reader of the file never sees a torn value. */
static inline void own_add(uint64_t *f, uint64_t v)
{
    __atomic_store_n(f, __atomic_load_n(f, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline void counters_alloc(zt_rec_counters_t *c, uint64_t blocks, uint64_t bytes)
{
    __atomic_fetch_add(&c->total_blocks, blocks, __ATOMIC_RELAXED);
    uint64_t total = __atomic_add_fetch(&c->total_bytes, bytes, __ATOMIC_RELAXED);
    uint64_t live = total - __atomic_load_n(&c->freed_bytes, __ATOMIC_RELAXED);
    uint64_t peak = __atomic_load_n(&c->peak_bytes, __ATOMIC_RELAXED);
    while (zt_unlikely(live > peak && live < (1ull << 62)))
        if (__atomic_compare_exchange_n(&c->peak_bytes, &peak, live, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            break;
}

static inline void counters_free(zt_rec_counters_t *c, uint64_t blocks, uint64_t bytes)
{
    __atomic_fetch_add(&c->freed_blocks, blocks, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->freed_bytes, bytes, __ATOMIC_RELAXED);
}

static inline void account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks,
                                 uint64_t bytes)
{
    if (zone < 0 || zone >= ZT_REC_MAX_ZONES) return;
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    if (zs) counters_alloc(zs, blocks, bytes);
    if (cls >= ZT_REC_CLASSES) return;
    zt_rec_counters_t *own = own_classes(zone);
    if (zt_likely(own != NULL)) {
        own_add(&own[cls].total_blocks, blocks);
        own_add(&own[cls].total_bytes, bytes);
        return;
    }
    zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[zone], __ATOMIC_ACQUIRE);
    if (zc) {
        __atomic_fetch_add(&zc[cls].total_blocks, blocks, __ATOMIC_RELAXED);
        __atomic_fetch_add(&zc[cls].total_bytes, bytes, __ATOMIC_RELAXED);
    }
}

static inline void account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks,
                                uint64_t bytes)
{
    if (zone < 0 || zone >= ZT_REC_MAX_ZONES) return;
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    if (zs) counters_free(zs, blocks, bytes);
    if (cls >= ZT_REC_CLASSES) return;
    zt_rec_counters_t *own = own_classes(zone);
    if (zt_likely(own != NULL)) {
        own_add(&own[cls].freed_blocks, blocks);
        own_add(&own[cls].freed_bytes, bytes);
        return;
    }
    zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[zone], __ATOMIC_ACQUIRE);
    if (zc) counters_free(&zc[cls], blocks, bytes);
}

void zt_account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    account_alloc(id, zone, cls, blocks, bytes);
}

void zt_account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    account_free(id, zone, cls, blocks, bytes);
}

void zt_account_alloc_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                         uint64_t bytes)
{
    account_alloc(id, zone_index(zone), cls, blocks, bytes);
}

void zt_account_free_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                        uint64_t bytes)
{
    account_free(id, zone_index(zone), cls, blocks, bytes);
}

/* ---- sums (monitor, snapshot, exit) ---------------------------------------- */

static inline uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint64_t live_of(const zt_rec_counters_t *c)
{
    return c->total_bytes > c->freed_bytes ? c->total_bytes - c->freed_bytes : 0;
}

/* Sum every zone's class shards: class peaks go into the shared shard's
 * peak_bytes (which only this function writes), zone totals into the
 * header. Returns live bytes over all zones (for the timeline). */
uint64_t zt_account_live_bytes(void)
{
    if (!zt_rec_open) return 0;
    uint64_t live_all = 0;
    unsigned nz = __atomic_load_n(&zt_rec.hdr->nzones, __ATOMIC_ACQUIRE);
    for (unsigned z = 0; z < nz && z < ZT_REC_MAX_ZONES; z++) {
        zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[z], __ATOMIC_ACQUIRE);
        if (zc == NULL) continue;
        zt_rec_counters_t *shard[ZT_REC_SHARDS];
        unsigned ns = 0;
        for (unsigned s = 0; s < ZT_REC_SHARDS; s++) {
            zt_rec_counters_t *c = __atomic_load_n(&zt_rec.shard_classes[z][s], __ATOMIC_ACQUIRE);
            if (c) shard[ns++] = c;
        }
        zt_rec_counters_t sum = {0, 0, 0, 0, 0};
        for (unsigned c = 0; c < ZT_REC_CLASSES; c++) {
            zt_rec_counters_t cs = {ld(&zc[c].total_blocks), ld(&zc[c].total_bytes),
                                    ld(&zc[c].freed_blocks), ld(&zc[c].freed_bytes), 0};
            for (unsigned s = 0; s < ns; s++) {
                cs.total_blocks += ld(&shard[s][c].total_blocks);
                cs.total_bytes += ld(&shard[s][c].total_bytes);
                cs.freed_blocks += ld(&shard[s][c].freed_blocks);
                cs.freed_bytes += ld(&shard[s][c].freed_bytes);
            }
            uint64_t live = live_of(&cs);
            if (live > ld(&zc[c].peak_bytes))
                __atomic_store_n(&zc[c].peak_bytes, live, __ATOMIC_RELAXED);
            sum.total_blocks += cs.total_blocks;
            sum.total_bytes += cs.total_bytes;
            sum.freed_blocks += cs.freed_blocks;
            sum.freed_bytes += cs.freed_bytes;
        }
        zt_rec_counters_t *t = &zt_rec.hdr->zones[z].total;
        uint64_t live = live_of(&sum);
        sum.peak_bytes = t->peak_bytes > live ? t->peak_bytes : live;
        *t = sum;
        live_all += live;
    }
    return live_all;
}

/* Fold the zones' per-stack counters into each stack entry's total (the
 * over-all-zones view, and its peak as seen at snapshots). */
void zt_account_sum_stacks(void)
{
    if (!zt_rec_open) return;
    uint32_t n = __atomic_load_n(&zt_rec.hdr->nstacks, __ATOMIC_ACQUIRE);
    unsigned nz = __atomic_load_n(&zt_rec.hdr->nzones, __ATOMIC_ACQUIRE);
    if (nz > ZT_REC_MAX_ZONES) nz = ZT_REC_MAX_ZONES;
    for (uint32_t id = 1; id <= n; id++) {
        zt_rec_stack_t *e = zt_record_stack(id, false);
        if (e == NULL) break;
        zt_rec_counters_t sum = {0, 0, 0, 0, 0};
        uint64_t peak = e->total.peak_bytes;
        for (unsigned z = 0; z < nz; z++) {
            zt_rec_counters_t *c = zt_record_zone_stack(z, id, false);
            if (c == NULL) continue;
            sum.total_blocks += ld(&c->total_blocks);
            sum.total_bytes += ld(&c->total_bytes);
            sum.freed_blocks += ld(&c->freed_blocks);
            sum.freed_bytes += ld(&c->freed_bytes);
            uint64_t p = ld(&c->peak_bytes);
            if (p > peak) peak = p;
        }
        uint64_t live = live_of(&sum);
        sum.peak_bytes = live > peak ? live : peak;
        __atomic_store_n(&e->total.total_blocks, sum.total_blocks, __ATOMIC_RELAXED);
        __atomic_store_n(&e->total.total_bytes, sum.total_bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&e->total.freed_blocks, sum.freed_blocks, __ATOMIC_RELAXED);
        __atomic_store_n(&e->total.freed_bytes, sum.freed_bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&e->total.peak_bytes, sum.peak_bytes, __ATOMIC_RELAXED);
    }
}
