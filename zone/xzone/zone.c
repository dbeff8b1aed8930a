/* ----------------------------------------------------------------------------
 * xzone/zone.c — the xzone zone's malloc_zone_t (version 16, as xzone's basic
 * zone, xzone_malloc.c:6166) and its introspection: enumerator, statistics,
 * good_size, pressure relief, fork locks, walk.
 *
 * A part of xzone.c, #included there (as nano/ and rack/ are) so that the
 * entry points inline the allocation paths; it has no includes of its own.
 * -------------------------------------------------------------------------- */
#ifndef ZT_XZONE_C
#error "this file is a part of xzone.c and is only included from there"
#endif

static malloc_introspection_t xzone_introspect;

static size_t zone_area_bytes(void)
{
    size_t page = zt_prim_page_bytes();
    return page > (16u << 10) ? page : (16u << 10);
}

static inline xz_state_t *state_of(const malloc_zone_t *zone)
{
    return (xz_state_t *)((char *)zone + zone_area_bytes());
}

static inline segment_t *own_segment(const malloc_zone_t *zone, const void *ptr)
{
    zt_owner_t *o = zt_chunkmap_get(ptr);
    if (o && ZT_KIND_IS_XZ(o->kind) && o->zone == zone) return (segment_t *)o;
    return NULL;
}

static void null_returned(malloc_zone_t *zone, size_t bytes, unsigned cls)
{
    zt_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = ZT_EV_NULL_RETURNED;
    ev.cls = cls;
    ev.kind = (int32_t)zt_class_kind(cls);
    ev.zone = zone;
    ev.size = bytes;
    zt_va_stats_t vs;
    zt_va_get_stats(&vs);
    ev.va_used = vs.used_bytes;
    ev.va_limit = vs.limit_bytes;
    zt_hook_event(&ev);
    errno = ENOMEM;
}

static void account_alloc_locked(xz_state_t *st, size_t bytes)
{
    st->blocks_in_use++;
    st->size_in_use += bytes;
    if (st->size_in_use > st->max_size_in_use) st->max_size_in_use = st->size_in_use;
}

/* Tag a new block (outside the lock, as every zone calls the hook). */
static void tag_new(xz_state_t *st, segment_t *seg, void *p, size_t bytes, unsigned cls)
{
    if (!zt_hook_wanted(bytes)) return;
    uint32_t tag = zt_hook_alloc_slow(st->zone, p, bytes, cls);
    if (!tag) return;
    zt_lock(&st->lock);
    uint32_t *t = tag_slot(seg, (uintptr_t)p, true);
    if (t) *t = tag;
    zt_unlock(&st->lock);
}

/* One allocation. align: 0 or a power of two above 16 (memalign's large path).
 * mfm: the early arena may serve it (not for memalign, xzone_malloc.c:3651). */
static void *xz_alloc(malloc_zone_t *zone, size_t size, size_t align, bool clear, bool mfm)
{
    xz_state_t *st = state_of(zone);
    segment_t *seg = NULL;
    void *p = NULL;
    size_t bytes;
    unsigned cls;
    unsigned bucket = bucket_for_call(st);
    zt_lock(&st->lock);
    if (size <= ZT_XZ_SMALL_MAX_BYTES && align == 0) {
        unsigned bin = zt_xzone_bin(size);
        unsigned xzi = bin * BUCKETS + bucket;
        bytes = bin_bytes[bin];
        cls = ZT_CLASS_XZ_FIRST + bin;
        if (mfm && st->early && st->xz[xzi].early_budget) {
            p = early_alloc(st, xzi);
            seg = st->early;
        }
        if (!p) p = block_alloc(st, xzi, &seg);
    } else {
        cls = ZT_CLASS_XZ_LARGE;
        bytes = size;
        p = large_alloc(st, size, align, bucket == BUCKET_DATA, &seg, &cls, &bytes);
    }
    if (p) account_alloc_locked(st, bytes);
    zt_unlock(&st->lock);
    if (zt_unlikely(!p)) {
        null_returned(zone, size, cls);
        return NULL;
    }
    /* calloc clears the block here; xzone would rely on zero-on-free for
     * blocks <= 1 KiB (XZM_ZERO_ON_FREE_THRESHOLD) and on fresh pages. */
    if (clear) memset(p, 0, bytes);
    tag_new(st, seg, p, bytes, cls);
    return p;
}

