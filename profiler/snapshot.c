/* ----------------------------------------------------------------------------
 * snapshot.c — the parts of the record that are computed by walking: the
 * region table, the address-space charge, the address-space map of limited
 * profiles, the module list and the header's address-space figures.
 *
 * Address-space charge: a tiny/small/medium region's bytes are split among
 * the stacks whose live blocks are in it, in proportion to their live bytes
 * there (a large block is its own region, so it is charged to its own
 * stack). The nano region is different: its 512 MiB are only reserved, and
 * pages are used 16 KiB nano block by nano block; so each nano block that
 * holds live slots is charged (16 KiB) in proportion to the live bytes in
 * that block, and the never-used rest of the region is charged to nobody
 * (the region's va_used_kib counts the blocks in use). This relies on the
 * nano walker reporting a block's slots together, which zone/nano.c does.
 * Per region (or nano block) we gather tag → bytes in a small
 * open-addressing map, then add each share to a (zone, stack) → va map;
 * both live in profiler-mapped scratch memory (the walker's callbacks hold
 * zone locks: no allocator calls).
 *
 * Cells: the same walk counts live blocks and bytes per (zone, size class,
 * stack) into a third map (sample mode: a stack's cell holds its weighted
 * estimate, stack 0's every block of the zone and class, exactly); with
 * the regions, charges and va runs they make a moment (ZT_REC_SEC_MOMENT):
 * the END moment at every walk, the first failure (and each zone's first)
 * taken in the failing thread when it holds no allocator lock, else by the
 * next walk, and the peaks of live heap and of heap address space when
 * they pass the stored one by the step (zt_snapshot_peak_step: max(1 MiB,
 * 1/8 of the stored peak), so a run pays at most about nine extra walks of
 * its peak heap, a geometric series).
 *
 * Cost: one walk of every live block, done by the monitor about once a
 * second, at exit, at a crash outside the allocator and for the moments.
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <string.h>

#include "registry.h"
#include "va.h"

typedef struct kv {
    uint64_t key; /* 0 = empty */
    uint64_t val;
    uint64_t val2; /* cells: blocks */
} kv_t;

typedef struct kvmap {
    kv_t *slots;
    uint32_t *used; /* indexes of the count filled slots, in insertion order */
    uint64_t mask, count, map_bytes;
} kvmap_t;

/* Growable scratch array in mapped memory. */
typedef struct scratch {
    uint8_t *p;
    size_t len, cap;
} scratch_t;

static zt_lock_t snap_lock = ZT_LOCK_INIT;

static bool kv_init(kvmap_t *m, uint64_t want)
{
    uint64_t slots = 1024;
    while (slots < want * 2)
        slots *= 2;
    if (m->slots && m->mask + 1 >= slots) {
        memset(m->slots, 0, (m->mask + 1) * sizeof(kv_t));
        m->count = 0;
        return true;
    }
    if (m->slots) zt_prim_unmap(m->slots, m->map_bytes);
    m->map_bytes = slots * (sizeof(kv_t) + sizeof(uint32_t));
    m->slots = zt_prim_map(m->map_bytes);
    m->used = m->slots ? (uint32_t *)(m->slots + slots) : NULL;
    m->mask = slots - 1;
    m->count = 0;
    return m->slots != NULL;
}

/* Empty the map in O(entries), not O(slots): regions and nano blocks hold
 * few stacks, the map is sized for all of them. */
static void kv_clear(kvmap_t *m)
{
    for (uint64_t k = 0; k < m->count; k++) {
        kv_t *s = &m->slots[m->used[k]];
        s->key = 0;
        s->val = 0;
        s->val2 = 0;
    }
    m->count = 0;
}

static kv_t *kv_get(kvmap_t *m, uint64_t key, bool create)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    for (uint64_t i = (h >> 20) & m->mask;; i = (i + 1) & m->mask) {
        kv_t *s = &m->slots[i];
        if (s->key == key) return s;
        if (s->key == 0) {
            if (!create || (m->count + 1) * 4 > (m->mask + 1) * 3)
                return NULL; /* full: the caller counts it as unattributed */
            s->key = key;
            m->used[m->count++] = (uint32_t)i;
            return s;
        }
    }
}

