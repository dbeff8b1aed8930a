/* ----------------------------------------------------------------------------
 * account.c — live accounting: counters per (stack, zone), per stack, per
 * zone, per (zone, size class) and for the whole heap, kept in the record
 * file so they survive SIGKILL.
 *
 * Every counters struct is shared by all threads and updated with atomic
 * adds, so its live value is exact at any instant and its peaks (bytes and
 * blocks, each its own maximum) are exact high waters: on allocation the
 * new live value is compared with the stored peak by plain loads of the
 * same line, and CASed only on a new high. (With threads racing, a peak is
 * the highest live value seen at an allocation, computed from the total
 * after the add and the freed count loaded just after: never above the true
 * live value at that instant, and exact in a single thread.)
 *
 * A stack's counts over all zones are not a struct of their own: readers
 * add up its per-zone counters (record version 5); its entry keeps only
 * peaks, raised while the stack is counted in more than one zone
 * (stack_peaks below). The heap's likewise: the zones' sums, the header
 * keeping only its peaks (heap_peaks).
 *
 * Hot-path cost per allocation or free: three structs (stack×zone, zone,
 * zone×class), two adds each, and on allocation the heap's peaks compared
 * with the zones' live (a write at a new high only): plain loads and stores plus one
 * compare-exchange while one thread at a time counts (the single-writer
 * fast path below), atomic adds once two threads count at the same time. The zone×class and heap
 * lines are shared by every thread allocating there; issue 12 traded the per-thread class shards
 * (cheaper with many threads, but whose peaks could only be sampled) for exact peaks. bench/
 * measures it (see the report of issue 12).
 * -------------------------------------------------------------------------- */
#include "internal.h"

static malloc_zone_t *zone_ptrs[ZT_REC_MAX_ZONES];
static unsigned zone_count;
static unsigned zone_generation; /* bumped when an index is added (address reuse) */
static zt_lock_t zone_lock = ZT_LOCK_INIT;

static __thread malloc_zone_t *tls_zone_last;
static __thread int tls_zone_last_index;
static __thread unsigned tls_zone_generation;

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

/* ---- the single-writer fast path ------------------------------------------------
 *
 * Atomic adds cost a locked instruction each, ten per allocation; a program
 * that allocates from one thread at a time pays them for nothing. So one
 * thread at a time, the owner, updates with plain loads and stores (still
 * whole aligned 64-bit stores: readers of the file never see a torn value).
 * Ownership and the update in progress are one word, acct_state: the
 * owner's token (the address of its thread-local tls_token, unique among
 * live threads, even-aligned) with bit 0 set while it is inside an update.
 * An update begins with one compare-exchange of that word (idle -> busy, by
 * the owner or by a thread taking an idle ownership over) and ends with a
 * plain release store: one locked instruction instead of ten.
 *
 * Why ownership moves: a program whose main thread allocates at start-up,
 * then waits while one worker allocates (bench/'s workloads, most servers
 * at rest), had its main thread as the owner for good and paid the atomics
 * on every allocation of the worker: with full stacks, 47 % of bignum's
 * time was these adds (issue 15, bench/results/2026-12-06.md).
 *
 * When it stops: a thread that finds another inside an update (two threads
 * counting at the same time), or the MIGRATE_MAX-th change of owner, sets
 * `multi`, waits until no update is in progress, and from then on everyone
 * uses atomics, as before. Dekker's handshake: the updater's compare-
 * exchange (sequentially consistent) sets busy, then it loads multi; the
 * newcomer stores multi, then loads the word; at least one sees the other's
 * store, so either the updater backs out to atomics or the newcomer waits.
 *
 * Re-entry. A signal handler that frees (or allocates) on the owner thread
 * can interrupt a plain update between a counter's load and its store; an
 * update of its own, plain or atomic, would then be overwritten by the
 * interrupted store. So an update that finds this thread already inside one
 * (tls_depth > 0) is not applied but queued in a per-thread ring, which the
 * interrupted update drains before it ends: exact when the handler returns.
 * A handler that never returns (siglongjmp) abandons the outer update with
 * the word busy and tls_depth = 1. Both are bounded: a newcomer waits for
 * busy at most JOIN_WAIT_NS, then clears it and goes on (the abandoned
 * update's remaining adds are lost, nothing else; an update stalled that
 * long, a thread descheduled for 50 ms inside one, is indistinguishable and
 * may lose its adds the same way); the owner, whose later updates all look
 * nested, applies the queue and itself with atomics once the ring is full
 * and switches the process to atomics for good. The same bound covers a
 * fork child whose parent was mid-update in another thread when it forked,
 * before zt_account_fork_child runs. Not covered: a handler interrupting an
 * update that is making a record chunk (a stack's or a zone's first
 * counters, under zt_rec.lock) whose own updates overflow the ring: their
 * atomics need that chunk and wait for the lock its own thread holds. It
 * needs the handler to allocate a ring's worth during one first-use chunk
 * creation; malloc in a signal handler is outside POSIX's async-signal-safe
 * set, and test_account_reentry makes its chunks before its signals. */