static void *xzone_malloc(malloc_zone_t *zone, size_t size)
{
    return xz_alloc(zone, size, 0, false, true);
}

static void *xzone_calloc(malloc_zone_t *zone, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { /* xzone_malloc.c:4893 */
        errno = ENOMEM;
        return NULL;
    }
    return xz_alloc(zone, total, 0, true, true);
}

/* _xzm_memalign's ladder (xzone_malloc.c:3609-3668). */
static void *xzone_memalign(malloc_zone_t *zone, size_t align, size_t size)
{
    if (align & (align - 1)) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= ZT_XZ_GRANULE) return xz_alloc(zone, size, 0, false, false);
    if (size > ZT_XZ_SMALL_MAX_BYTES || align > ZT_XZ_SLICE_BYTES)
        return xz_alloc(zone, size, align, false, false);
    if (size <= align) return xz_alloc(zone, align, 0, false, false);
    if (size <= 2 * align) return xz_alloc(zone, 2 * align, 0, false, false);
    if (size < 4 * align) return xz_alloc(zone, round_up(size, 4 * align), 0, false, false);
    return xz_alloc(zone, size, 0, false, false);
}

static void *xzone_valloc(malloc_zone_t *zone, size_t size)
{
    return xzone_memalign(zone, zt_profile_page_bytes(&zt_active_profile), size);
}

/* Free ptr in segment seg of this zone (reports what is not a live block). */
static void free_in(segment_t *seg, void *ptr)
{
    xz_state_t *st = seg->st;
    uintptr_t p = (uintptr_t)ptr;
    slice_t *c = NULL;
    unsigned i = 0;
    zt_lock(&st->lock);
    size_t bytes = block_at(seg, p, &c, &i);
    if (!bytes) {
        zt_unlock(&st->lock);
        if (p - seg->base >= seg->bytes) { /* past a huge chunk's end, in its last MiB */
            zt_registry_free(ptr);
            return;
        }
        zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
        return;
    }
    unsigned cls = seg->huge                  ? ZT_CLASS_XZ_HUGE
                   : c && c->kind == SK_LARGE ? ZT_CLASS_XZ_LARGE
                                              : ZT_CLASS_XZ_FIRST + zt_xzone_bin(bytes);
    uint32_t tag = tag_take(seg, p);
    st->blocks_in_use--;
    st->size_in_use -= bytes;
    block_free(st, seg, c, i, p, bytes);
    zt_unlock(&st->lock);
    zt_hook_freed(st->zone, ptr, bytes, cls, tag);
}

void zt_xzone_free_owned(zt_owner_t *o, void *ptr)
{
    free_in((segment_t *)o, ptr);
}

size_t zt_xzone_size_owned(zt_owner_t *o, const void *ptr)
{
    segment_t *seg = (segment_t *)o;
    slice_t *c;
    unsigned i;
    zt_lock(&seg->st->lock);
    size_t bytes = block_at(seg, (uintptr_t)ptr, &c, &i);
    zt_unlock(&seg->st->lock);
    return bytes;
}

static size_t xzone_size(malloc_zone_t *zone, const void *ptr)
{
    segment_t *seg = own_segment(zone, ptr);
    return seg ? zt_xzone_size_owned(&seg->owner, ptr) : 0;
}

static void xzone_free(malloc_zone_t *zone, void *ptr)
{
    if (!ptr) return;
    segment_t *seg = own_segment(zone, ptr);
    if (zt_likely(seg != NULL)) {
        free_in(seg, ptr);
        return;
    }
    if (zt_bootstrap_contains(ptr)) return;
    size_t bytes;
    malloc_zone_t *owner = zt_registry_find(ptr, &bytes);
    if (owner && owner != zone) {
        owner->free(owner, ptr);
        return;
    }
    if (!owner && !zt_chunkmap_get(ptr) && zt_szone_foreign_free) {
        zt_szone_foreign_free(ptr);
        return;
    }
    zt_error_bad_free(ZT_BAD_NOT_ALLOCATED, ptr, zt_error_caller);
}

static void xzone_free_definite_size(malloc_zone_t *zone, void *ptr, size_t size)
{
    xzone_free(zone, ptr);
}

