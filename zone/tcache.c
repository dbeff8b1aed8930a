/* ----------------------------------------------------------------------------
 * tcache.c — per-thread cache records: making, pooling, ownership, flushing.
 *
 * See tcache.h for the model. Invariants:
 * - A record is mapped once (zt_prim_map) and kept on tc_all forever; a
 *   thread that exits leaves it there with live = false for the next thread.
 * - tc_lock guards tc_all, the live flags, owners[] and key creation. It is
 *   never held while a client's flush runs, so flushing may take the
 *   client's own locks.
 * - A thread's record is reached through zt_tcache_self (initial-exec TLS,
 *   no allocation); the prim thread key only exists to run the exit flush.
 *   While a record is being made the thread's state is OFF, because setting
 *   the key may allocate and that allocation must not recurse in here.
 * -------------------------------------------------------------------------- */
#include "tcache.h"
#include "va.h"

#include <string.h>

enum { TC_NONE, TC_ON, TC_OFF }; /* per thread: no record yet, cached, never cache */

typedef struct owner {
    void *obj;
    zt_tcache_flush_fn *flush;
    uint32_t id; /* 0: no owner */
    unsigned stride;
} owner_t;

__thread zt_tcache_t *zt_tcache_self __attribute__((tls_model("initial-exec")));
static __thread uint8_t tc_state __attribute__((tls_model("initial-exec")));
static zt_lock_t tc_lock;
static zt_tcache_t *tc_all;
static owner_t owners[ZT_TCACHE_KINDS];
static uint32_t last_id;
uint64_t zt_tcache_guard_cookie;
static zt_thread_key_t tc_key;
static bool tc_key_made;

static void drop(zt_tcache_section_t *s)
{
    memset(s->count, 0, sizeof s->count);
    s->bytes = 0;
}

static void reset(zt_tcache_section_t *s)
{
    drop(s);
    s->id = ZT_TCACHE_NO_ID;
}

static bool empty(const zt_tcache_section_t *s)
{
    for (unsigned b = 0; b < ZT_TCACHE_BINS; b++)
        if (s->count[b]) return false;
    return true;
}

static owner_t owner_of(enum zt_tcache_kind kind)
{
    zt_lock(&tc_lock);
    owner_t o = owners[kind];
    zt_unlock(&tc_lock);
    return o;
}

/* Every entry of s goes back to o (emptied before flushing, as in
 * zt_tcache_flush_bin). */
static void flush_all(zt_tcache_section_t *s, const owner_t *o)
{
    void *out[ZT_TCACHE_SLOTS];
    for (unsigned b = 0; b < ZT_TCACHE_BINS; b++) {
        unsigned n = s->count[b];
        if (n == 0) continue;
        memcpy(out, &s->slot[b * o->stride], n * sizeof(void *));
        __atomic_store_n(&s->count[b], 0, __ATOMIC_RELEASE);
        s->bytes -= o->flush(o->obj, b, out, n);
    }
}

unsigned zt_tcache_take_oldest(zt_tcache_section_t *s, unsigned bin, unsigned stride, unsigned n,
                               void **out)
{
    unsigned cnt = s->count[bin];
    if (n > cnt) n = cnt;
    void **v = &s->slot[bin * stride];
    /* The count drops to 0 while the rest moves down (see the fork note in
     * tcache.h): a fork child sees only whole entries still cached. */
    memcpy(out, v, n * sizeof(void *));
    __atomic_store_n(&s->count[bin], 0, __ATOMIC_RELEASE);
    memmove(&v[0], &v[n], (cnt - n) * sizeof(void *));
    __atomic_store_n(&s->count[bin], (uint16_t)(cnt - n), __ATOMIC_RELEASE);
    return n;
}

void zt_tcache_flush_bin(zt_tcache_section_t *s, enum zt_tcache_kind kind, unsigned bin, unsigned n)
{
    /* owners[kind] is read unlocked: the caller holds entries with the
     * owner's id, so the claim that published it happened before. */
    const owner_t *o = &owners[kind];
    /* Out of the bin first, then flushed: a fork child never sees an entry
     * that this thread is already freeing. */
    void *out[ZT_TCACHE_SLOTS];
    n = zt_tcache_take_oldest(s, bin, o->stride, n, out);
    s->bytes -= o->flush(o->obj, bin, out, n);
}

void zt_tcache_flush_mine(enum zt_tcache_kind kind, uint32_t id)
{
    zt_tcache_section_t *s = id ? zt_tcache_mine(kind, id) : NULL;
    if (s) flush_all(s, &owners[kind]);
}

static void thread_exit(void *arg)
{
    zt_tcache_t *tc = arg;
    tc_state = TC_OFF; /* later destructors' frees take the uncached paths */
    zt_tcache_self = NULL;
    for (unsigned k = 0; k < ZT_TCACHE_KINDS; k++) {
        owner_t o = owner_of(k);
        if (o.id && o.id == tc->sec[k].id) flush_all(&tc->sec[k], &o);
        reset(&tc->sec[k]);
    }
    zt_lock(&tc_lock);
    tc->live = false;
    zt_unlock(&tc_lock);
}