static bool scratch_push(scratch_t *s, const void *rec, size_t bytes)
{
    if (bytes == 0) return true;
    if (s->len + bytes > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : (64u << 10);
        while (cap < s->len + bytes)
            cap *= 2;
        uint8_t *p = zt_prim_map(cap);
        if (p == NULL) return false;
        if (s->p) {
            memcpy(p, s->p, s->len);
            zt_prim_unmap(s->p, s->cap);
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, rec, bytes);
    s->len += bytes;
    return true;
}

/* ---- the zone walk --------------------------------------------------------- */

#define NANO_BLOCK_BYTES 16384u /* libmalloc nano v2's block (zone/nano.c) */

struct walk {
    int zone;           /* index of the zone being walked */
    int zone_of_region; /* index of the current region's zone */
    bool in_region;
    bool nano; /* the current region is a nano region */
    zt_rec_region_t region;
    uint64_t block_bytes;  /* sum of the region's blocks (actual bytes) */
    uint64_t tagged_bytes; /* sum of weighted tagged bytes */
    uintptr_t nano_blk;    /* nano block being gathered, 0 = none */
    uint64_t nano_blk_bytes, nano_blk_tagged;
    uint64_t nano_blocks; /* nano blocks holding live slots in this region */
    bool sampled;
    uint64_t sample_mean;
    uint64_t last_cell_key; /* the cell of the previous block (0 = none) */
    kv_t *last_cell;
    uint64_t zone_va[ZT_REC_MAX_ZONES];
};

static kvmap_t region_map; /* stack id -> weighted live bytes in the current region */
static kvmap_t block_map;  /* stack id -> weighted live bytes in the current nano block */
static kvmap_t charge_map; /* (zone << 32 | id) -> charged va bytes */
static kvmap_t cell_map;   /* (zone+1) << 41 | cls << 32 | id -> live bytes, blocks */

static void charge(int zone, uint32_t id, uint64_t bytes)
{
    kv_t *c = kv_get(&charge_map, ((uint64_t)(unsigned)zone << 32) | id, true);
    if (c) c->val += bytes;
}

/* Charge the gathered nano block's 16 KiB to its stacks. */
static void nano_block_flush(struct walk *w)
{
    if (w->nano_blk == 0) return;
    w->nano_blk = 0;
    w->nano_blocks++;
    uint64_t denom =
        w->nano_blk_bytes > w->nano_blk_tagged ? w->nano_blk_bytes : w->nano_blk_tagged;
    for (uint64_t k = 0; k < block_map.count; k++) {
        kv_t *s = &block_map.slots[block_map.used[k]];
        if (denom) charge(w->zone_of_region, (uint32_t)s->key, NANO_BLOCK_BYTES * s->val / denom);
    }
    kv_clear(&block_map);
    w->nano_blk_bytes = 0;
    w->nano_blk_tagged = 0;
}
static scratch_t regions_buf, charges_buf, runs_buf, modules_buf, strings_buf, cells_buf,
    moment_buf;
static struct walk walk_state;

static void region_flush(struct walk *w)
{
    if (!w->in_region) return;
    if (w->nano) nano_block_flush(w);
    w->in_region = false;
    uint64_t denom = w->region.used_bytes;
    if (denom < w->block_bytes) denom = w->block_bytes;
    if (denom < w->tagged_bytes) denom = w->tagged_bytes;
    uint64_t top_bytes = 0;
    uint32_t top = 0;
    for (uint64_t k = 0; k < region_map.count; k++) {
        kv_t *s = &region_map.slots[region_map.used[k]];
        uint32_t id = (uint32_t)s->key;
        if (s->val > top_bytes) {
            top_bytes = s->val;
            top = id;
        }
        if (!w->nano) /* nano blocks were charged one by one */
            charge(w->zone_of_region, id,
                   denom ? (uint64_t)((zt_u128)w->region.bytes * s->val / denom) : 0);
    }
    kv_clear(&region_map);
    w->region.top_stack = top;
    uint64_t va_used = w->nano ? w->nano_blocks * NANO_BLOCK_BYTES : w->region.bytes;
    uint64_t va_used_kib = (va_used + 1023) >> 10;
    w->region.va_used_kib = va_used_kib > UINT32_MAX ? UINT32_MAX : (uint32_t)va_used_kib;
    if (w->region.used_bytes < w->block_bytes) w->region.used_bytes = w->block_bytes;
    scratch_push(&regions_buf, &w->region, sizeof w->region);
}

static void walk_region(void *ctx, malloc_zone_t *zone, enum zt_kind kind, uintptr_t base,
                        size_t bytes, size_t used_bytes)
{
    struct walk *w = ctx;
    region_flush(w);
    int z = zone ? zt_account_zone_index(zone) : w->zone;
    w->in_region = true;
    w->nano = kind == ZT_KIND_NANO;
    w->zone_of_region = z >= 0 ? z : w->zone;
    w->region = (zt_rec_region_t){base, bytes, used_bytes, (int32_t)kind, z, 0, 0};
    w->block_bytes = 0;
    w->tagged_bytes = 0;
    w->nano_blk = 0;
    w->nano_blk_bytes = 0;
    w->nano_blk_tagged = 0;
    w->nano_blocks = 0;
    if (z >= 0 && z < ZT_REC_MAX_ZONES) w->zone_va[z] += bytes;
}

static void walk_block(void *ctx, uintptr_t addr, size_t bytes, unsigned cls, uint32_t tag)
{
    struct walk *w = ctx;
    if (!w->in_region) return;
    w->block_bytes += bytes;
    if (w->nano) {
        uintptr_t blk = addr & ~(uintptr_t)(NANO_BLOCK_BYTES - 1);
        if (blk != w->nano_blk) {
            nano_block_flush(w);
            w->nano_blk = blk;
        }
        w->nano_blk_bytes += bytes;
    }
    uint64_t wblocks = 1, weighted = bytes;
    if (tag && w->sampled) {
        wblocks = zt_sample_weight_q16(bytes, w->sample_mean);
        weighted = (uint64_t)(((zt_u128)bytes * wblocks) >> 16);
    } else if (w->sampled) {
        wblocks = 1u << 16; /* Q16 like the weighted ones */
    }
    if (w->zone_of_region >= 0 && cls < ZT_REC_CLASSES) {
        uint64_t key = ((uint64_t)(w->zone_of_region + 1) << 41) | ((uint64_t)cls << 32) | tag;
        /* Neighbouring blocks mostly share their cell: skip the hash then. */
        kv_t *c = key == w->last_cell_key ? w->last_cell : kv_get(&cell_map, key, true);
        w->last_cell_key = key;
        w->last_cell = c;
        if (c) {
            c->val += weighted;
            c->val2 += wblocks;
        }
        /* Sample mode: the untagged cell holds every block of the zone and
         * class at its size, so zone and class figures stay exact (the
         * tagged cells' weights already stand for the unsampled blocks:
         * adding those at face value to them would count them twice). */
        if (tag && w->sampled) {
            kv_t *all = kv_get(&cell_map, key & ~(uint64_t)UINT32_MAX, true);
            if (all) {
                all->val += bytes;
                all->val2 += 1u << 16;
            }
        }
    }
    if (tag == 0) return;
    w->tagged_bytes += weighted;
    kv_t *s = kv_get(&region_map, tag, true);
    if (s) s->val += weighted;
    if (w->nano) {
        w->nano_blk_tagged += weighted;
        kv_t *b = kv_get(&block_map, tag, true);
        if (b) b->val += weighted;
    }
}

static bool walk_zones(zt_rec_header_t *h)
{
    malloc_zone_t *zones[ZT_REC_MAX_ZONES];
    unsigned nz = zt_registry_zones(zones, ZT_REC_MAX_ZONES);
    zt_account_refresh_zone_names(zones, nz);
    struct walk *w = &walk_state;
    memset(w, 0, sizeof *w);
    w->sampled = h->stacks_mode == ZT_STACKS_SAMPLE;
    w->sample_mean = h->sample_bytes ? h->sample_bytes : 1;
    uint64_t nstacks = __atomic_load_n(&h->nstacks, __ATOMIC_ACQUIRE);
    if (!kv_init(&region_map, nstacks + 16) || !kv_init(&block_map, 1024) ||
        !kv_init(&charge_map, 2 * nstacks + 64) || !kv_init(&cell_map, 2 * nstacks + 256))
        return false;
    regions_buf.len = 0;
    charges_buf.len = 0;
    cells_buf.len = 0;
    zt_walker_t walker = {walk_region, walk_block, NULL, w};
    for (unsigned i = 0; i < nz; i++) {
        w->zone = zt_account_zone_index(zones[i]);
        zt_zone_walk(zones[i], &walker);
        region_flush(w);
    }
    for (uint64_t i = 0; i <= charge_map.mask; i++) {
        kv_t *s = &charge_map.slots[i];
        if (s->key == 0 || s->val == 0) continue;
        zt_rec_charge_t c = {(uint32_t)s->key, (uint32_t)(s->key >> 32), s->val};
        scratch_push(&charges_buf, &c, sizeof c);
    }
    for (uint64_t k = 0; k < cell_map.count; k++) {
        kv_t *s = &cell_map.slots[cell_map.used[k]];
        zt_rec_cell_t c = {(uint32_t)s->key, (uint16_t)((s->key >> 41) - 1),
                           (uint16_t)((s->key >> 32) & 0x1ff), s->val2, s->val};
        scratch_push(&cells_buf, &c, sizeof c);
    }
    zt_record_section(&h->regions_off, ZT_REC_SEC_REGIONS,
                      regions_buf.len / sizeof(zt_rec_region_t), regions_buf.p,
                      sizeof(zt_rec_region_t), NULL, 0);
    zt_record_section(&h->charges_off, ZT_REC_SEC_CHARGES,
                      charges_buf.len / sizeof(zt_rec_charge_t), charges_buf.p,
                      sizeof(zt_rec_charge_t), NULL, 0);
    unsigned nzr = h->nzones;
    for (unsigned z = 0; z < nzr && z < ZT_REC_MAX_ZONES; z++)
        if (zt_rec.zone[z])
            __atomic_store_n(&zt_rec.zone[z]->va_bytes, w->zone_va[z], __ATOMIC_RELAXED);
    return true;
}

/* ---- address-space map and modules ---------------------------------------- */

struct runs_ctx {
    unsigned window;
};

static void run_cb(void *ctx, uintptr_t base, size_t bytes, int kind)
{
    int window = -1;
    for (unsigned i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++) {
        uintptr_t wb;
        size_t wbytes;
        if (zt_va_window(i, &wb, &wbytes) && base >= wb && base < wb + wbytes) {
            window = (int)i;
            break;
        }
    }
    zt_rec_va_run_t r = {base, bytes, kind, window};
    scratch_push(&runs_buf, &r, sizeof r);
}

static int module_cb(void *ctx, const zt_prim_module_t *m)
{
    bool *main_seen = ctx;
    const char *path = m->path;
    if (path[0] == 0 && !*main_seen) {
        /* The main program is listed first with an empty name: record the
         * executable's absolute path (readlink /proc/self/exe at open). */
        *main_seen = true;
        path = zt_rec.hdr->exe;
    }
    size_t len = 0;
    while (path[len] && len < 4095)
        len++;
    zt_rec_module_t r;
    memset(&r, 0, sizeof r);
    r.base = m->base;
    r.bytes = m->bytes;
    r.bias = m->bias;
    r.path_off = (uint32_t)strings_buf.len; /* relative to the strings; fixed up below */
    r.path_len = (uint32_t)len;
    if (m->build_id && m->build_id_len) {
        r.build_id_len = m->build_id_len > 20 ? 20 : m->build_id_len;
        memcpy(r.build_id, m->build_id, r.build_id_len);
    }
    char nul = 0;
    scratch_push(&modules_buf, &r, sizeof r);
    scratch_push(&strings_buf, path, len);
    scratch_push(&strings_buf, &nul, 1);
    return 0;
}

static uint64_t modules_generation = UINT64_MAX;

static void snapshot_modules(zt_rec_header_t *h)
{
    uint64_t g = zt_prim_modules_generation();
    if (g == modules_generation && h->modules_off) return;
    modules_buf.len = 0;
    strings_buf.len = 0;
    bool main_seen = false;
    zt_prim_modules(module_cb, &main_seen);
    uint64_t count = modules_buf.len / sizeof(zt_rec_module_t);
    uint32_t strings_at = (uint32_t)(sizeof(zt_rec_section_t) + modules_buf.len);
    for (uint64_t i = 0; i < count; i++)
        ((zt_rec_module_t *)modules_buf.p)[i].path_off += strings_at;
    if (zt_record_section(&h->modules_off, ZT_REC_SEC_MODULES, count, modules_buf.p,
                          sizeof(zt_rec_module_t), strings_buf.p, strings_buf.len))
        modules_generation = g;
}

/* ---- moments ------------------------------------------------------------------ */

/* Failure claims: 0 none, 1 claimed (moment pending), 2 written. */
static int first_state;
static zt_rec_event_t first_event;
static int zone_state[ZT_REC_MAX_ZONES];
static zt_rec_event_t zone_event[ZT_REC_MAX_ZONES];
static uint64_t first_failures, zone_failures[ZT_REC_MAX_ZONES]; /* h->failures at the claim */
static uint64_t peak_live_stored, peak_va_stored; /* the peaks the moments were taken at */
static uint64_t last_va_used, last_va_peak;

uint64_t zt_snapshot_peak_step(uint64_t stored_bytes)
{
    uint64_t step = stored_bytes / 8;
    return step > (1u << 20) ? step : (1u << 20);
}

static bool walked_ok;
/* h->failures and the heap's peak when the walk began: a failure claimed
 * after that (during the walk) waits for the next walk, which sees the heap
 * as the failure left it. */
static uint64_t walk_failures, walk_live_peak;

/* One moment from the buffers of the walk just made. */
static bool moment_write(uint64_t *slot, bool once, uint32_t kind, int zone,
                         const zt_rec_event_t *ev, uint64_t failures)
{
    zt_rec_moment_t mo;
    memset(&mo, 0, sizeof mo);
    mo.kind = kind;
    mo.zone = zone;
    mo.time_ns = zt_record_now_ns();
    zt_account_heap_live(&mo.live_bytes, &mo.live_blocks);
    mo.va_used_bytes = last_va_used;
    mo.failures = failures;
    if (ev) {
        mo.has_event = 1;
        mo.event = *ev;
    }
    mo.ncells = cells_buf.len / sizeof(zt_rec_cell_t);
    mo.nregions = regions_buf.len / sizeof(zt_rec_region_t);
    mo.ncharges = charges_buf.len / sizeof(zt_rec_charge_t);
    mo.nruns = runs_buf.len / sizeof(zt_rec_va_run_t);
    moment_buf.len = 0;
    if (!scratch_push(&moment_buf, cells_buf.p, cells_buf.len) ||
        !scratch_push(&moment_buf, regions_buf.p, regions_buf.len) ||
        !scratch_push(&moment_buf, charges_buf.p, charges_buf.len) ||
        !scratch_push(&moment_buf, runs_buf.p, runs_buf.len))
        return false;
    return once ? zt_record_section_once(slot, ZT_REC_SEC_MOMENT, 1, &mo, sizeof mo, moment_buf.p,
                                         moment_buf.len)
                : zt_record_section(slot, ZT_REC_SEC_MOMENT, 1, &mo, sizeof mo, moment_buf.p,
                                    moment_buf.len);
}

/* After a walk (snap_lock held): END, pending failures, peaks. */
static void moments_after_walk(void)
{
    zt_rec_header_t *h = zt_rec.hdr;
    if (!walked_ok) return;
    moment_write(&h->moments_off[ZT_REC_MOMENT_END], false, ZT_REC_MOMENT_END, -1, NULL,
                 __atomic_load_n(&h->failures, __ATOMIC_RELAXED));
    if (__atomic_load_n(&first_state, __ATOMIC_ACQUIRE) == 1 && first_failures <= walk_failures) {
        if (moment_write(&h->moments_off[ZT_REC_MOMENT_FIRST_FAILURE], true,
                         ZT_REC_MOMENT_FIRST_FAILURE, first_event.zone, &first_event,
                         first_failures))
            __atomic_store_n(&first_state, 2, __ATOMIC_RELEASE);
    }
    unsigned nz = h->nzones < ZT_REC_MAX_ZONES ? h->nzones : ZT_REC_MAX_ZONES;
    for (unsigned z = 0; z < nz; z++) {
        zt_rec_zone_t *rz = zt_rec.zone[z];
        if (rz == NULL || __atomic_load_n(&zone_state[z], __ATOMIC_ACQUIRE) != 1 ||
            zone_failures[z] > walk_failures)
            continue;
        bool same = first_event.zone == (int32_t)z && first_failures == zone_failures[z] &&
                    h->moments_off[ZT_REC_MOMENT_FIRST_FAILURE];
        bool ok =
            same ? (__atomic_store_n(&rz->first_failure_off,
                                     h->moments_off[ZT_REC_MOMENT_FIRST_FAILURE], __ATOMIC_RELEASE),
                    true)
                 : moment_write(&rz->first_failure_off, true, ZT_REC_MOMENT_ZONE_FAILURE, (int)z,
                                &zone_event[z], zone_failures[z]);
        if (ok) __atomic_store_n(&zone_state[z], 2, __ATOMIC_RELEASE);
    }
    uint64_t live_peak = walk_live_peak;
    if (live_peak >= peak_live_stored + zt_snapshot_peak_step(peak_live_stored) &&
        moment_write(&h->moments_off[ZT_REC_MOMENT_PEAK_LIVE], false, ZT_REC_MOMENT_PEAK_LIVE, -1,
                     NULL, __atomic_load_n(&h->failures, __ATOMIC_RELAXED)))
        peak_live_stored = live_peak;
    if (last_va_peak >= peak_va_stored + zt_snapshot_peak_step(peak_va_stored) &&
        moment_write(&h->moments_off[ZT_REC_MOMENT_PEAK_VA], false, ZT_REC_MOMENT_PEAK_VA, -1, NULL,
                     __atomic_load_n(&h->failures, __ATOMIC_RELAXED)))
        peak_va_stored = last_va_peak;
}

static void snapshot_locked(int flags);

void zt_snapshot_failure(const zt_rec_event_t *ev, bool may_walk)
{
    if (!zt_rec_open) return;
    zt_rec_header_t *h = zt_rec.hdr;
    uint64_t n = __atomic_add_fetch(&h->failures, 1, __ATOMIC_ACQ_REL);
    bool due = false;
    int expect = 0;
    if (__atomic_load_n(&first_state, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_compare_exchange_n(&first_state, &expect, 3, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        first_event = *ev;
        first_failures = n;
        __atomic_store_n(&first_state, 1, __ATOMIC_RELEASE);
        due = true;
    }
    int z = ev->zone;
    if (z >= 0 && z < ZT_REC_MAX_ZONES) {
        if (zt_rec.zone[z]) __atomic_fetch_add(&zt_rec.zone[z]->failures, 1, __ATOMIC_RELAXED);
        expect = 0;
        if (__atomic_load_n(&zone_state[z], __ATOMIC_ACQUIRE) == 0 &&
            __atomic_compare_exchange_n(&zone_state[z], &expect, 3, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            zone_event[z] = *ev;
            zone_failures[z] = n;
            __atomic_store_n(&zone_state[z], 1, __ATOMIC_RELEASE);
            due = true;
        }
    }
    bool pending =
        due || __atomic_load_n(&first_state, __ATOMIC_ACQUIRE) == 1 ||
        (z >= 0 && z < ZT_REC_MAX_ZONES && __atomic_load_n(&zone_state[z], __ATOMIC_ACQUIRE) == 1);
    if (!pending || !may_walk || !zt_initialised) return;
    /* The failing thread holds no allocator lock: walk now, while the heap
     * is as the failure found it (the program may free it all next). */
    zt_lock(&snap_lock);
    snapshot_locked(ZT_SNAP_WALK);
    zt_unlock(&snap_lock);
}

bool zt_snapshot_moments_due(bool peaks)
{
    if (!zt_rec_open || !zt_initialised) return false;
    zt_rec_header_t *h = zt_rec.hdr;
    bool due = __atomic_load_n(&first_state, __ATOMIC_ACQUIRE) == 1;
    unsigned nz = h->nzones < ZT_REC_MAX_ZONES ? h->nzones : ZT_REC_MAX_ZONES;
    for (unsigned z = 0; z < nz && !due; z++)
        due = __atomic_load_n(&zone_state[z], __ATOMIC_ACQUIRE) == 1;
    if (!due && !peaks) return false;
    uint64_t live_peak = __atomic_load_n(&h->heap.peak_bytes, __ATOMIC_RELAXED);
    if (live_peak >= peak_live_stored + zt_snapshot_peak_step(peak_live_stored)) due = true;
    if (!due) {
        zt_va_stats_t st;
        memset(&st, 0, sizeof st);
        zt_va_get_stats(&st);
        due = st.peak_used_bytes >= peak_va_stored + zt_snapshot_peak_step(peak_va_stored);
    }
    if (due) zt_snapshot(ZT_SNAP_WALK);
    return due;
}

void zt_snapshot(int flags)
{
    if (!zt_rec_open || !zt_trylock(&snap_lock)) return;
    snapshot_locked(flags);
    zt_unlock(&snap_lock);
}

void zt_snapshot_wait(int flags, uint64_t wait_ns)
{
    if (!zt_rec_open) return;
    uint64_t deadline = zt_prim_now_ns() + wait_ns;
    while (!zt_trylock(&snap_lock)) {
        if (zt_prim_now_ns() >= deadline) return; /* a snapshot stuck: the record keeps the last */
        zt_prim_sleep_ns(200000);
    }
    snapshot_locked(flags);
    zt_unlock(&snap_lock);
}

static void snapshot_locked(int flags)
{
    zt_rec_header_t *h = zt_rec.hdr;
    walked_ok = false;
    if (zt_initialised) {
        zt_va_stats_t st;
        memset(&st, 0, sizeof st);
        zt_va_get_stats(&st);
        h->va_limit_bytes = st.limit_bytes;
        h->va_used_bytes = st.used_bytes;
        h->va_peak_bytes = st.peak_used_bytes;
        h->largest_free_bytes = st.largest_free_bytes;
        h->largest_aligned_1m_bytes = st.largest_aligned_1m_bytes;
        h->largest_aligned_8m_bytes = st.largest_aligned_8m_bytes;
        last_va_used = st.used_bytes;
        last_va_peak = st.peak_used_bytes;
        walk_failures = __atomic_load_n(&h->failures, __ATOMIC_ACQUIRE);
        walk_live_peak = __atomic_load_n(&h->heap.peak_bytes, __ATOMIC_RELAXED);
        if (flags & ZT_SNAP_WALK) walked_ok = walk_zones(h);
        runs_buf.len = 0;
        if (zt_va_limited()) {
            zt_va_walk(run_cb, NULL);
            zt_record_section(&h->va_runs_off, ZT_REC_SEC_VA_RUNS,
                              runs_buf.len / sizeof(zt_rec_va_run_t), runs_buf.p,
                              sizeof(zt_rec_va_run_t), NULL, 0);
        }
        if (flags & ZT_SNAP_WALK) moments_after_walk();
    }
    if (flags & ZT_SNAP_MODULES) snapshot_modules(h);
    __atomic_store_n(&h->snapshot_wall_ns, zt_prim_wall_ns(), __ATOMIC_RELEASE);
}