static size_t xzone_good_size(malloc_zone_t *zone, size_t size)
{
    if (size <= ZT_XZ_SMALL_MAX_BYTES) return bin_bytes[zt_xzone_bin(size)]; /* :5334-5345 */
    size_t r = round_up(size, ZT_XZ_SLICE_BYTES);
    return r < size ? size : r;
}

/* xzm_realloc (xzone_malloc.c:4734-4830): keep the block when the new size
 * fits it and wastes at most half, else allocate, copy and free. */
static void *xzone_realloc(malloc_zone_t *zone, void *ptr, size_t size)
{
    if (!ptr) return xzone_malloc(zone, size);
    segment_t *seg = own_segment(zone, ptr);
    size_t old = seg ? zt_xzone_size_owned(&seg->owner, ptr) : 0;
    if (!old) {
        size_t ob;
        malloc_zone_t *owner = seg ? NULL : zt_registry_find(ptr, &ob);
        if (owner && owner != zone) return owner->realloc(owner, ptr, size);
        if (!seg && !owner && !zt_chunkmap_get(ptr) && zt_szone_foreign_realloc &&
            !zt_bootstrap_contains(ptr))
            return zt_szone_foreign_realloc(ptr, size);
        if (zt_bootstrap_contains(ptr)) {
            void *n = xzone_malloc(zone, size);
            if (n) {
                size_t b = zt_bootstrap_size(ptr);
                memcpy(n, ptr, b < size ? b : size);
            }
            return n;
        }
        zt_error_bad_free(ZT_BAD_REALLOC_NOT_ALLOCATED, ptr, zt_error_caller);
        return NULL;
    }
    if (size == 0) {
        free_in(seg, ptr);
        return xzone_malloc(zone, 0);
    }
    if (size <= old && size >= old / 2) return ptr;
    void *n = xzone_malloc(zone, size);
    if (!n) return NULL;
    memcpy(n, ptr, old < size ? old : size);
    free_in(seg, ptr);
    return n;
}

static unsigned xzone_batch_malloc(malloc_zone_t *zone, size_t size, void **results, unsigned num)
{
    unsigned i = 0;
    for (; i < num; i++)
        if (!(results[i] = xzone_malloc(zone, size))) break;
    return i;
}

static void xzone_batch_free(malloc_zone_t *zone, void **ptrs, unsigned num)
{
    for (unsigned i = 0; i < num; i++)
        xzone_free(zone, ptrs[i]);
}

/* Purge the pages of every empty chunk this zone keeps (the last chunk of an
 * xzone and free spans of pointer segments); returns the bytes purged.
 * pressure_relief itself returns 0, as the magazines' does. */
size_t zt_xzone_relieve(malloc_zone_t *zone, size_t goal)
{
    xz_state_t *st = state_of(zone);
    size_t total = 0;
    zt_lock(&st->lock);
    for (unsigned x = 0; x < NXZONES; x++) {
        slice_t *c = st->xz[x].partial;
        if (c && c->used == 0) {
            segment_t *seg = segment_of_slice(c);
            size_t b = (size_t)c->nslices << ZT_XZ_SLICE_SHIFT;
            zt_va_purge((void *)slice_addr(seg, c), b);
            total += b;
        }
    }
    for (unsigned g = 0; g < ZT_XZ_GROUPS; g++)
        for (unsigned q = 0; q < ZT_XZ_SPAN_QUEUES; q++)
            for (slice_t *s = st->spans[g][q]; s; s = s->next) {
                segment_t *seg = segment_of_slice(s);
                size_t b = (size_t)s->nslices << ZT_XZ_SLICE_SHIFT;
                zt_va_purge((void *)slice_addr(seg, s), b);
                total += b;
            }
    zt_unlock(&st->lock);
    (void)goal;
    return total;
}

static size_t xzone_pressure_relief(malloc_zone_t *zone, size_t goal)
{
    (void)zt_xzone_relieve(zone, goal);
    return 0;
}

static boolean_t xzone_claimed_address(malloc_zone_t *zone, void *ptr)
{
    segment_t *seg = own_segment(zone, ptr);
    return seg && (uintptr_t)ptr - seg->base < seg->bytes;
}