zt_tcache_section_t *zt_tcache_section_slow(enum zt_tcache_kind kind, uint32_t id)
{
    if (id == 0 || tc_state == TC_OFF) return NULL;
    zt_tcache_t *tc = zt_tcache_self;
    if (tc) {
        drop(&tc->sec[kind]); /* entries of a destroyed owner */
        tc->sec[kind].id = id;
        return &tc->sec[kind];
    }
    tc_state = TC_OFF; /* setting the key may allocate: no recursion */
    zt_lock(&tc_lock);
    if (!tc_key_made) tc_key_made = zt_prim_thread_key_create(&tc_key, thread_exit) == 0;
    for (tc = tc_all; tc && tc->live; tc = tc->next_all)
        ;
    if (!tc && tc_key_made && (tc = zt_prim_map(sizeof(zt_tcache_t))) != NULL) {
        tc->next_all = tc_all;
        tc_all = tc;
    }
    if (tc) {
        tc->live = true;
        for (unsigned k = 0; k < ZT_TCACHE_KINDS; k++)
            reset(&tc->sec[k]);
        tc->sec[kind].id = id;
    }
    zt_unlock(&tc_lock);
    if (!tc) return NULL; /* this thread stays uncached */
    if (zt_prim_thread_key_set(tc_key, tc) != 0) {
        zt_lock(&tc_lock);
        tc->live = false;
        zt_unlock(&tc_lock);
        return NULL;
    }
    zt_tcache_self = tc;
    tc_state = TC_ON;
    return &tc->sec[kind];
}

uint32_t zt_tcache_claim(enum zt_tcache_kind kind, void *obj, zt_tcache_flush_fn *flush,
                         unsigned stride)
{
    uint32_t id = 0;
    zt_lock(&tc_lock);
    if (owners[kind].id == 0 && !zt_va_limited()) {
        if (!zt_tcache_guard_cookie) {
            uint64_t c = zt_prim_now_ns() ^ ((uint64_t)(uintptr_t)obj << 17) ^ (uintptr_t)&c;
            c ^= c >> 31;
            c *= 0x9e3779b97f4a7c15ull;
            c ^= c >> 29;
            zt_tcache_guard_cookie = c | 1; /* never 0: fresh memory is never "cached" */
        }
        do
            id = ++last_id;
        while (id == 0 || id == ZT_TCACHE_NO_ID);
        owners[kind] = (owner_t){.obj = obj, .flush = flush, .id = id, .stride = stride};
    }
    zt_unlock(&tc_lock);
    return id;
}

void zt_tcache_unclaim(enum zt_tcache_kind kind, uint32_t id)
{
    if (!id) return;
    zt_lock(&tc_lock);
    if (owners[kind].id == id) owners[kind] = (owner_t){0};
    zt_unlock(&tc_lock);
    zt_tcache_section_t *s = zt_tcache_mine(kind, id);
    if (s) drop(s);
}

/* The owner taking tc_lock across fork: the one of the lowest kind. */
static bool fork_locker(enum zt_tcache_kind kind, uint32_t id)
{
    if (id == 0 || owners[kind].id != id) return false;
    for (unsigned k = 0; k < kind; k++)
        if (owners[k].id) return false;
    return true;
}

void zt_tcache_fork_lock(enum zt_tcache_kind kind, uint32_t id)
{
    if (fork_locker(kind, id)) zt_lock(&tc_lock); /* no record made or retired across fork */
}

void zt_tcache_fork_unlock(enum zt_tcache_kind kind, uint32_t id)
{
    if (fork_locker(kind, id)) zt_unlock(&tc_lock);
}

/* Fork child: one thread is left, so nothing here takes tc_lock (the
 * locker only re-initialises it). Other threads' entries of this owner go
 * back; a record with nothing left in any section is free for reuse. */
void zt_tcache_fork_child(enum zt_tcache_kind kind, uint32_t id)
{
    if (fork_locker(kind, id)) zt_lock_reinit(&tc_lock);
    if (id == 0 || owners[kind].id != id) return;
    for (zt_tcache_t *tc = tc_all; tc; tc = tc->next_all) {
        if (!tc->live || tc == zt_tcache_self) continue;
        if (tc->sec[kind].id == id) flush_all(&tc->sec[kind], &owners[kind]);
        reset(&tc->sec[kind]);
        bool left = false;
        for (unsigned k = 0; k < ZT_TCACHE_KINDS; k++) {
            if (tc->sec[k].id != owners[k].id || owners[k].id == 0) reset(&tc->sec[k]);
            left |= !empty(&tc->sec[k]);
        }
        if (!left) tc->live = false;
    }
}