static int acct_multi;
static uintptr_t acct_state; /* owner token | 1 while an update is in progress; 0 = none */
static unsigned acct_migrations;
static __thread char tls_token __attribute__((aligned(2)));
static __thread int tls_depth; /* plain updates this thread is inside */

#define JOIN_WAIT_NS (50ull * 1000 * 1000)
#define NEST_RING    16u  /* a power of two */
#define MIGRATE_MAX  256u /* owner changes before atomics for good */

enum { OP_ALLOC, OP_FREE, OP_FREE_TEMP };
enum { SLOT_FREE, SLOT_WRITING, SLOT_READY, SLOT_APPLYING };
typedef struct {
    int state; /* SLOT_*, changed only by compare-exchange */
    uint32_t op, id;
    int zone;
    unsigned cls;
    uint64_t blocks, bytes, req;
} nested_op_t;

/* Written and drained by one thread, but from nested signal contexts (a
 * handler may interrupt a push or a drain, and push or drain itself), so
 * each slot is claimed by compare-exchange of its state (signal-safe on one
 * thread); counters commute, so slots are applied in any order. */
static __thread nested_op_t tls_ring[NEST_RING];
static __thread unsigned tls_ring_pending; /* slots READY or being written */
static __thread bool tls_ring_overflowed;  /* from then on, nested updates go atomic */

/* Atomics for good: set multi, then wait (bounded, see above) for the update
 * in progress, if any, to end. */
static __attribute__((noinline)) void go_multi(void)
{
    __atomic_store_n(&acct_multi, 1, __ATOMIC_SEQ_CST);
    uintptr_t s;
    for (uint64_t waited_ns = 0; (s = __atomic_load_n(&acct_state, __ATOMIC_SEQ_CST)) & 1;
         waited_ns += 1000) {
        if (s == ((uintptr_t)&tls_token | 1)) return; /* our own (nested() overflowing) */
        if (waited_ns >= JOIN_WAIT_NS) { /* abandoned (see above): stop waiting for it */
            __atomic_compare_exchange_n(&acct_state, &s, s & ~(uintptr_t)1, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED);
            break;
        }
        zt_prim_sleep_ns(1000);
    }
}

bool zt_account_atomic_mode(void)
{
    return __atomic_load_n(&acct_multi, __ATOMIC_ACQUIRE) != 0;
}

