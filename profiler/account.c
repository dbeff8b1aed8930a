/* ----------------------------------------------------------------------------
 * account.c — live accounting: counters per stack, per (stack, zone) and per
 * (zone, size class), kept in the record file so they survive SIGKILL.
 *
 * Each counter set is total/freed pairs (live = total - freed), so an
 * allocation costs two atomic adds per set and a free two more; the peak is
 * checked with plain loads and only CASed when a new high is reached. Zone
 * totals are derived from the class counters by the monitor (no contended
 * per-zone line on the hot path).
 * -------------------------------------------------------------------------- */
#include "internal.h"

static malloc_zone_t *zone_ptrs[ZT_REC_MAX_ZONES];
static unsigned zone_count;
static zt_lock_t zone_lock = ZT_LOCK_INIT;

static void zone_publish(unsigned z)
{
    malloc_zone_t *zone = zone_ptrs[z];
    const char *name = zone ? zone->zone_name : NULL;
    zt_record_zone(z, name, (uint64_t)(uintptr_t)zone);
}

static int zone_add(malloc_zone_t *zone)
{
    zt_lock(&zone_lock);
    unsigned n = zone_count;
    int z = -1;
    for (unsigned i = n; i-- > 0;)
        if (zone_ptrs[i] == zone) {
            z = (int)i;
            break;
        }
    if (z < 0 && n < ZT_REC_MAX_ZONES) {
        zone_ptrs[n] = zone;
        __atomic_store_n(&zone_count, n + 1, __ATOMIC_RELEASE);
        z = (int)n;
        zone_publish(n);
    }
    zt_unlock(&zone_lock);
    return z;
}

int zt_account_zone_index(malloc_zone_t *zone)
{
    unsigned n = __atomic_load_n(&zone_count, __ATOMIC_ACQUIRE);
    for (unsigned i = n; i-- > 0;) /* newest first: a destroyed zone's address may be reused */
        if (zone_ptrs[i] == zone)
            return (int)i;
    return zone ? zone_add(zone) : -1;
}

void zt_account_zone_created(malloc_zone_t *zone)
{
    if (zone == NULL)
        return;
    zt_lock(&zone_lock);
    unsigned n = zone_count;
    bool newest = n > 0 && zone_ptrs[n - 1] == zone;
    zt_unlock(&zone_lock);
    if (!newest) {
        /* A new zone at a reused address gets a new index. */
        zt_lock(&zone_lock);
        n = zone_count;
        if (n < ZT_REC_MAX_ZONES) {
            zone_ptrs[n] = zone;
            __atomic_store_n(&zone_count, n + 1, __ATOMIC_RELEASE);
            zone_publish(n);
        }
        zt_unlock(&zone_lock);
    }
}

void zt_account_publish_zones(void)
{
    zt_lock(&zone_lock);
    for (unsigned i = 0; i < zone_count; i++)
        zone_publish(i);
    zt_unlock(&zone_lock);
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

void zt_account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    zt_rec_stack_t *e = zt_record_stack(id, false);
    if (e)
        counters_alloc(&e->total, blocks, bytes);
    if (zone < 0)
        return;
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    if (zs)
        counters_alloc(zs, blocks, bytes);
    zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[zone], __ATOMIC_ACQUIRE);
    if (zc && cls < ZT_REC_CLASSES)
        counters_alloc(&zc[cls], blocks, bytes);
}

void zt_account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    zt_rec_stack_t *e = zt_record_stack(id, false);
    if (e)
        counters_free(&e->total, blocks, bytes);
    if (zone < 0)
        return;
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    if (zs)
        counters_free(zs, blocks, bytes);
    zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[zone], __ATOMIC_ACQUIRE);
    if (zc && cls < ZT_REC_CLASSES)
        counters_free(&zc[cls], blocks, bytes);
}

/* Sum the class counters into each zone's total (monitor thread). */
uint64_t zt_account_live_bytes(void)
{
    if (!zt_rec_open)
        return 0;
    uint64_t live_all = 0;
    unsigned nz = __atomic_load_n(&zt_rec.hdr->nzones, __ATOMIC_ACQUIRE);
    for (unsigned z = 0; z < nz && z < ZT_REC_MAX_ZONES; z++) {
        zt_rec_counters_t *zc = __atomic_load_n(&zt_rec.zone_classes[z], __ATOMIC_ACQUIRE);
        if (zc == NULL)
            continue;
        zt_rec_counters_t sum = {0, 0, 0, 0, 0};
        for (unsigned c = 0; c < ZT_REC_CLASSES; c++) {
            sum.total_blocks += __atomic_load_n(&zc[c].total_blocks, __ATOMIC_RELAXED);
            sum.total_bytes += __atomic_load_n(&zc[c].total_bytes, __ATOMIC_RELAXED);
            sum.freed_blocks += __atomic_load_n(&zc[c].freed_blocks, __ATOMIC_RELAXED);
            sum.freed_bytes += __atomic_load_n(&zc[c].freed_bytes, __ATOMIC_RELAXED);
        }
        zt_rec_counters_t *t = &zt_rec.hdr->zones[z].total;
        uint64_t live = sum.total_bytes > sum.freed_bytes ? sum.total_bytes - sum.freed_bytes : 0;
        sum.peak_bytes = t->peak_bytes > live ? t->peak_bytes : live;
        *t = sum;
        live_all += live;
    }
    return live_all;
}