static void xzone_destroy(malloc_zone_t *zone)
{
    xz_state_t *st = state_of(zone);
    zt_lock(&st->lock);
    while (st->segments)
        segment_free(st, st->segments);
    for (unsigned i = 0; i < st->ntag_slabs; i++)
        zt_prim_unmap(st->tag_slabs[i], TAG_SLAB_BYTES);
    st->magic = 0;
    zt_unlock(&st->lock);
    zt_prim_unmap(zone, st->map_bytes);
}

/* ---- walk and introspection --------------------------------------------------------- */

/* Every segment is a region of kind XZ_DATA or XZ_PTR (the profiler charges
 * its whole address space to the stacks of its live blocks), then its live
 * blocks. Called with nothing held; takes the zone lock. */
void zt_xzone_walk(malloc_zone_t *zone, const zt_walker_t *w)
{
    xz_state_t *st = state_of(zone);
    zt_lock(&st->lock);
    for (segment_t *seg = st->segments; seg; seg = seg->next) {
        if (w->region)
            w->region(w->ctx, zone, (enum zt_kind)seg->owner.kind, seg->base, seg->bytes,
                      seg->live_bytes);
        if (!w->block) continue;
        if (seg->early) {
            for (uintptr_t p = seg->base; p < st->early_next; p += ZT_XZ_GRANULE) {
                uint8_t b = seg->early_bin[(p - seg->base) / ZT_XZ_GRANULE];
                if (b && b != EARLY_DEAD)
                    w->block(w->ctx, p, bin_bytes[b - 1], ZT_CLASS_XZ_FIRST + b - 1,
                             seg->tags ? seg->tags[(p - seg->base) / ZT_XZ_GRANULE] : 0);
            }
            continue;
        }
        if (seg->huge) {
            w->block(w->ctx, seg->base, seg->bytes, ZT_CLASS_XZ_HUGE, seg->huge_tag);
            continue;
        }
        for (unsigned i = 0; i < seg->nslices;) {
            slice_t *c = &seg->slices[i];
            unsigned n = c->nslices ? c->nslices : 1;
            if (c->kind == SK_TINY || c->kind == SK_SMALL || c->kind == SK_LARGE) {
                size_t bsize = c->kind == SK_LARGE ? (size_t)n << ZT_XZ_SLICE_SHIFT
                                                   : bin_bytes[c->xz / BUCKETS];
                unsigned cls =
                    c->kind == SK_LARGE ? ZT_CLASS_XZ_LARGE : ZT_CLASS_XZ_FIRST + c->xz / BUCKETS;
                uintptr_t cb = slice_addr(seg, c);
                for (unsigned b = 0; b < c->nblocks; b++)
                    if (c->bits[b >> 6] >> (b & 63) & 1) {
                        uintptr_t p = cb + (size_t)b * bsize;
                        w->block(w->ctx, p, bsize, cls, c->tags ? c->tags[b] : 0);
                    }
            }
            i += n;
        }
    }
    if (w->admin) w->admin(w->ctx, (uintptr_t)zone, st->map_bytes);
    zt_unlock(&st->lock);
}

void zt_xzone_get_stats(malloc_zone_t *zone, zt_xzone_stats_t *out)
{
    xz_state_t *st = state_of(zone);
    memset(out, 0, sizeof *out);
    zt_lock(&st->lock);
    for (segment_t *seg = st->segments; seg; seg = seg->next) {
        if (seg->early) {
            out->early_bytes = st->early_next - seg->base;
            continue;
        }
        out->segment_bytes[seg->group] += seg->bytes;
        out->live_bytes[seg->group] += seg->live_bytes;
        if (seg->huge)
            out->huge_segments++;
        else
            out->segments[seg->group]++;
    }
    for (unsigned x = 0; x < NXZONES; x++)
        for (slice_t *c = st->xz[x].isolated; c; c = c->next)
            out->sequestered_chunks++;
    zt_unlock(&st->lock);
}

int zt_xzone_group_of(malloc_zone_t *zone, const void *ptr, uintptr_t *segment_base)
{
    segment_t *seg = own_segment(zone, ptr);
    if (!seg) return -1;
    if (segment_base) *segment_base = seg->base;
    return seg->group;
}

/* The enumerator walks without the lock (the recorder is user code and may
 * call malloc): segments are collected first into a private mapping. */
