/* ----------------------------------------------------------------------------
 * record.c — the record file writer (layout: record_format.h, FORMAT.md).
 *
 * The file is mapped MAP_SHARED at the start of a large PROT_NONE
 * reservation and grows in place (fallocate, then map the new tail with
 * MAP_FIXED), so pointers into it never move and readers of the stack table
 * never stop. It starts as small as its header and grows by a quarter at a
 * time (at least to what is asked): everything in it is made on first use —
 * zone blocks, class-counter, stack, event and timeline chunks — so a small
 * program's record stays a few tens of KiB. Blocks are bump-allocated under
 * one lock (rare: new chunks, frames of new stacks, snapshot sections);
 * counters and events are written lock-free by the hooks.
 * -------------------------------------------------------------------------- */
#include "internal.h"
#include "hooks.h"

#include <string.h>
#include <unistd.h>

#define DEFAULT_RESERVE_BYTES (4ull << 30)
#define CMDLINE_BYTES         (32u << 10) /* longest argv kept */
#define OPTIONS_BYTES         (4u << 10)

zt_record_t zt_rec;
int zt_rec_open;
int zt_rec_forked; /* fork child that has not yet moved to its own file */

static uint64_t round8(uint64_t v)
{
    return (v + 7) & ~7ull;
}

/* Under zt_rec.lock: make the file at least `need` bytes and map it. */
static bool grow_locked(uint64_t need)
{
    zt_rec_header_t *h = zt_rec.hdr;
    if (need <= h->file_bytes) return true;
    size_t page = zt_prim_page_bytes();
    /* A quarter more at a time: few growths (each an fallocate and an mmap)
     * and at most a quarter of the file reserved but unused. */
    uint64_t target = h->file_bytes + h->file_bytes / 4;
    if (target < need) target = need;
    target = (target + page - 1) & ~(uint64_t)(page - 1);
    if (target > zt_rec.reserve_bytes) target = zt_rec.reserve_bytes;
    if (target < need) return false;
    if (zt_prim_file_reserve(zt_rec.fd, target) != 0)
        return false; /* disk full: stop growing rather than SIGBUS later */
    uint64_t old = zt_rec.mapped_bytes;
    if (zt_prim_file_map(zt_rec.fd, old, target - old, zt_rec.base + old) == NULL) return false;
    zt_rec.mapped_bytes = target;
    __atomic_store_n(&h->file_bytes, target, __ATOMIC_RELEASE);
    return true;
}

uint64_t zt_record_alloc(size_t bytes, void **ptr, bool locked)
{
    if (!zt_rec_open) return 0;
    bytes = round8(bytes);
    if (!locked) zt_lock(&zt_rec.lock);
    zt_rec_header_t *h = zt_rec.hdr;
    uint64_t off = h->used_bytes;
    uint64_t end = off + bytes;
    uint64_t got = 0;
    if (end >= off && grow_locked(end)) {
        __atomic_store_n(&h->used_bytes, end, __ATOMIC_RELEASE);
        got = off;
        if (ptr) *ptr = zt_rec.base + off;
    }
    if (!locked) zt_unlock(&zt_rec.lock);
    return got;
}

zt_rec_stack_t *zt_record_stack_slow(uint32_t id, bool create)
{
    if (id == 0) return NULL;
    uint64_t within;
    unsigned k = zt_rec_chunk_of(id - 1, &within);
    zt_rec_stack_t *chunk = __atomic_load_n(&zt_rec.stack_chunk[k], __ATOMIC_ACQUIRE);
    if (zt_likely(chunk != NULL)) return chunk + within;
    if (!create || !zt_rec_open) return NULL;
    zt_lock(&zt_rec.lock);
    chunk = zt_rec.stack_chunk[k];
    if (chunk == NULL) {
        void *p;
        uint64_t off = zt_record_alloc(zt_rec_chunk_cap(k) * sizeof(zt_rec_stack_t), &p, true);
        if (off) {
            chunk = p;
            __atomic_store_n(&zt_rec.stack_chunk[k], chunk, __ATOMIC_RELEASE);
            __atomic_store_n(&zt_rec.hdr->stack_chunks_off[k], off, __ATOMIC_RELEASE);
        }
    }
    zt_unlock(&zt_rec.lock);
    return chunk ? chunk + within : NULL;
}

/* Tries at the record lock before a path that may run in a signal handler
 * (events, samples) gives up: the lock is held only for a bump allocation
 * and maybe a file growth, so another thread releases it long before; only
 * a handler that interrupted its holder waits for nothing. */
