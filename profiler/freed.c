/* ----------------------------------------------------------------------------
 * freed.c — misused frees (issue 14): what the profiler knows about a
 * pointer the zone refused to free, recorded as a ZT_EV_BAD_FREE event and
 * said on stderr before the zone aborts.
 *
 * A freed block's tag is gone (the zone takes it at the free), so a double
 * free cannot ask the zone who allocated the block. Every free of a tagged
 * block therefore leaves (pointer, block bytes, allocating stack, caller of
 * free) in a direct-mapped table of recently freed blocks, indexed by a
 * hash of the pointer: an entry survives until a block whose pointer hashes
 * to the same slot is freed (with FREED_SLOTS slots and k other frees in
 * between, it survives with probability about (1 - 1/FREED_SLOTS)^k, about
 * 37 % after 4096 frees). A block that is reallocated and freed again
 * overwrites its own entry, so the entry is always its latest free.
 *
 * The table is mapped once at start-up (zt_prim_map, 128 KiB, touched as
 * used): never malloc. Entries are written with relaxed stores by any
 * thread and verified by a check word on lookup: a torn entry (two frees
 * racing on one slot) reads as "not found", never as a wrong answer built
 * from two frees.
 *
 * Cost per free of a tagged block: a multiply, four relaxed stores into one
 * cache line of the table. Only the caller of free (zt_error_caller, set
 * by the front end's entry points) is kept, not a captured stack: a
 * capture on every free would double the profiler's cost. It is interned as
 * a one-frame stack only when a misuse is reported. Frees that do not go
 * through the front end (Darwin's libmalloc calls the zone directly) have
 * no caller: the first free is then unknown.
 * -------------------------------------------------------------------------- */
#include "chunkmap.h"
#include "error.h"
#include "hooks.h"
#include "internal.h"

#include <string.h>

#define FREED_SLOTS_SHIFT 12
#define FREED_SLOTS       (1u << FREED_SLOTS_SHIFT)

typedef struct freed_slot {
    uint64_t ptr;   /* the freed block's address, 0 = empty */
    uint64_t pc;    /* return address of the free's public entry point, 0 unknown */
    uint64_t bytes; /* block bytes */
    uint32_t tag;   /* allocating stack id */
    uint32_t check; /* freed_check() of the above: a torn entry does not match */
} freed_slot_t;     /* 32 bytes: one slot never straddles a cache line */

static freed_slot_t *freed_table;

static inline uint32_t freed_slot_of(uint64_t p)
{
    return (uint32_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - FREED_SLOTS_SHIFT));
}

static inline uint32_t freed_check(uint64_t p, uint64_t pc, uint64_t bytes, uint32_t tag)
{
    uint64_t h = (p ^ (pc * 0xff51afd7ed558ccdull) ^ (bytes << 17) ^ tag) * 0xc4ceb9fe1a85ec53ull;
    return (uint32_t)(h >> 32) | 1u;
}

void zt_freed_init(void)
{
    if (freed_table) return;
    freed_table = zt_prim_map(FREED_SLOTS * sizeof(freed_slot_t));
}

void zt_freed_note(const void *ptr, size_t bytes, uint32_t tag)
{
    freed_slot_t *t = freed_table;
    if (zt_unlikely(t == NULL)) return;
    uint64_t p = (uint64_t)(uintptr_t)ptr, pc = (uint64_t)(uintptr_t)zt_error_caller;
    freed_slot_t *s = &t[freed_slot_of(p)];
    __atomic_store_n(&s->ptr, p, __ATOMIC_RELAXED);
    __atomic_store_n(&s->pc, pc, __ATOMIC_RELAXED);
    __atomic_store_n(&s->bytes, (uint64_t)bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&s->tag, tag, __ATOMIC_RELAXED);
    __atomic_store_n(&s->check, freed_check(p, pc, bytes, tag), __ATOMIC_RELAXED);
}

/* The latest free of the block at p, if the table still holds it. */
static bool freed_find(uint64_t p, uint64_t *pc, uint64_t *bytes, uint32_t *tag)
{
    freed_slot_t *t = freed_table;
    if (t == NULL || p == 0) return false;
    freed_slot_t *s = &t[freed_slot_of(p)];
    uint64_t sp = __atomic_load_n(&s->ptr, __ATOMIC_RELAXED);
    *pc = __atomic_load_n(&s->pc, __ATOMIC_RELAXED);
    *bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
    *tag = __atomic_load_n(&s->tag, __ATOMIC_RELAXED);
    uint32_t check = __atomic_load_n(&s->check, __ATOMIC_RELAXED);
    return sp == p && check == freed_check(p, *pc, *bytes, *tag);
}

/* Where a pointer no block starts at points: the calling thread's stack,
 * the heap (inside a region: not a block's start), or elsewhere. */