static kern_return_t xzone_enumerator(task_t task, void *context, unsigned type_mask,
                                      vm_address_t zone_address, memory_reader_t reader,
                                      vm_range_recorder_t recorder)
{
    void *local = (void *)zone_address;
    if (reader) {
        kern_return_t kr = reader(task, zone_address, sizeof(malloc_zone_t), &local);
        if (kr != KERN_SUCCESS) return kr;
    }
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (!zt_xzone_is(zone) || !recorder) return KERN_FAILURE;
    xz_state_t *st = state_of(zone);
    /* Count, map, fill, deliver. */
    size_t cap = 0;
    zt_lock(&st->lock);
    for (segment_t *seg = st->segments; seg; seg = seg->next)
        cap += 1 + seg->live_blocks;
    zt_unlock(&st->lock);
    cap += 64; /* blocks allocated in between are not enumerated (libmalloc's walk is racy too) */
    size_t map = round_up(cap * (sizeof(vm_range_t) + 1), zt_prim_page_bytes());
    vm_range_t *r = zt_prim_map(map);
    if (!r) return KERN_FAILURE;
    uint8_t *types = (uint8_t *)(r + cap);
    size_t n = 0;
    zt_lock(&st->lock);
    for (segment_t *seg = st->segments; seg && n < cap; seg = seg->next) {
        r[n] = (vm_range_t){seg->base, seg->bytes};
        types[n++] = MALLOC_PTR_REGION_RANGE_TYPE;
        if (seg->huge && n < cap) {
            r[n] = (vm_range_t){seg->base, seg->bytes};
            types[n++] = MALLOC_PTR_IN_USE_RANGE_TYPE;
        } else if (!seg->early) {
            for (unsigned i = 0; i < seg->nslices && n < cap;) {
                slice_t *c = &seg->slices[i];
                unsigned ns = c->nslices ? c->nslices : 1;
                if (c->kind == SK_TINY || c->kind == SK_SMALL || c->kind == SK_LARGE) {
                    size_t bsize = c->kind == SK_LARGE ? (size_t)ns << ZT_XZ_SLICE_SHIFT
                                                       : bin_bytes[c->xz / BUCKETS];
                    for (unsigned b = 0; b < c->nblocks && n < cap; b++)
                        if (c->bits[b >> 6] >> (b & 63) & 1) {
                            r[n] = (vm_range_t){slice_addr(seg, c) + b * bsize, bsize};
                            types[n++] = MALLOC_PTR_IN_USE_RANGE_TYPE;
                        }
                }
                i += ns;
            }
        } else {
            for (uintptr_t p = seg->base; p < st->early_next && n < cap; p += ZT_XZ_GRANULE) {
                uint8_t b = seg->early_bin[(p - seg->base) / ZT_XZ_GRANULE];
                if (b && b != EARLY_DEAD) {
                    r[n] = (vm_range_t){p, bin_bytes[b - 1]};
                    types[n++] = MALLOC_PTR_IN_USE_RANGE_TYPE;
                }
            }
        }
    }
    zt_unlock(&st->lock);
    if (type_mask & MALLOC_ADMIN_REGION_RANGE_TYPE) {
        vm_range_t a = {zone_address, st->map_bytes};
        recorder(task, context, MALLOC_ADMIN_REGION_RANGE_TYPE, &a, 1);
    }
    for (unsigned t = MALLOC_PTR_IN_USE_RANGE_TYPE; t <= MALLOC_PTR_REGION_RANGE_TYPE; t <<= 1) {
        if (!(type_mask & t)) continue;
        vm_range_t batch[256];
        unsigned k = 0;
        for (size_t i = 0; i < n; i++) {
            if (types[i] != t) continue;
            batch[k++] = r[i];
            if (k == 256) {
                recorder(task, context, t, batch, k);
                k = 0;
            }
        }
        if (k) recorder(task, context, t, batch, k);
    }
    zt_prim_unmap(r, map);
    return KERN_SUCCESS;
}

static boolean_t xzone_check(malloc_zone_t *zone)
{
    return 1; /* xzm_check: "TODO: zone self-check" (xzone_malloc.c:5347-5354) */
}

static void xzone_statistics(malloc_zone_t *zone, malloc_statistics_t *stats)
{
    xz_state_t *st = state_of(zone);
    zt_lock(&st->lock);
    stats->blocks_in_use = st->blocks_in_use;
    stats->size_in_use = st->size_in_use;
    stats->max_size_in_use = st->max_size_in_use;
    stats->size_allocated = st->size_allocated;
    zt_unlock(&st->lock);
}

