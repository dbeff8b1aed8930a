/* ----------------------------------------------------------------------------
 * nano/walk.c — the walker (in process or through a memory reader), the
 * malloc introspection enumerator and zt_nano_walk.
 *
 * A part of nano.c, #included there (as mimalloc includes its sub-parts) so
 * that the hot paths stay in one translation unit and inline; it has no
 * includes of its own and sees nano.c's types and constants.
 * -------------------------------------------------------------------------- */
#ifndef ZT_NANO_C
#error "this file is a part of nano.c and is only included from there"
#endif

/* ---- walking (in process or through a memory reader) --------------------- */

static kern_return_t local_reader(task_t task, vm_address_t addr, vm_size_t size, void **local)
{
    *local = (void *)addr;
    return KERN_SUCCESS;
}

typedef struct walk {
    task_t task;
    memory_reader_t *reader;
    nano_geom_t g;
    unsigned narenas, nregions;
    uintptr_t regions[NANO_MAX_REGIONS]; /* descriptor addresses (in the target) */
    uintptr_t region_base[NANO_MAX_REGIONS];
} walk_t;

static const void *wread(walk_t *w, uintptr_t addr, size_t bytes)
{
    void *local = NULL;
    if (w->reader(w->task, addr, bytes, &local) != KERN_SUCCESS) return NULL;
    return local;
}

static bool walk_open(walk_t *w, task_t task, memory_reader_t *reader, uintptr_t zone_address)
{
    w->task = task;
    w->reader = reader ? reader : local_reader;
    const nano_t *n = wread(w, zone_address + zt_prim_page_bytes(), sizeof(nano_t));
    if (!n) return false;
    w->g = n->g;
    w->narenas = n->arenas_claimed;
    w->nregions = n->nregions;
    if (w->nregions > NANO_MAX_REGIONS) return false;
    memcpy(w->regions, n->regions, w->nregions * sizeof(uintptr_t));
    for (unsigned i = 0; i < w->nregions; i++) {
        const nano_region_t *r = wread(w, w->regions[i], offsetof(nano_region_t, blk));
        if (!r) return false;
        w->region_base[i] = r->base;
    }
    if (w->narenas > w->nregions * NANO_ARENAS_PER_REGION)
        w->narenas = w->nregions * NANO_ARENAS_PER_REGION;
    return true;
}

/* Arenas of region ri that are claimed. */
static unsigned walk_region_arenas(const walk_t *w, unsigned ri)
{
    unsigned first = ri * NANO_ARENAS_PER_REGION;
    if (w->narenas <= first) return 0;
    unsigned k = w->narenas - first;
    return k < NANO_ARENAS_PER_REGION ? k : NANO_ARENAS_PER_REGION;
}

typedef void block_fn(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h);

/* Call fn for every class block of region ri's claimed arenas that has
 * been used (a never-used block, SLOT_NULL, holds nothing any caller
 * counts). Skipping those before the indirect call: a claimed arena has
 * 4096 blocks and a small heap uses a few, so the exit walk of a program
 * with a near-empty heap cost ~35 us in calls that returned at once. */
static void walk_blocks(walk_t *w, unsigned ri, block_fn *fn, void *ctx)
{
    unsigned na = walk_region_arenas(w, ri);
    for (unsigned a = 0; a < na; a++) {
        uintptr_t arena = w->region_base[ri] + ((uintptr_t)a << NANO_ARENA_SHIFT);
        const uint32_t *meta =
            wread(w, arena + ((uintptr_t)w->g.aslr_cookie << NANO_BLOCK_SHIFT), NANO_BLOCK_BYTES);
        if (!meta) continue;
        for (unsigned cls = 0; cls < ZT_NANO_CLASSES; cls++)
            for (unsigned b = w->g.class_first[cls]; b < w->g.class_end[cls]; b++) {
                unsigned phys = b ^ w->g.aslr_cookie;
                uint32_t h = __atomic_load_n(&meta[meta_index(phys)], __ATOMIC_ACQUIRE);
                if (h_next(h) != SLOT_NULL) fn(w, ctx, ri, block_addr(arena, phys), cls, h);
            }
    }
}