static uint32_t classify(uint64_t p)
{
    uintptr_t lo, hi;
    char here;
    uintptr_t sp = (uintptr_t)&here;
    if (zt_capture_stack_bounds(&lo, &hi)) {
        /* The main thread's lower bound is not known (0): the frames below
         * ours are, and the pointer must be above where we are now. */
        if (lo == 0) lo = sp > ((uintptr_t)1 << 16) ? sp - ((uintptr_t)1 << 16) : 0;
        if (p >= lo && p < hi) return ZT_REC_BAD_STACK;
    }
    if (zt_chunkmap_get((const void *)(uintptr_t)p) != NULL) return ZT_REC_BAD_INTERIOR;
    return ZT_REC_BAD_FOREIGN;
}

void zt_freed_fill(zt_rec_event_t *r, const struct zt_event *ev, bool with_stacks)
{
    uint64_t p = ev->value, pc = 0, bytes = 0;
    uint32_t tag = 0;
    bool known = freed_find(p, &pc, &bytes, &tag);
    r->cls = ev->cls == ZT_BAD_REALLOC_NOT_ALLOCATED ? 1 : 0;
    /* Freed twice when the zone says so, or when the zone only says "not
     * allocated" (libmalloc's free() words for a double free too) but we
     * saw this very block freed. */
    if (ev->cls == ZT_BAD_FREED_TWICE || known)
        r->align = ZT_REC_BAD_DOUBLE_FREE;
    else
        r->align = classify(p);
    if (r->zone < 0) {
        const zt_owner_t *o = zt_chunkmap_get((const void *)(uintptr_t)p);
        if (o && o->zone) r->zone = zt_account_zone_index(o->zone);
    }
    if (known) {
        r->size = bytes;
        if (tag <= __atomic_load_n(&zt_rec.hdr->nstacks, __ATOMIC_RELAXED)) r->largest_free = tag;
        if (pc && with_stacks) {
            uint64_t frame = pc;
            r->largest_aligned = zt_stacktab_intern(&frame, 1, true);
        }
    }
}

/* "double free of 0x…" or "invalid free of 0x… (a stack address)". */
static int what_words(char *buf, size_t cap, const zt_rec_event_t *r)
{
    void *p = (void *)(uintptr_t)r->value;
    if (r->align == ZT_REC_BAD_DOUBLE_FREE)
        return zt_prim_snprintf(buf, cap, "%s of %p",
                                r->cls ? "realloc of a freed block" : "double free", p);
    const char *where = r->align == ZT_REC_BAD_STACK      ? "a stack address"
                        : r->align == ZT_REC_BAD_INTERIOR ? "inside the heap, not a block's start"
                                                          : "not from this allocator";
    return zt_prim_snprintf(buf, cap, "invalid %s of %p (%s)", r->cls ? "realloc" : "free", p,
                            where);
}

void zt_freed_say(const zt_rec_event_t *r)
{
    char line[1024], site[256];
    int n = what_words(line, sizeof line, r);
    if (r->align == ZT_REC_BAD_DOUBLE_FREE && r->size && n > 0 && (size_t)n < sizeof line) {
        n += zt_prim_snprintf(line + n, sizeof line - (size_t)n, " (a %llu B block",
                              (unsigned long long)r->size);
        zt_rec_stack_t *st = zt_record_stack((uint32_t)r->largest_free, false);
        if (r->largest_free && n > 0 && (size_t)n < sizeof line) {
            n += zt_prim_snprintf(line + n, sizeof line - (size_t)n, " allocated by stack #%llu",
                                  (unsigned long long)r->largest_free);
            if (st && st->ready && st->nframes && (size_t)n < sizeof line) {
                const uint64_t *frames = (const uint64_t *)(zt_rec.base + st->frames_off);
                zt_error_describe_pc(site, sizeof site, (const void *)(uintptr_t)frames[0]);
                n += zt_prim_snprintf(line + n, sizeof line - (size_t)n, " at %s", site);
            }
        }
        if (r->largest_aligned && n > 0 && (size_t)n < sizeof line) {
            zt_rec_stack_t *fs = zt_record_stack((uint32_t)r->largest_aligned, false);
            if (fs && fs->ready && fs->nframes) {
                const uint64_t *frames = (const uint64_t *)(zt_rec.base + fs->frames_off);
                zt_error_describe_pc(site, sizeof site, (const void *)(uintptr_t)frames[0]);
                n += zt_prim_snprintf(line + n, sizeof line - (size_t)n, ", first freed at %s",
                                      site);
            }
        }
        if (n > 0 && (size_t)n < sizeof line)
            n += zt_prim_snprintf(line + n, sizeof line - (size_t)n, ")");
    } else if (r->align == ZT_REC_BAD_DOUBLE_FREE && n > 0 && (size_t)n < sizeof line) {
        n += zt_prim_snprintf(
            line + n, sizeof line - (size_t)n,
            " (where it was allocated is not known: stacks off or not sampled, or freed long ago)");
    }
    zt_prim_message("%s; see the report: zonetrace report %s", line, zt_rec.path);
}