#define TRY_LOCK_TRIES 256

/* Make the chunk a directory entry names, once (under the record lock,
 * or with bounded tries from a path that may run in a signal handler):
 * filled with zeros, then published by one store of its offset. */
static void *chunk_make(void **ptr_slot, uint64_t *off_slot, uint64_t bytes, bool try_only)
{
    if (try_only) {
        unsigned i = 0;
        while (!zt_trylock(&zt_rec.lock)) {
            if (++i == TRY_LOCK_TRIES) return NULL;
            zt_prim_yield();
        }
    } else {
        zt_lock(&zt_rec.lock);
    }
    void *p = *ptr_slot;
    if (p == NULL) {
        uint64_t off = zt_record_alloc(bytes, &p, true);
        if (off) {
            __atomic_store_n(ptr_slot, p, __ATOMIC_RELEASE);
            __atomic_store_n(off_slot, off, __ATOMIC_RELEASE);
        }
    }
    zt_unlock(&zt_rec.lock);
    return p;
}

zt_rec_zone_t *zt_record_zone_block(unsigned z)
{
    if (!zt_rec_open || z >= ZT_REC_MAX_ZONES) return NULL;
    zt_rec_zone_t *rz = __atomic_load_n(&zt_rec.zone[z], __ATOMIC_ACQUIRE);
    if (zt_likely(rz != NULL)) return rz;
    return chunk_make((void **)&zt_rec.zone[z], &zt_rec.hdr->zones_off[z], sizeof(zt_rec_zone_t),
                      false);
}

zt_rec_counters_t *zt_record_zone_stack_slow(unsigned zone, uint32_t id, bool create)
{
    if (id == 0 || zone >= ZT_REC_MAX_ZONES || zt_record_zone_block(zone) == NULL) return NULL;
    uint64_t within;
    unsigned k = zt_rec_chunk_of(id - 1, &within);
    zt_rec_counters_t **slot = &zt_rec.zone_stack_chunk[zone][k];
    zt_rec_counters_t *chunk = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (zt_likely(chunk != NULL)) return chunk + within;
    if (!create || !zt_rec_open) return NULL;
    zt_lock(&zt_rec.lock);
    chunk = *slot;
    if (chunk == NULL) {
        void *p;
        uint64_t off = zt_record_alloc(zt_rec_chunk_cap(k) * sizeof(zt_rec_counters_t), &p, true);
        if (off) {
            chunk = p;
            __atomic_store_n(slot, chunk, __ATOMIC_RELEASE);
            __atomic_store_n(&zt_rec.zone[zone]->stack_chunks_off[k], off, __ATOMIC_RELEASE);
        }
    }
    zt_unlock(&zt_rec.lock);
    return chunk ? chunk + within : NULL;
}

void zt_record_zone_name(unsigned z, const char *name)
{
    if (!zt_rec_open || z >= ZT_REC_MAX_ZONES || zt_rec.zone[z] == NULL) return;
    /* Built aside, then stored whole: a reader never sees half a name
     * without its NUL (the field's last byte stays 0). */
    char buf[sizeof zt_rec.zone[0]->name];
    size_t i = 0;
    if (name)
        for (; i < sizeof buf - 1 && name[i]; i++)
            buf[i] = name[i];
    for (size_t j = i; j < sizeof buf; j++)
        buf[j] = 0;
    char *dst = zt_rec.zone[z]->name;
    if (memcmp(dst, buf, sizeof buf) != 0) memcpy(dst, buf, sizeof buf);
}

zt_rec_counters_t *zt_record_class_slow(unsigned z, unsigned cls)
{
    if (cls >= ZT_REC_CLASSES || zt_record_zone_block(z) == NULL) return NULL;
    unsigned j = cls / ZT_REC_CLASS_CHUNK;
    zt_rec_counters_t *c =
        chunk_make((void **)&zt_rec.class_chunk[z][j], &zt_rec.zone[z]->class_chunks_off[j],
                   ZT_REC_CLASS_CHUNK * sizeof(zt_rec_counters_t), false);
    return c ? c + cls % ZT_REC_CLASS_CHUNK : NULL;
}