/* Live slots of one block (start addresses), by high water and guard. */
typedef void slot_fn(void *ctx, uintptr_t addr, unsigned cls);

static void walk_slots(walk_t *w, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h, slot_fn *fn,
                       void *ctx)
{
    if (!h_has_slots(h)) return;
    const uint16_t *hwp = wread(w,
                                w->regions[ri] + offsetof(nano_region_t, blk) +
                                    ((blk >> NANO_BLOCK_SHIFT) & (NANO_BLOCKS_PER_REGION - 1)) *
                                        sizeof(nano_block_word_t) +
                                    offsetof(nano_block_word_t, hw),
                                sizeof(uint16_t));
    if (!hwp) return;
    unsigned hw = *hwp;
    unsigned slots = w->g.slots[cls];
    if (hw > slots) hw = slots;
    const char *mem = wread(w, blk, NANO_BLOCK_BYTES);
    if (!mem) return;
    size_t size = class_bytes(cls);
    for (unsigned i = 0; i < hw; i++) {
        uintptr_t addr = blk + i * size;
        uint64_t guard = __atomic_load_n((const uint64_t *)(mem + i * size), __ATOMIC_RELAXED);
        if (guard != (w->g.guard_cookie ^ addr)) fn(ctx, addr, cls);
    }
}

typedef struct usage {
    size_t live_slots, live_bytes, touched_bytes;
    size_t class_live[ZT_NANO_CLASSES], class_blocks[ZT_NANO_CLASSES];
} usage_t;

static void usage_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    usage_t *u = ctx;
    unsigned next = h_next(h);
    if (next == SLOT_NULL || next == SLOT_MADVISED) return;
    unsigned live = w->g.slots[cls] - h_free_slots(h, w->g.slots[cls]);
    u->live_slots += live;
    u->live_bytes += live * class_bytes(cls);
    u->touched_bytes += NANO_BLOCK_BYTES;
    u->class_live[cls] += live;
    u->class_blocks[cls]++;
}

static void usage_region(walk_t *w, unsigned ri, usage_t *u)
{
    walk_blocks(w, ri, usage_block, u);
    u->touched_bytes += walk_region_arenas(w, ri) * NANO_BLOCK_BYTES; /* metadata blocks */
}

/* ---- enumerator ------------------------------------------------------------ */

#define ENUM_BATCH 64

typedef struct enum_ctx {
    task_t task;
    void *context;
    vm_range_recorder_t *recorder;
    unsigned type;
    unsigned count;
    vm_range_t ranges[ENUM_BATCH];
} enum_ctx_t;

static void enum_flush(enum_ctx_t *e)
{
    if (e->count) e->recorder(e->task, e->context, e->type, e->ranges, e->count);
    e->count = 0;
}

static void enum_add(enum_ctx_t *e, uintptr_t addr, size_t bytes)
{
    e->ranges[e->count].address = addr;
    e->ranges[e->count].size = bytes;
    if (++e->count == ENUM_BATCH) enum_flush(e);
}

static void enum_slot(void *ctx, uintptr_t addr, unsigned cls)
{
    enum_add(ctx, addr, class_bytes(cls));
}

typedef struct enum_walk {
    enum_ctx_t *e;
} enum_walk_t;

static void enum_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    walk_slots(w, ri, blk, cls, h, enum_slot, ((enum_walk_t *)ctx)->e);
}