static void xzone_print(malloc_zone_t *zone, boolean_t verbose)
{
    malloc_statistics_t s;
    xzone_statistics(zone, &s);
    zt_xzone_stats_t x;
    zt_xzone_get_stats(zone, &x);
    zt_prim_message("xzone zone %p \"%s\": %u blocks, %zu bytes in use, %zu bytes allocated; "
                    "segments data %u, pointer %u, pointer-large %u, huge %u",
                    (void *)zone, zone->zone_name ? zone->zone_name : "", s.blocks_in_use,
                    s.size_in_use, s.size_allocated, x.segments[0], x.segments[1], x.segments[2],
                    x.huge_segments);
}

static void xzone_force_lock(malloc_zone_t *zone)
{
    zt_lock(&state_of(zone)->lock);
}

static void xzone_force_unlock(malloc_zone_t *zone)
{
    zt_unlock(&state_of(zone)->lock);
}

static void xzone_reinit_lock(malloc_zone_t *zone)
{
    zt_lock_reinit(&state_of(zone)->lock);
}

static boolean_t xzone_locked(malloc_zone_t *zone)
{
    xz_state_t *st = state_of(zone);
    if (!zt_trylock(&st->lock)) return 1;
    zt_unlock(&st->lock);
    return 0;
}

static void xzone_print_task(task_t task, unsigned level, vm_address_t zone_address,
                             memory_reader_t reader, print_task_printer_t printer)
{
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (!zt_xzone_is(zone) || !printer) return;
    malloc_statistics_t s;
    xzone_statistics(zone, &s);
    printer("xzone zone %p: %u blocks, %zu bytes in use, %zu bytes allocated\n", (void *)zone,
            s.blocks_in_use, s.size_in_use, s.size_allocated);
}

static void xzone_task_statistics(task_t task, vm_address_t zone_address, memory_reader_t reader,
                                  malloc_statistics_t *stats)
{
    malloc_zone_t *zone = (malloc_zone_t *)zone_address;
    if (zt_xzone_is(zone))
        xzone_statistics(zone, stats);
    else
        memset(stats, 0, sizeof *stats);
}

static malloc_introspection_t xzone_introspect = {
    .enumerator = xzone_enumerator,
    .good_size = xzone_good_size,
    .check = xzone_check,
    .print = xzone_print,
    .log = zt_introspect_nop_log,
    .force_lock = xzone_force_lock,
    .force_unlock = xzone_force_unlock,
    .statistics = xzone_statistics,
    .zone_locked = xzone_locked,
    .enable_discharge_checking = zt_introspect_nop_enable_discharge_checking,
    .disable_discharge_checking = zt_introspect_nop_disable_discharge_checking,
    .discharge = zt_introspect_nop_discharge,
    .enumerate_discharged_pointers = NULL,
    .reinit_lock = xzone_reinit_lock,
    .print_task = xzone_print_task,
    .task_statistics = xzone_task_statistics,
#if ZT_MALLOC_ZONE_LAYOUT >= 14
    .zone_type = 0,
#endif
};

/* ---- the typed entry points (version 16) ------------------------------------------- */
#if ZT_MALLOC_ZONE_LAYOUT >= 16

static void *xzone_malloc_with_options(malloc_zone_t *zone, size_t align, size_t size,
                                       uint64_t options)
{
    void *p = align > ZT_XZ_GRANULE ? xzone_memalign(zone, align, size) : xzone_malloc(zone, size);
    if (p && (options & 1)) memset(p, 0, size); /* MALLOC_NP_OPTION_CLEAR */
    return p;
}

static void *xzone_type_malloc(malloc_zone_t *zone, size_t size, malloc_type_id_t type_id)
{
    (void)type_id; /* the summary's layout bits are not modelled: bucket as an untyped call */
    return xzone_malloc(zone, size);
}

static void *xzone_type_calloc(malloc_zone_t *zone, size_t n, size_t size, malloc_type_id_t type_id)
{
    (void)type_id;
    return xzone_calloc(zone, n, size);
}

static void *xzone_type_realloc(malloc_zone_t *zone, void *ptr, size_t size,
                                malloc_type_id_t type_id)
{
    (void)type_id;
    return xzone_realloc(zone, ptr, size);
}