bool zt_record_zone(unsigned z, const char *name, uint64_t address)
{
    zt_rec_zone_t *rz = zt_record_zone_block(z);
    if (rz == NULL) return false;
    rz->address = address;
    zt_record_zone_name(z, name);
    uint32_t n = __atomic_load_n(&zt_rec.hdr->nzones, __ATOMIC_RELAXED);
    while (n < z + 1 && !__atomic_compare_exchange_n(&zt_rec.hdr->nzones, &n, z + 1, false,
                                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
    return true;
}

/* Snapshot sections are double-buffered per slot: write the buffer that is
 * not published, then publish it; a bigger snapshot gets a new buffer (the
 * old one is abandoned: growth is geometric, so the waste is bounded). */
struct sec_bufs {
    uint64_t *slot;
    uint64_t off[2], cap[2];
};
static struct sec_bufs sec_bufs[16];

static bool section_write(uint64_t *slot, bool reuse, uint32_t type, uint64_t count,
                          const void *records, size_t record_bytes, const void *tail,
                          size_t tail_bytes)
{
    if (!zt_rec_open) return false;
    struct sec_bufs *sb = NULL;
    for (unsigned i = 0; reuse && i < sizeof sec_bufs / sizeof sec_bufs[0]; i++)
        if (sec_bufs[i].slot == slot || sec_bufs[i].slot == NULL) {
            sb = &sec_bufs[i];
            sb->slot = slot;
            break;
        }
    uint64_t bytes = round8(sizeof(zt_rec_section_t) + count * record_bytes + tail_bytes);
    uint64_t published = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    unsigned b = 0;
    uint8_t *dst = NULL;
    uint64_t off = 0;
    if (sb) {
        b = sb->off[0] != 0 && sb->off[0] == published ? 1 : 0;
        if (sb->off[b] && sb->cap[b] >= bytes) {
            off = sb->off[b];
            dst = zt_rec.base + off;
        }
    }
    if (dst == NULL) {
        uint64_t cap = bytes + bytes / 2;
        void *p;
        off = zt_record_alloc(cap, &p, false);
        if (off == 0) return false;
        dst = p;
        if (sb) {
            sb->off[b] = off;
            sb->cap[b] = round8(cap);
        }
    }
    zt_rec_section_t sh = {ZT_REC_SEC_MAGIC, type, bytes, count, zt_prim_wall_ns()};
    memcpy(dst, &sh, sizeof sh);
    if (count && record_bytes) memcpy(dst + sizeof sh, records, count * record_bytes);
    if (tail_bytes) memcpy(dst + sizeof sh + count * record_bytes, tail, tail_bytes);
    __atomic_store_n(slot, off, __ATOMIC_RELEASE);
    return true;
}

bool zt_record_section(uint64_t *slot, uint32_t type, uint64_t count, const void *records,
                       size_t record_bytes, const void *tail, size_t tail_bytes)
{
    return section_write(slot, true, type, count, records, record_bytes, tail, tail_bytes);
}

bool zt_record_section_once(uint64_t *slot, uint32_t type, uint64_t count, const void *records,
                            size_t record_bytes, const void *tail, size_t tail_bytes)
{
    return section_write(slot, false, type, count, records, record_bytes, tail, tail_bytes);
}

/* Slot i of the event ring, its chunk made on first use. Events come from
 * signal handlers too (the process end), so a chunk is made only if the
 * record lock is free; chunk 0 exists from the start. */
static zt_rec_event_t *event_slot(uint64_t i)
{
    uint64_t within;
    unsigned k = zt_rec_chunk_in(i, ZT_REC_EVENT_CHUNK0, &within);
    zt_rec_event_t *c = __atomic_load_n(&zt_rec.event_chunk[k], __ATOMIC_ACQUIRE);
    if (c == NULL)
        c = chunk_make((void **)&zt_rec.event_chunk[k], &zt_rec.hdr->events_chunks_off[k],
                       (ZT_REC_EVENT_CHUNK0 << k) * sizeof(zt_rec_event_t), true);
    return c ? c + within : NULL;
}

void zt_record_event(const zt_rec_event_t *ev)
{
    if (!zt_rec_open || zt_rec.event_chunk[0] == NULL) return;
    zt_rec_header_t *h = zt_rec.hdr;
    uint64_t n = __atomic_add_fetch(&h->events_head, 1, __ATOMIC_ACQ_REL);
    zt_rec_event_t *slot = event_slot((n - 1) % h->events_cap);
    if (slot == NULL) return; /* no room: the reader sees a slot without its seq */
    __atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    zt_rec_event_t tmp = *ev;
    tmp.seq = 0;
    memcpy((char *)slot + sizeof slot->seq, (char *)&tmp + sizeof tmp.seq,
           sizeof tmp - sizeof tmp.seq);
    __atomic_store_n(&slot->seq, n, __ATOMIC_RELEASE);
}

/* Sample i of the timeline (its chunk made when `make`). */
static zt_rec_sample_t *timeline_at(uint64_t i, bool make)
{
    uint64_t within;
    unsigned k = zt_rec_chunk_in(i, ZT_REC_TIMELINE_CHUNK0, &within);
    zt_rec_sample_t *c = __atomic_load_n(&zt_rec.timeline_chunk[k], __ATOMIC_ACQUIRE);
    if (c == NULL && make)
        c = chunk_make((void **)&zt_rec.timeline_chunk[k], &zt_rec.hdr->timeline_chunks_off[k],
                       (ZT_REC_TIMELINE_CHUNK0 << k) * sizeof(zt_rec_sample_t), true);
    return c ? c + within : NULL;
}

void zt_record_sample(const zt_rec_sample_t *s)
{
    if (!zt_rec_open) return;
    zt_rec_header_t *h = zt_rec.hdr;
    uint64_t n = h->timeline_count;
    if (n >= h->timeline_cap) {
        /* Keep every other sample: the whole run stays, at half the rate
         * (every chunk exists by now: the array was full). */
        __atomic_store_n(&h->timeline_count, 0, __ATOMIC_RELEASE);
        for (uint64_t i = 0; i < n / 2; i++)
            *timeline_at(i, false) = *timeline_at(2 * i, false);
        n /= 2;
        h->timeline_period_ns *= 2;
        __atomic_store_n(&h->timeline_count, n, __ATOMIC_RELEASE);
    }
    zt_rec_sample_t *dst = timeline_at(n, true);
    if (dst == NULL) return; /* no room (or the lock was busy): this sample is skipped */
    *dst = *s;
    __atomic_store_n(&h->timeline_count, n + 1, __ATOMIC_RELEASE);
}

void zt_record_sync(bool wait)
{
    if (zt_rec_open) zt_prim_sync(zt_rec.base, zt_rec.mapped_bytes, wait);
}

void zt_record_terminate(const zt_rec_term_t *t)
{
    if (!zt_rec_open) return;
    zt_rec_term_t *dst = &zt_rec.hdr->term;
    dst->exit_code = t->exit_code;
    dst->signal = t->signal;
    dst->si_code = t->si_code;
    dst->fault_addr = t->fault_addr;
    dst->fault_stack_id = t->fault_stack_id;
    dst->fault_tid = t->fault_tid;
    dst->end_wall_ns = zt_prim_wall_ns();
    __atomic_store_n(&dst->state, t->state, __ATOMIC_RELEASE);
    /* The record is a shared file mapping: its pages are the kernel's page
     * cache, so they outlive the process however it ends (exit, exec, a
     * crash, SIGKILL) and a reader sees them at once. Waiting for the disk
     * guards only against the machine going down; that is worth it after a
     * fatal signal (a rare path), not on every exit, where MS_SYNC cost
     * about 0.3 ms of CPU per process on ext4 (sample mode on /bin/true,
     * 60 interleaved rounds: 1.04 -> 0.73 ms over stacks off, 2026-12-07). */
    zt_record_sync(t->state == ZT_REC_SIGNALED);
}

uint64_t zt_record_now_ns(void)
{
    return zt_prim_now_ns() - zt_rec.start_ns;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    if (src)
        for (; src[i] && i + 1 < cap; i++)
            dst[i] = src[i];
    dst[i] = 0;
}

/* A strings section of `len` bytes of text (count strings), published at
 * *slot: the text is built aside (in `text`, mapped scratch memory), so the
 * record holds only what it needs. */
static void strings_write(uint64_t *slot, const char *text, size_t len, uint64_t count)
{
    void *p;
    uint64_t off = zt_record_alloc(sizeof(zt_rec_section_t) + len, &p, false);
    if (off == 0) return;
    zt_rec_section_t sh = {ZT_REC_SEC_MAGIC, ZT_REC_SEC_STRINGS, round8(sizeof sh + len), count,
                           zt_prim_wall_ns()};
    memcpy(p, &sh, sizeof sh);
    memcpy((char *)p + sizeof sh, text, len);
    __atomic_store_n(slot, off, __ATOMIC_RELEASE);
}

/* argv from /proc/self/cmdline. */
static void record_cmdline(zt_rec_header_t *h)
{
    char *text = zt_prim_map(CMDLINE_BYTES + 1);
    if (text == NULL) return;
    size_t len = 0;
    if (zt_prim_read_file("/proc/self/cmdline", text, CMDLINE_BYTES, &len)) {
        if (len > 0 && text[len - 1] != 0) text[len++] = 0; /* truncated last argument */
        uint64_t count = 0;
        for (size_t i = 0; i < len; i++)
            count += text[i] == 0;
        h->argc = (uint32_t)count;
        strings_write(&h->argv_off, text, len, count);
    }
    zt_prim_unmap(text, CMDLINE_BYTES + 1);
}

/* "ZONETRACE_X=value\n" for every option, as in effect (set or default). */
static void record_options(zt_rec_header_t *h)
{
    char *text = zt_prim_map(OPTIONS_BYTES);
    if (text == NULL) return;
    size_t len = 0;
    for (unsigned i = 0; i < zt_option_count; i++) {
        const zt_option_desc_t *d = &zt_option_table[i];
        const char *v = zt_prim_getenv(d->env);
        if (d->internal && !v) continue; /* internal rows (last in the table) only when set */
        int w = zt_prim_snprintf(text + len, OPTIONS_BYTES - 1 - len, "%s=%s\n", d->env,
                                 v ? v : d->def);
        len += (size_t)w;
    }
    text[len++] = 0;
    strings_write(&h->options_off, text, len, 1);
    zt_prim_unmap(text, OPTIONS_BYTES);
}

bool zt_record_open(const zt_record_info_t *info)
{
    if (zt_rec_open) return true;
    memset(&zt_rec, 0, sizeof zt_rec);
    memset(sec_bufs, 0, sizeof sec_bufs);
    zt_rec.fd = -1;
    zt_rec.reserve_bytes = info->max_bytes ? info->max_bytes : DEFAULT_RESERVE_BYTES;
    zt_rec.base = zt_prim_reserve(zt_rec.reserve_bytes, 0);
    if (zt_rec.base == NULL) {
        zt_prim_message("record: cannot reserve %zu bytes of address space", zt_rec.reserve_bytes);
        return false;
    }
    int fd = zt_prim_file_create(info->path);
    if (fd < 0) {
        zt_prim_message("record: cannot create %s (errno %d); not recording", info->path, -fd);
        zt_prim_unmap(zt_rec.base, zt_rec.reserve_bytes);
        return false;
    }
    size_t page = zt_prim_page_bytes();
    uint64_t first_bytes = (sizeof(zt_rec_header_t) + page - 1) & ~(uint64_t)(page - 1);
    int err = zt_prim_file_reserve(fd, first_bytes);
    if (err || !zt_prim_file_map(fd, 0, first_bytes, zt_rec.base)) {
        zt_prim_message("record: cannot size or map %s (errno %d); not recording", info->path, err);
        zt_prim_close(fd);
        zt_prim_unmap(zt_rec.base, zt_rec.reserve_bytes);
        return false;
    }
    zt_rec.fd = fd;
    zt_rec.mapped_bytes = first_bytes;
    zt_rec.start_ns = zt_prim_now_ns();
    copy_str(zt_rec.path, sizeof zt_rec.path, info->path);

    zt_rec_header_t *h = (zt_rec_header_t *)zt_rec.base;
    zt_rec.hdr = h;
    memcpy(h->magic, ZT_REC_MAGIC, 8);
    h->version = ZT_REC_VERSION;
    h->endian = ZT_REC_ENDIAN;
    h->header_bytes = sizeof(zt_rec_header_t);
    h->file_bytes = first_bytes;
    h->used_bytes = round8(sizeof(zt_rec_header_t));
    h->pid = zt_prim_pid();
    h->ppid = (int32_t)getppid();
    h->start_wall_ns = zt_prim_wall_ns();
    h->heartbeat_wall_ns = h->start_wall_ns;
    h->monitor_ms = info->monitor_ms;
    zt_prim_exe_path(h->exe, sizeof h->exe);
    copy_str(h->device, sizeof h->device, info->device);
    copy_str(h->unwind, sizeof h->unwind, info->unwind);
    h->stacks_mode = info->stacks_mode;
    h->depth = info->depth;
    h->sample_bytes = info->sample_bytes;
    h->page_bytes = info->page_bytes;
    h->ram_bytes = info->ram_bytes;
    h->va_limit_bytes = info->va_limit_bytes;
    h->term.state = ZT_REC_RUNNING;
    zt_prim_platform_t plat;
    zt_prim_platform(&plat); /* the prim values are the record's (prim.h) */
    h->platform = (uint32_t)plat.os;
    h->image_format = (uint32_t)plat.image_format;
    copy_str(h->arch, sizeof h->arch, plat.arch);
    zt_rec_open = 1;

    /* The event ring's first chunk now: the first events may come from a
     * signal handler, which makes no chunk when the lock is taken. */
    h->events_cap = zt_rec_chunks_cap(ZT_REC_EVENT_CHUNK0, ZT_REC_EVENT_CHUNKS);
    chunk_make((void **)&zt_rec.event_chunk[0], &h->events_chunks_off[0],
               ZT_REC_EVENT_CHUNK0 * sizeof(zt_rec_event_t), false);
    h->timeline_cap = zt_rec_chunks_cap(ZT_REC_TIMELINE_CHUNK0, ZT_REC_TIMELINE_CHUNKS);
    h->timeline_period_ns = (uint64_t)(info->monitor_ms ? info->monitor_ms : 100) * 1000000u;
    record_cmdline(h);
    record_options(h);
    return true;
}

void zt_record_close(void)
{
    if (!zt_rec_open) return;
    zt_record_sync(true);
    zt_rec_open = 0;
    zt_stacktab_reset();
    zt_prim_close(zt_rec.fd);
    zt_prim_unmap(zt_rec.base, zt_rec.reserve_bytes);
    memset(&zt_rec, 0, sizeof zt_rec);
    zt_rec.fd = -1;
}

/* Largest record the fork child copies at once (above it, the copy waits
 * for the child's first profiled call, as for a child that never uses it). */
#define FORK_COPY_MAX_BYTES (64ull << 20)

/* Fork child (the atfork handler, the only thread): the mapping is still
 * the parent's file, which the parent keeps changing. Freeze our view now,
 * at the fork, by replacing it with a private copy at the same address
 * (pointers into it stay valid); the child's own file is created from that
 * copy on first use (zt_record_reopen_child). A child that only execs pays
 * one memcpy of the used part and creates no file. */
static uint64_t fork_seq;              /* forks seen by this process (parent side; for debugging) */
#define FORK_WAIT_NS (250u * 1000000u) /* longest a parent waits for its child's copy */

/* Before fork (parent): number the fork in the shared header. */
void zt_record_fork_prepare(void)
{
    if (zt_rec_open && !__atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) {
        fork_seq++;
        __atomic_store_n(&zt_rec.hdr->fork_ack, 0, __ATOMIC_RELEASE);
    }
}

/* After fork (parent): let the child take its copy before this thread goes
 * on (what it does next, say freeing what the child keeps, must not show in
 * the child's record). Bounded: a child that is slow to run gets a copy
 * that is a little later than the fork. Other threads are not held. */
void zt_record_fork_parent(void)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    uint64_t start = zt_prim_now_ns();
    for (unsigned i = 0; __atomic_load_n(&zt_rec.hdr->fork_ack, __ATOMIC_ACQUIRE) == 0; i++) {
        if (zt_prim_now_ns() - start > FORK_WAIT_NS) break;
        if (i < 64)
            zt_prim_yield();
        else
            zt_prim_sleep_ns(50000);
    }
}

void zt_record_fork_child(void)
{
    if (!zt_rec_open) return;
    zt_lock_reinit(&zt_rec.lock);
    __atomic_store_n(&zt_rec_forked, 1, __ATOMIC_RELEASE);
    size_t page = zt_prim_page_bytes();
    uint64_t used = (zt_rec.hdr->used_bytes + page - 1) & ~(uint64_t)(page - 1);
    if (used > zt_rec.mapped_bytes) used = zt_rec.mapped_bytes;
    uint8_t *tmp = used && used <= FORK_COPY_MAX_BYTES ? zt_prim_map(used) : NULL;
    if (tmp) memcpy(tmp, zt_rec.base, used);
    /* Release the parent (this store is the last one into its file). */
    __atomic_store_n(&zt_rec.hdr->fork_ack, 1, __ATOMIC_RELEASE);
    if (tmp == NULL) return;
    if (zt_prim_decommit(zt_rec.base, zt_rec.mapped_bytes) == 0 &&
        zt_prim_commit(zt_rec.base, zt_rec.mapped_bytes) == 0) {
        memcpy(zt_rec.base, tmp, used);
    } else {
        /* Cannot happen short of ENOMEM; never write into the parent's file. */
        zt_rec_open = 0;
    }
    zt_prim_unmap(tmp, used);
}

static uint64_t off_of(const void *p)
{
    return p ? (uint64_t)((const uint8_t *)p - zt_rec.base) : 0;
}

/* A section the parent published after the fork may start inside our copy
 * and end past it (our bump pointer then restarts inside it): keep only a
 * section that lies whole in [0, used). */
static bool section_in_copy(uint64_t off, uint64_t used)
{
    if (off == 0 || off >= used || used - off < sizeof(zt_rec_section_t)) return false;
    const zt_rec_section_t *sh = (const zt_rec_section_t *)(zt_rec.base + off);
    return sh->bytes <= used - off;
}

/* The parent may have grown its file after the fork: keep only what lies in
 * our copy, so every offset in the header points inside our file. */
static void child_trim(zt_rec_header_t *h)
{
    uint64_t end = zt_rec.mapped_bytes;
    if (h->used_bytes > end) h->used_bytes = end;
    h->file_bytes = end;
    /* Every directory again from our pointers (the parent may have published
     * chunks after the fork that our copy lacks). */
    for (unsigned z = 0; z < ZT_REC_MAX_ZONES; z++) {
        zt_rec_zone_t *rz = zt_rec.zone[z];
        h->zones_off[z] = off_of(rz);
        if (rz == NULL) continue;
        for (unsigned k = 0; k < ZT_REC_MAX_CHUNKS; k++)
            rz->stack_chunks_off[k] = off_of(zt_rec.zone_stack_chunk[z][k]);
        for (unsigned j = 0; j < ZT_REC_CLASS_CHUNKS; j++)
            rz->class_chunks_off[j] = off_of(zt_rec.class_chunk[z][j]);
        if (!section_in_copy(rz->first_failure_off, h->used_bytes)) rz->first_failure_off = 0;
    }
    for (unsigned k = 0; k < ZT_REC_MAX_CHUNKS; k++)
        h->stack_chunks_off[k] = off_of(zt_rec.stack_chunk[k]);
    for (unsigned k = 0; k < ZT_REC_EVENT_CHUNKS; k++)
        h->events_chunks_off[k] = off_of(zt_rec.event_chunk[k]);
    for (unsigned k = 0; k < ZT_REC_TIMELINE_CHUNKS; k++)
        h->timeline_chunks_off[k] = off_of(zt_rec.timeline_chunk[k]);
    uint64_t t = 0; /* samples whose chunk our copy has */
    while (t < h->timeline_count && timeline_at(t, false))
        t++;
    h->timeline_count = t;
    uint32_t n = 0;
    while (n < h->nstacks) {
        zt_rec_stack_t *e = zt_record_stack(n + 1, false);
        if (e == NULL || !e->ready || e->frames_off + (uint64_t)e->nframes * 8 > h->used_bytes)
            break;
        n++;
    }
    h->nstacks = n;
    uint64_t *secs[] = {&h->modules_off,    &h->regions_off,    &h->charges_off,
                        &h->va_runs_off,    &h->moments_off[0], &h->moments_off[1],
                        &h->moments_off[2], &h->moments_off[3]};
    for (unsigned i = 0; i < sizeof secs / sizeof secs[0]; i++)
        if (!section_in_copy(*secs[i], h->used_bytes)) *secs[i] = 0;
    zt_stacktab_reset();
}

bool zt_record_reopen_child(const char *path)
{
    zt_lock(&zt_rec.lock);
    if (!__atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) {
        zt_unlock(&zt_rec.lock);
        return true;
    }
    bool ok = false;
    int fd = zt_prim_file_create(path);
    if (fd >= 0 && zt_prim_file_reserve(fd, zt_rec.mapped_bytes) == 0) {
        void *tmp = zt_prim_file_map(fd, 0, zt_rec.mapped_bytes, NULL);
        if (tmp) {
            uint64_t used = zt_rec.hdr->used_bytes; /* the parent's, maybe beyond ours */
            memcpy(tmp, zt_rec.base, used < zt_rec.mapped_bytes ? used : zt_rec.mapped_bytes);
            zt_prim_unmap(tmp, zt_rec.mapped_bytes);
            if (zt_prim_file_map(fd, 0, zt_rec.mapped_bytes, zt_rec.base)) {
                zt_prim_close(zt_rec.fd);
                zt_rec.fd = fd;
                fd = -1;
                copy_str(zt_rec.path, sizeof zt_rec.path, path);
                zt_rec_header_t *h = zt_rec.hdr;
                h->ppid = h->pid;
                h->pid = zt_prim_pid();
                h->heartbeat_wall_ns = zt_prim_wall_ns();
                memset(&h->term, 0, sizeof h->term);
                child_trim(h);
                ok = true;
            }
        }
    }
    if (fd >= 0) zt_prim_close(fd);
    if (!ok) {
        /* Cannot have our own file: stop recording (never touch the parent's). */
        zt_rec_open = 0;
        zt_prim_message("record: fork child %d cannot create %s; not recording", zt_prim_pid(),
                        path);
    }
    __atomic_store_n(&zt_rec_forked, 0, __ATOMIC_RELEASE);
    zt_unlock(&zt_rec.lock);
    return ok;
}

_Static_assert((int)ZT_PRIM_OS_LINUX == ZT_REC_PLATFORM_LINUX &&
                   (int)ZT_PRIM_OS_MACOS == ZT_REC_PLATFORM_MACOS &&
                   (int)ZT_PRIM_OS_IOS == ZT_REC_PLATFORM_IOS &&
                   (int)ZT_PRIM_OS_IOS_SIMULATOR == ZT_REC_PLATFORM_IOS_SIMULATOR &&
                   (int)ZT_PRIM_OS_DARWIN_OTHER == ZT_REC_PLATFORM_DARWIN_OTHER &&
                   (int)ZT_PRIM_IMAGE_ELF == ZT_REC_IMAGE_ELF &&
                   (int)ZT_PRIM_IMAGE_MACHO == ZT_REC_IMAGE_MACHO,
               "prim.h's platform values are the record's");

/* The zone's codes are stored as they are: they must be the record's. */
_Static_assert((int)ZT_EV_NANO_DELEGATED == ZT_REC_EV_NANO_DELEGATED &&
                   (int)ZT_EV_NANO_RELEASED == ZT_REC_EV_NANO_RELEASED &&
                   (int)ZT_EV_MAP_FAILED == ZT_REC_EV_MAP_FAILED &&
                   (int)ZT_EV_NULL_RETURNED == ZT_REC_EV_NULL_RETURNED &&
                   (int)ZT_EV_VA_HIGH_WATER == ZT_REC_EV_VA_HIGH_WATER &&
                   (int)ZT_EV_PROCESS_END == ZT_REC_EV_PROCESS_END &&
                   (int)ZT_EV_LIMIT == ZT_REC_EV_LIMIT &&
                   (int)ZT_EV_PRESSURE == ZT_REC_EV_PRESSURE &&
                   (int)ZT_EV_MEMORY_WARNING == ZT_REC_EV_MEMORY_WARNING &&
                   (int)ZT_EV_BAD_FREE == ZT_REC_EV_BAD_FREE && ZT_REC_EV_MAX == ZT_REC_EV_BAD_FREE,
               "zone/hooks.h's event types are the record's");
_Static_assert((int)ZT_KIND_NANO == ZT_REC_KIND_NANO && (int)ZT_KIND_TINY == ZT_REC_KIND_TINY &&
                   (int)ZT_KIND_SMALL == ZT_REC_KIND_SMALL &&
                   (int)ZT_KIND_MEDIUM == ZT_REC_KIND_MEDIUM &&
                   (int)ZT_KIND_LARGE == ZT_REC_KIND_LARGE &&
                   (int)ZT_KIND_XZ_DATA == ZT_REC_KIND_XZ_DATA &&
                   (int)ZT_KIND_XZ_PTR == ZT_REC_KIND_XZ_PTR && ZT_KIND_COUNT == ZT_REC_KINDS,
               "zone/sizeclass.h's kinds are the record's");
_Static_assert((int)ZT_STACKS_OFF == ZT_REC_STACKS_OFF &&
                   (int)ZT_STACKS_FULL == ZT_REC_STACKS_FULL &&
                   (int)ZT_STACKS_SAMPLE == ZT_REC_STACKS_SAMPLE,
               "zone/options.h's stack modes are the record's");
_Static_assert(ZT_CLASS_COUNT == ZT_REC_CLASSES && ZT_CLASS_LARGE == ZT_REC_CLASS_LARGE,
               "zone/sizeclass.h's classes are the record's");