/* 1: plain; 0: atomic; -1: nested inside this thread's own plain update. */
static inline int plain_begin(void)
{
    if (zt_unlikely(tls_depth)) return -1;
    if (__atomic_load_n(&acct_multi, __ATOMIC_RELAXED)) return 0;
    uintptr_t me = (uintptr_t)&tls_token;
    uintptr_t s = __atomic_load_n(&acct_state, __ATOMIC_RELAXED);
    for (;;) {
        if (zt_unlikely(s != me)) {
            if (s & 1) { /* another thread is inside an update now */
                go_multi();
                return 0;
            }
            if (s != 0 && __atomic_add_fetch(&acct_migrations, 1, __ATOMIC_RELAXED) > MIGRATE_MAX) {
                go_multi();
                return 0;
            }
        }
        tls_depth = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__atomic_compare_exchange_n(&acct_state, &s, me | 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            break;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        tls_depth = 0;
    }
    if (zt_likely(!__atomic_load_n(&acct_multi, __ATOMIC_SEQ_CST))) return 1;
    __atomic_store_n(&acct_state, me, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tls_depth = 0;
    return 0;
}

static void nested_apply(const nested_op_t *o, bool plain);

/* Apply every READY slot; plain only from the owner's own outer update. */
static void ring_drain(bool plain)
{
    for (unsigned i = 0; i < NEST_RING; i++) {
        nested_op_t *o = &tls_ring[i];
        int ready = SLOT_READY;
        if (!__atomic_compare_exchange_n(&o->state, &ready, SLOT_APPLYING, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            continue;
        nested_apply(o, plain);
        __atomic_store_n(&o->state, SLOT_FREE, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&tls_ring_pending, 1, __ATOMIC_RELAXED);
    }
}

static inline void plain_end(void)
{
    /* Drain while still inside (tls_depth = 1), so a handler that comes
     * now queues; one that comes after the check waits in the ring for
     * this thread's next update. */
    if (zt_unlikely(__atomic_load_n(&tls_ring_pending, __ATOMIC_RELAXED))) ring_drain(true);
    __atomic_store_n(&acct_state, (uintptr_t)&tls_token, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tls_depth = 0;
}

/* An update that re-entered this thread's plain update: queued, or, when the
 * ring is full (a long handler, or an outer update abandoned by siglongjmp),
 * applied with atomics together with the queue, and the process goes atomic
 * for good, releasing any newcomer waiting on busy. */
static void nested(uint32_t op, uint32_t id, int zone, unsigned cls, uint64_t blocks,
                   uint64_t bytes, uint64_t req)
{
    nested_op_t o = {SLOT_READY, op, id, zone, cls, blocks, bytes, req};
    if (!__atomic_load_n(&tls_ring_overflowed, __ATOMIC_RELAXED))
        for (unsigned i = 0; i < NEST_RING; i++) {
            nested_op_t *s = &tls_ring[i];
            int free_state = SLOT_FREE;
            if (!__atomic_compare_exchange_n(&s->state, &free_state, SLOT_WRITING, false,
                                             __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                continue;
            __atomic_add_fetch(&tls_ring_pending, 1, __ATOMIC_RELAXED);
            s->op = op, s->id = id, s->zone = zone, s->cls = cls;
            s->blocks = blocks, s->bytes = bytes, s->req = req;
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            __atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELAXED);
            /* Overflowed while this slot was being written: nobody else
             * will drain it. */
            if (__atomic_load_n(&tls_ring_overflowed, __ATOMIC_RELAXED)) ring_drain(false);
            return;
        }
    __atomic_store_n(&tls_ring_overflowed, true, __ATOMIC_RELAXED);
    __atomic_store_n(&acct_multi, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&acct_state, (uintptr_t)&tls_token, __ATOMIC_RELEASE);
    ring_drain(false);
    nested_apply(&o, false);
}

void zt_account_fork_child(void)
{
    /* Only the forking thread survives: it is the one writer again. */
    acct_multi = 0;
    acct_state = (uintptr_t)&tls_token;
    acct_migrations = 0;
    tls_depth = 0;
    __builtin_memset(tls_ring, 0, sizeof tls_ring);
    tls_ring_pending = 0;
    tls_ring_overflowed = false;
    zt_lock_reinit(&zone_lock);
}

/* ---- counters ----------------------------------------------------------------- */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint64_t add(uint64_t *f, uint64_t v, const bool plain)
{
    if (plain) {
        uint64_t n = __atomic_load_n(f, __ATOMIC_RELAXED) + v;
        __atomic_store_n(f, n, __ATOMIC_RELAXED);
        return n;
    }
    return __atomic_add_fetch(f, v, __ATOMIC_RELAXED);
}

ALWAYS_INLINE void peak_raise(uint64_t *peak, uint64_t live, const bool plain)
{
    uint64_t p = __atomic_load_n(peak, __ATOMIC_RELAXED);
    if (zt_likely(!(live > p && live < (1ull << 62)))) return;
    if (plain) {
        __atomic_store_n(peak, live, __ATOMIC_RELAXED);
        return;
    }
    while (live > p)
        if (__atomic_compare_exchange_n(peak, &p, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            break;
}

ALWAYS_INLINE void counters_alloc(zt_rec_counters_t *c, uint64_t blocks, uint64_t bytes,
                                  uint64_t req, const bool plain)
{
    uint64_t tb = add(&c->total_blocks, blocks, plain);
    uint64_t total = add(&c->total_bytes, bytes, plain);
    if (req) add(&c->requested_bytes, req, plain);
    peak_raise(&c->peak_bytes, total - __atomic_load_n(&c->freed_bytes, __ATOMIC_RELAXED), plain);
    peak_raise(&c->peak_blocks, tb - __atomic_load_n(&c->freed_blocks, __ATOMIC_RELAXED), plain);
}

ALWAYS_INLINE void counters_free(zt_rec_counters_t *c, uint64_t blocks, uint64_t bytes,
                                 const bool temp, const bool plain)
{
    add(&c->freed_blocks, blocks, plain);
    add(&c->freed_bytes, bytes, plain);
    if (temp) add(&c->temp_blocks, blocks, plain);
}

static inline zt_rec_counters_t *class_counters(int zone, unsigned cls)
{
    return zt_record_class((unsigned)zone, cls);
}

/* The zone's own counters (NULL only when its block could not be made):
 * the block is made here when a count comes before the zone's
 * registration has made it (another thread registering it right now). */
static inline zt_rec_counters_t *zone_counters(int zone)
{
    zt_rec_zone_t *rz = __atomic_load_n(&zt_rec.zone[zone], __ATOMIC_ACQUIRE);
    if (zt_unlikely(rz == NULL)) rz = zt_record_zone_block((unsigned)zone);
    return rz ? &rz->total : NULL;
}

/* The stack's one request size: set by its first allocation, UINT64_MAX
 * once another size (or an unknown one) comes. */
static inline void request_note(zt_rec_stack_t *e, uint64_t req_raw)
{
    uint64_t u = __atomic_load_n(&e->request_bytes, __ATOMIC_RELAXED);
    if (zt_likely(u == req_raw && req_raw != 0)) return;
    if (u == UINT64_MAX) return;
    if (u == 0 && req_raw != 0 &&
        __atomic_compare_exchange_n(&e->request_bytes, &u, req_raw, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        return;
    if (u != req_raw || req_raw == 0)
        __atomic_store_n(&e->request_bytes, UINT64_MAX, __ATOMIC_RELAXED);
}

/* Add c's live bytes and blocks (totals loaded before the freed counts, so
 * a count racing in never makes them larger than they were). */
static inline void live_add(const zt_rec_counters_t *c, uint64_t *bytes, uint64_t *blocks)
{
    uint64_t t = __atomic_load_n(&c->total_bytes, __ATOMIC_RELAXED);
    uint64_t tb = __atomic_load_n(&c->total_blocks, __ATOMIC_RELAXED);
    uint64_t f = __atomic_load_n(&c->freed_bytes, __ATOMIC_RELAXED);
    uint64_t fb = __atomic_load_n(&c->freed_blocks, __ATOMIC_RELAXED);
    *bytes += t > f ? t - f : 0;
    *blocks += tb > fb ? tb - fb : 0;
}

/* A stack's counts over all zones are the sums of its per-zone counters
 * (readers add them up), so an update writes one struct for the stack, not
 * two: the stack entry's own `total` keeps only its peaks, raised here with
 * the stack's live over all zones when it is counted in another zone too
 * (its other zones' lines are only read). While a stack is counted in one
 * zone, that zone's peaks are its peaks; readers take the larger of the
 * two (FORMAT.md §1.3d). zs: the (stack, zone) counters just counted. */
ALWAYS_INLINE void stack_peaks(zt_rec_stack_t *e, uint32_t id, int zone,
                               const zt_rec_counters_t *zs, const bool plain)
{
    uint64_t within;
    unsigned k = zt_rec_chunk_of(id - 1, &within);
    unsigned nz = __atomic_load_n(&zone_count, __ATOMIC_ACQUIRE);
    uint64_t bytes = 0, blocks = 0;
    bool other = false;
    for (unsigned z = 0; z < nz && z < ZT_REC_MAX_ZONES; z++) {
        if (z == (unsigned)zone) continue;
        zt_rec_counters_t *chunk =
            __atomic_load_n(&zt_rec.zone_stack_chunk[z][k], __ATOMIC_ACQUIRE);
        if (chunk == NULL || __atomic_load_n(&chunk[within].total_blocks, __ATOMIC_RELAXED) == 0)
            continue;
        other = true;
        live_add(&chunk[within], &bytes, &blocks);
    }
    if (zt_likely(!other)) return;
    live_add(zs, &bytes, &blocks);
    peak_raise(&e->total.peak_bytes, bytes, plain);
    peak_raise(&e->total.peak_blocks, blocks, plain);
}

/* Live bytes of stack id over all zones (the sum of its per-zone
 * counters), for jetsam.c's warning. */
uint64_t zt_account_stack_live_bytes(uint32_t id)
{
    if (id == 0) return 0;
    uint64_t within, bytes = 0, blocks = 0;
    unsigned k = zt_rec_chunk_of(id - 1, &within);
    unsigned nz = __atomic_load_n(&zone_count, __ATOMIC_ACQUIRE);
    for (unsigned z = 0; z < nz && z < ZT_REC_MAX_ZONES; z++) {
        zt_rec_counters_t *chunk =
            __atomic_load_n(&zt_rec.zone_stack_chunk[z][k], __ATOMIC_ACQUIRE);
        if (chunk) live_add(&chunk[within], &bytes, &blocks); /* no chunk: nothing counted */
    }
    return bytes;
}

/* The heap's live over all zones: the sums of the zones' counters (zones
 * the record has; a zone without a block counts nothing). */
static inline void heap_live(uint64_t *bytes, uint64_t *blocks)
{
    unsigned nz = __atomic_load_n(&zt_rec.hdr->nzones, __ATOMIC_ACQUIRE);
    for (unsigned z = 0; z < nz && z < ZT_REC_MAX_ZONES; z++) {
        zt_rec_zone_t *rz = __atomic_load_n(&zt_rec.zone[z], __ATOMIC_ACQUIRE);
        if (rz) live_add(&rz->total, bytes, blocks);
    }
}

/* The heap's counts are not a struct of their own either: readers add up
 * the zones' (record version 5). The header's `heap` keeps its peaks,
 * raised at every allocation from the zones' live, summed (the zones'
 * lines are only read here; the heap's line is written only at a new high,
 * so threads counting at once no longer bounce it). */
ALWAYS_INLINE void heap_peaks(const bool plain)
{
    uint64_t bytes = 0, blocks = 0;
    heap_live(&bytes, &blocks);
    peak_raise(&zt_rec.hdr->heap.peak_bytes, bytes, plain);
    peak_raise(&zt_rec.hdr->heap.peak_blocks, blocks, plain);
}

/* req_raw: the request size (0 unknown); counted with the block's weight
 * (blocks is 1 in full mode, a Q16 weight >= 1 << 16 in sample mode). */
ALWAYS_INLINE void alloc_counts(uint32_t id, int zone, unsigned cls, uint64_t blocks,
                                uint64_t bytes, uint64_t req_raw, const bool plain)
{
    uint64_t req = blocks == 1 ? req_raw : (uint64_t)(((zt_u128)req_raw * blocks) >> 16);
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    zt_rec_stack_t *e = zt_record_stack(id, false);
    if (zs) {
        counters_alloc(zs, blocks, bytes, req, plain);
        if (e) stack_peaks(e, id, zone, zs, plain);
    }
    if (e) request_note(e, req_raw);
    zt_rec_counters_t *zc = zone_counters(zone);
    if (zc) counters_alloc(zc, blocks, bytes, req, plain);
    zt_rec_counters_t *cc = class_counters(zone, cls);
    if (cc) counters_alloc(cc, blocks, bytes, req, plain);
    heap_peaks(plain);
}

/* temp: the freed block was a temporary allocation (hooks.c decides); its
 * count goes to the same structs (same cache lines) in the same update. */
ALWAYS_INLINE void free_counts(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes,
                               const bool temp, const bool plain)
{
    zt_rec_counters_t *zs = zt_record_zone_stack((unsigned)zone, id, true);
    if (zs) counters_free(zs, blocks, bytes, temp, plain);
    zt_rec_counters_t *zc = zone_counters(zone);
    if (zc) counters_free(zc, blocks, bytes, temp, plain);
    zt_rec_counters_t *cc = class_counters(zone, cls);
    if (cc) counters_free(cc, blocks, bytes, temp, plain);
}

static void nested_apply(const nested_op_t *o, bool plain)
{
    if (o->op == OP_ALLOC) {
        if (plain)
            alloc_counts(o->id, o->zone, o->cls, o->blocks, o->bytes, o->req, true);
        else
            alloc_counts(o->id, o->zone, o->cls, o->blocks, o->bytes, o->req, false);
    } else {
        bool temp = o->op == OP_FREE_TEMP;
        if (plain)
            free_counts(o->id, o->zone, o->cls, o->blocks, o->bytes, temp, true);
        else
            free_counts(o->id, o->zone, o->cls, o->blocks, o->bytes, temp, false);
    }
}

static inline void account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks,
                                 uint64_t bytes, uint64_t req_raw)
{
    if (zone < 0 || zone >= ZT_REC_MAX_ZONES) return;
    int p = plain_begin();
    if (p > 0) {
        alloc_counts(id, zone, cls, blocks, bytes, req_raw, true);
        plain_end();
    } else if (p == 0) {
        alloc_counts(id, zone, cls, blocks, bytes, req_raw, false);
    } else {
        nested(OP_ALLOC, id, zone, cls, blocks, bytes, req_raw);
    }
}

static inline void account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks,
                                uint64_t bytes, bool temp)
{
    if (zone < 0 || zone >= ZT_REC_MAX_ZONES) return;
    int p = plain_begin();
    if (p > 0) {
        if (temp)
            free_counts(id, zone, cls, blocks, bytes, true, true);
        else
            free_counts(id, zone, cls, blocks, bytes, false, true);
        plain_end();
    } else if (p == 0) {
        if (temp)
            free_counts(id, zone, cls, blocks, bytes, true, false);
        else
            free_counts(id, zone, cls, blocks, bytes, false, false);
    } else {
        nested(temp ? OP_FREE_TEMP : OP_FREE, id, zone, cls, blocks, bytes, 0);
    }
}

void zt_account_alloc(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    account_alloc(id, zone, cls, blocks, bytes, 0);
}

void zt_account_free(uint32_t id, int zone, unsigned cls, uint64_t blocks, uint64_t bytes)
{
    account_free(id, zone, cls, blocks, bytes, false);
}

void zt_account_alloc_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                         uint64_t bytes, uint64_t req)
{
    account_alloc(id, zone_index(zone), cls, blocks, bytes, req);
}

/* temp: the block was a temporary allocation (hooks.c decides), counted
 * for its (stack, zone), its stack, its zone, its class and the heap in the
 * same update as the free (one ownership round, the same cache lines). */
void zt_account_free_in(uint32_t id, malloc_zone_t *zone, unsigned cls, uint64_t blocks,
                        uint64_t bytes, bool temp)
{
    account_free(id, zone_index(zone), cls, blocks, bytes, temp);
}

/* ---- sums (monitor, snapshot, exit) ---------------------------------------- */

/* Live heap bytes over all zones (for the timeline): the zones' sums. */
uint64_t zt_account_live_bytes(void)
{
    if (!zt_rec_open) return 0;
    uint64_t bytes = 0, blocks = 0;
    heap_live(&bytes, &blocks);
    return bytes;
}

void zt_account_heap_live(uint64_t *bytes, uint64_t *blocks)
{
    *bytes = *blocks = 0;
    if (zt_rec_open) heap_live(bytes, blocks);
}