static void *xzone_type_memalign(malloc_zone_t *zone, size_t align, size_t size,
                                 malloc_type_id_t type_id)
{
    (void)type_id;
    return xzone_memalign(zone, align, size);
}

static void *xzone_type_malloc_with_options(malloc_zone_t *zone, size_t align, size_t size,
                                            uint64_t options, malloc_type_id_t type_id)
{
    (void)type_id;
    return xzone_malloc_with_options(zone, align, size, options);
}

static void xzone_try_free_default(malloc_zone_t *zone, void *ptr)
{
    xzone_free(zone, ptr);
}
#endif

/* ---- creation ---------------------------------------------------------------------- */

bool zt_xzone_is(const malloc_zone_t *zone)
{
    return zone && zone->size == xzone_size && state_of(zone)->magic == XZ_MAGIC;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

malloc_zone_t *zt_xzone_create(const char *name)
{
    static int main_created; /* the early arena belongs to the main zone only */
    size_t page = zt_prim_page_bytes();
    size_t area = zone_area_bytes();
    size_t map_bytes = area + round_up(sizeof(xz_state_t), page);
    char *base = zt_prim_map(map_bytes);
    if (!base) return NULL;
    malloc_zone_t *zone = (malloc_zone_t *)base;
    xz_state_t *st = state_of(zone);
    zt_lock_t init = ZT_LOCK_INIT;
    st->lock = init;
    st->zone = zone;
    st->map_bytes = map_bytes;
    st->data_only = zt_options.xzone_buckets && strcmp(zt_options.xzone_buckets, "data") == 0;
    /* The bucketing keys come from the executable's boot hash on the device;
     * here from ZONETRACE_SEED, so runs repeat. */
    uint64_t x = (uint64_t)zt_options.seed ^ 0x787a6f6e65ull;
    st->key_a = splitmix64(&x);
    st->key_b = splitmix64(&x);
    if (name) {
        size_t n = strlen(name);
        if (n >= XZ_NAME_BYTES) n = XZ_NAME_BYTES - 1;
        memcpy(st->name, name, n);
    }
    zone->size = xzone_size;
    zone->malloc = xzone_malloc;
    zone->calloc = xzone_calloc;
    zone->valloc = xzone_valloc;
    zone->free = xzone_free;
    zone->realloc = xzone_realloc;
    zone->destroy = xzone_destroy;
    zone->zone_name = name ? st->name : NULL;
    zone->batch_malloc = xzone_batch_malloc;
    zone->batch_free = xzone_batch_free;
    zone->introspect = &xzone_introspect;
    /* Version 16 where the header has its fields; on Apple the SDK's zone
     * (ZT_MALLOC_ZONE_VERSION): the model runs the same either way. */
    zone->version = ZT_MALLOC_ZONE_LAYOUT >= 16 ? XZ_VERSION : ZT_MALLOC_ZONE_VERSION;
    zone->memalign = xzone_memalign;
    zone->free_definite_size = xzone_free_definite_size;
    zone->pressure_relief = xzone_pressure_relief;
    zone->claimed_address = xzone_claimed_address;
#if ZT_MALLOC_ZONE_LAYOUT >= 16
    zone->try_free_default = xzone_try_free_default;
    zone->malloc_with_options = xzone_malloc_with_options;
    zone->malloc_type_malloc = xzone_type_malloc;
    zone->malloc_type_calloc = xzone_type_calloc;
    zone->malloc_type_realloc = xzone_type_realloc;
    zone->malloc_type_memalign = xzone_type_memalign;
    zone->malloc_type_malloc_with_options = xzone_type_malloc_with_options;
#endif
    __atomic_store_n(&st->magic, XZ_MAGIC, __ATOMIC_RELEASE);
    /* MallocXzoneEarlyAlloc=0|1, a production variable (xzone_malloc.c:6673-6682),
     * turns the early allocator off or on; on by default for an iOS app. */
    const char *early = zt_prim_getenv("MallocXzoneEarlyAlloc");
    bool use_early = !(early && strcmp(early, "0") == 0);
    if (!__atomic_exchange_n(&main_created, 1, __ATOMIC_ACQ_REL) && use_early) early_init(st);
    return zone;
}
