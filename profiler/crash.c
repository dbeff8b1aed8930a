/* ----------------------------------------------------------------------------
 * crash.c — how a run ends, written into the record before the process is
 * gone: exit (on_exit: the exit status), or a fatal signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT: signal, si_code, fault address and the faulting
 * thread's stack, interned without allocating). Both refresh the snapshot
 * and msync the file; a crash's zone walk is done by the monitor thread
 * with a bounded wait, so a lock held by the crashed thread cannot hang
 * the handler. SIGKILL cannot be caught: the record then still says
 * "running" and the reader reports "killed" once the pid is gone, except
 * for zonetrace's own jetsam kill, recorded before it is sent.
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "internal.h"

extern int zt_rec_forked;

static int ended; /* first ending wins (exit from a crash handler, ...) */

#define CRASH_WALK_WAIT_NS (500u * 1000000u)

static void end_event(int32_t kind, uint64_t value)
{
    zt_rec_event_t ev = {.time_ns = zt_record_now_ns(),
                         .type = ZT_EV_PROCESS_END,
                         .kind = kind,
                         .zone = -1,
                         .value = value};
    zt_record_event(&ev);
}

static void on_fault(const zt_prim_fault_t *f)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    uint64_t pcs[ZT_REC_MAX_FRAMES];
    unsigned depth = zt_rec.hdr->depth ? zt_rec.hdr->depth : ZT_OPT_DEPTH_DEFAULT;
    unsigned n = zt_capture_fault(f, pcs, depth);
    /* A fault inside the allocator may hold a zone lock: no walk then. */
    bool in_allocator = zt_capture_pc_is_own(f->pc);
    for (unsigned i = 0; i < n && !in_allocator; i++)
        in_allocator = zt_capture_pc_is_own((uintptr_t)pcs[i]);
    uint32_t id = n ? zt_stacktab_intern(pcs, n, false) : 0;
    zt_rec_term_t t = {ZT_REC_SIGNALED, 0, f->signal, f->si_code, f->addr, id, zt_prim_tid(), 0};
    end_event(ZT_REC_SIGNALED, (uint64_t)f->signal);
    /* The zone walk takes allocator locks, one of which this thread may
     * hold (a fault inside the allocator, or in code it called). Let the
     * monitor walk, for at most CRASH_WALK_WAIT_NS; without a monitor, walk
     * here only when no frame is in the allocator. Then the header-only
     * refresh (no locks, skipped if a snapshot is stuck). */
    bool walked = zt_monitor_crash_snapshot(CRASH_WALK_WAIT_NS);
    zt_snapshot(walked || in_allocator ? 0 : ZT_SNAP_WALK);
    zt_record_terminate(&t);
}

void zt_crash_exit(int status)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    zt_rec_term_t t = {ZT_REC_EXITED, status, 0, 0, 0, 0, zt_prim_tid(), 0};
    end_event(ZT_REC_EXITED, (uint64_t)(uint32_t)status);
    zt_snapshot(ZT_SNAP_WALK | ZT_SNAP_MODULES);
    zt_monitor_tick(); /* a last timeline sample */
    zt_record_terminate(&t);
}

/* Jetsam's kill (jetsam.c, on the monitor thread, which holds no allocator
 * lock, so it walks the zones itself): the record as a SIGKILL with the
 * footprint that passed the limit, the heap snapshot of this moment, then
 * the SIGKILL itself, which no handler sees. */
void zt_crash_jetsam(uint64_t footprint_bytes, uint64_t limit_bytes)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    zt_rec.hdr->jetsam_footprint_bytes = footprint_bytes;
    zt_rec.hdr->jetsam_limit_bytes = limit_bytes;
    zt_rec_term_t t = {ZT_REC_SIGNALED, 0, 9 /* SIGKILL */, 0, 0, 0, zt_prim_tid(), 0};
    end_event(ZT_REC_SIGNALED, 9);
    zt_snapshot(ZT_SNAP_WALK | ZT_SNAP_MODULES);
    zt_monitor_tick(); /* a last timeline sample */
    zt_record_terminate(&t);
    zt_prim_signal_self(9);
    for (;;)
        zt_prim_sleep_ns(1000000000u); /* SIGKILL is on its way */
}

static void on_exit_cb(int status, void *arg)
{
    zt_crash_exit(status);
}

void zt_crash_install(void)
{
    static int installed;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL)) return;
    zt_prim_fatal_handlers(on_fault);
    zt_prim_on_exit(on_exit_cb, NULL);
}