static kern_return_t nano_enumerator(task_t task, void *context, unsigned type_mask,
                                     vm_address_t zone_address, memory_reader_t reader,
                                     vm_range_recorder_t recorder)
{
    walk_t w;
    if (task == 0)
        zt_tcache_flush_mine(ZT_TCACHE_NANO,
                             zone_nano((malloc_zone_t *)zone_address)->tc_id); /* this process */
    if (!walk_open(&w, task, reader, zone_address)) return KERN_FAILURE;
    enum_ctx_t e = {.task = task, .context = context, .recorder = recorder};
    if (type_mask & MALLOC_ADMIN_REGION_RANGE_TYPE) {
        e.type = MALLOC_ADMIN_REGION_RANGE_TYPE;
        for (unsigned a = 0; a < w.narenas; a++)
            enum_add(&e,
                     w.region_base[a / NANO_ARENAS_PER_REGION] +
                         ((uintptr_t)(a % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT) +
                         ((uintptr_t)w.g.aslr_cookie << NANO_BLOCK_SHIFT),
                     NANO_BLOCK_BYTES);
        enum_flush(&e);
    }
    if (type_mask & MALLOC_PTR_REGION_RANGE_TYPE) {
        e.type = MALLOC_PTR_REGION_RANGE_TYPE;
        for (unsigned a = 0; a < w.narenas; a++)
            enum_add(&e,
                     w.region_base[a / NANO_ARENAS_PER_REGION] +
                         ((uintptr_t)(a % NANO_ARENAS_PER_REGION) << NANO_ARENA_SHIFT),
                     NANO_ARENA_BYTES);
        enum_flush(&e);
    }
    if (type_mask & MALLOC_PTR_IN_USE_RANGE_TYPE) {
        e.type = MALLOC_PTR_IN_USE_RANGE_TYPE;
        enum_walk_t ew = {&e};
        for (unsigned ri = 0; ri < w.nregions; ri++)
            walk_blocks(&w, ri, enum_block, &ew);
        enum_flush(&e);
    }
    return KERN_SUCCESS;
}

/* ---- zt_nano_walk ------------------------------------------------------------ */

typedef struct zwalk {
    const zt_walker_t *zw;
    nano_region_t *r;
} zwalk_t;

static void zwalk_slot(void *ctx, uintptr_t addr, unsigned cls)
{
    zwalk_t *z = ctx;
    z->zw->block(z->zw->ctx, addr, class_bytes(cls), ZT_CLASS_NANO_FIRST + cls,
                 tag_peek(z->r, addr));
}

static void zwalk_block(walk_t *w, void *ctx, unsigned ri, uintptr_t blk, unsigned cls, uint32_t h)
{
    walk_slots(w, ri, blk, cls, h, zwalk_slot, ctx);
}

void zt_nano_walk(malloc_zone_t *zone, const zt_walker_t *zw)
{
    nano_t *n = zone_nano(zone);
    walk_t w;
    zt_tcache_flush_mine(ZT_TCACHE_NANO, n->tc_id);
    zt_lock(&n->regions_lock); /* no new arenas or regions during the walk */
    if (walk_open(&w, 0, NULL, (uintptr_t)zone)) {
        for (unsigned ri = 0; ri < w.nregions; ri++) {
            usage_t u;
            memset(&u, 0, sizeof u);
            usage_region(&w, ri, &u);
            if (zw->region)
                zw->region(zw->ctx, zone, ZT_KIND_NANO, w.region_base[ri], NANO_REGION_BYTES,
                           u.live_bytes);
            if (zw->admin)
                for (unsigned a = 0; a < walk_region_arenas(&w, ri); a++)
                    zw->admin(zw->ctx,
                              w.region_base[ri] + ((uintptr_t)a << NANO_ARENA_SHIFT) +
                                  ((uintptr_t)w.g.aslr_cookie << NANO_BLOCK_SHIFT),
                              NANO_BLOCK_BYTES);
            if (zw->block) {
                zwalk_t z = {zw, n->regions[ri]};
                walk_blocks(&w, ri, zwalk_block, &z);
            }
        }
    }
    zt_unlock(&n->regions_lock);
}
