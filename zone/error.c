/* ----------------------------------------------------------------------------
 * error.c — misuse reports in libmalloc's exact words, and libmalloc's
 * debugging hook: a breakpoint on malloc_error_break stops at every report.
 * Runs inside free(), possibly with nothing initialised: no malloc, no stdio.
 *
 * Wording (libmalloc-166.220.1):
 * - free() of a pointer no zone owns, a double free included (size() of a
 *   freed block is 0, so find_registered_zone fails): src/malloc.c:1739-1760,
 *   "*** error for object %p: pointer being freed was not allocated";
 *   realloc(): src/malloc.c:1778-1786, "… pointer being realloc'd was not
 *   allocated";
 * - a zone's own free: malloc_zone_error with the allocator's text,
 *   src/magazine_tiny.c:2068 "Double free of object %p", magazine_small.c:2014
 *   (792 magazine_medium.c:2529) "double free for ptr %p", magazine_large.c:524
 *   "pointer %p being freed already on death-row", :679 "pointer %p being freed
 *   was not allocated"; szone_realloc, magazine_malloc.c:347 "pointer %p being
 *   reallocated was not allocated";
 * - every line is prefixed "<getprogname()>(<pid>,<pthread_self>) malloc: "
 *   (src/malloc_printf.c:100-112), followed by "*** set a breakpoint in
 *   malloc_error_break to debug" (:169-170) and, on 64-bit processes where
 *   MALLOC_ABORT_ON_CORRUPTION is always set (src/malloc.c:1087), abort().
 * - a failed region map (src/vm.c): tiny and small regions,
 *   mvm_allocate_pages_securely, :191-192 "can't allocate region securely"
 *   (its second line, "*** mach_vm_map(size=%lu) failed", is an unused
 *   argument of that format and never printed); large blocks,
 *   mvm_allocate_pages, :116 "can't allocate region\n*** mach_vm_map(size=%lu)
 *   failed (error code=%d)" with KERN_NO_SPACE (3). These come through
 *   malloc_zone_error (malloc_printf.c:200-211), which does not abort, and
 *   are written where libmalloc writes: MallocDebugReport=stderr (or any
 *   unknown value) always, none/crash never, unset when stderr is a terminal
 *   (malloc_printf.c:60-84); malloc_error_break is called either way
 *   (:168-170).
 * Divergence: the misuse reports above are always written (libmalloc writes
 * them under the same rule as the map failures), because a program about to
 * abort should say why; zonetrace adds one "zonetrace:" line naming the
 * caller (as image+offset) before it aborts, and tells its observer
 * (ZT_EV_BAD_FREE), which records it and names the block's allocation.
 * -------------------------------------------------------------------------- */
#include "error.h"
#include "hooks.h"
#include "str.h"

#include <string.h>

__thread const void *zt_error_caller __attribute__((tls_model("initial-exec")));
__thread int zt_error_zone_call __attribute__((tls_model("initial-exec")));

/* Exported and never inlined so that `break malloc_error_break` works. */
ZT_EXPORT __attribute__((noinline)) void malloc_error_break(void)
{
    __asm__ volatile("" ::: "memory");
}

ZT_EXPORT __attribute__((noinline)) void zt_error_break(void)
{
    malloc_error_break();
}

static bool report_only(void)
{
    const char *mode = zt_options.on_error;
    return mode && zt_str_cmp(mode, "report") == 0;
}

/* One line with libmalloc's prefix; fmt takes one pointer. */
static void report_line(const char *fmt, const void *ptr)
{
    char buf[512];
    int n = zt_prim_snprintf(buf, sizeof buf, "%s(%d,%p) malloc: ", zt_prim_progname(),
                             zt_prim_pid(), zt_prim_thread_self());
    if (n < 0 || (size_t)n >= sizeof buf - 1) n = 0;
    n += zt_prim_snprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ptr);
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    zt_prim_write(2, buf, (size_t)n);
}

struct pc_site {
    uintptr_t pc;
    char *buf;
    size_t cap;
    bool found;
};

static int pc_site_one(void *raw, const zt_prim_module_t *m)
{
    struct pc_site *ps = raw;
    if (ps->pc < m->base || ps->pc - m->base >= m->bytes) return 0;
    const char *name = m->path && m->path[0] ? m->path : zt_prim_progname();
    for (const char *c = name; *c; c++)
        if (*c == '/') name = c + 1;
    zt_prim_snprintf(ps->buf, ps->cap, "%s+0x%llx", name, (unsigned long long)(ps->pc - m->bias));
    ps->found = true;
    return 1;
}

int zt_error_describe_pc(char *buf, size_t cap, const void *pc)
{
    if (cap == 0) return 0;
    struct pc_site ps = {(uintptr_t)pc, buf, cap, false};
    if (pc) zt_prim_modules(pc_site_one, &ps);
    if (!ps.found) zt_prim_snprintf(buf, cap, "%p", pc);
    return (int)zt_str_len(buf);
}

/* After libmalloc's two lines: its breakpoint, zonetrace's line naming
 * the caller, and the abort. */
static void stop(const void *caller)
{
    malloc_error_break();
    if (report_only()) return;
    if (caller) {
        char site[256];
        zt_error_describe_pc(site, sizeof site, caller);
        zt_prim_message("called from %s; ZONETRACE_ON_ERROR=report reports without aborting", site);
    } else {
        zt_prim_message("ZONETRACE_ON_ERROR=report reports without aborting");
    }
    zt_prim_abort();
}

void zt_error_bad_free_kind(enum zt_bad_free what, int kind, const void *ptr, const void *caller)
{
    const char *fmt;
    if (!zt_error_zone_call) {
        fmt = what == ZT_BAD_REALLOC_NOT_ALLOCATED
                  ? "*** error for object %p: pointer being realloc'd was not allocated"
                  : "*** error for object %p: pointer being freed was not allocated";
    } else if (what == ZT_BAD_REALLOC_NOT_ALLOCATED) {
        fmt = "pointer %p being reallocated was not allocated";
    } else if (what == ZT_BAD_FREED_TWICE && kind == ZT_KIND_TINY) {
        fmt = "Double free of object %p";
    } else if (what == ZT_BAD_FREED_TWICE && (kind == ZT_KIND_SMALL || kind == ZT_KIND_MEDIUM)) {
        fmt = "double free for ptr %p";
    } else if (what == ZT_BAD_FREED_TWICE && kind == ZT_KIND_LARGE) {
        fmt = "pointer %p being freed already on death-row";
    } else {
        fmt = "pointer %p being freed was not allocated";
    }
    /* libmalloc's lines, then the observer (the profiler records the
     * event and writes its own line naming the block's allocation) while
     * the process is still whole, then the abort. */
    zt_event_t ev = {.type = ZT_EV_BAD_FREE,
                     .cls = (uint32_t)what,
                     .kind = kind,
                     .value = (uint64_t)(uintptr_t)ptr};
    report_line(fmt, ptr);
    report_line("*** set a breakpoint in malloc_error_break to debug", NULL);
    zt_hook_event(&ev);
    stop(caller);
}

void zt_error_bad_free(enum zt_bad_free what, const void *ptr, const void *caller)
{
    zt_error_bad_free_kind(what, -1, ptr, caller);
}

/* Whether malloc_zone_error's debug reports reach stderr (malloc_printf.c
 * malloc_print_configure): decided once, like libmalloc at its
 * initialisation. */
static bool debug_reports_written(void)
{
    static int decided; /* 0 unknown, 1 write, 2 do not */
    int d = __atomic_load_n(&decided, __ATOMIC_RELAXED);
    if (d == 0) {
        const char *v = zt_prim_getenv("MallocDebugReport");
        if (v)
            d = (zt_str_cmp(v, "none") == 0 || zt_str_cmp(v, "crash") == 0) ? 2 : 1;
        else
            d = zt_prim_isatty(2) ? 1 : 2;
        __atomic_store_n(&decided, d, __ATOMIC_RELAXED);
    }
    return d == 1;
}

void zt_error_map_failed(int kind, size_t bytes)
{
    if (debug_reports_written()) {
        if (kind == ZT_KIND_TINY || kind == ZT_KIND_SMALL) {
            report_line("can't allocate region securely", NULL);
        } else {
            char msg[128];
            zt_prim_snprintf(msg, sizeof msg,
                             "can't allocate region\n*** mach_vm_map(size=%zu) failed (error "
                             "code=3)",
                             bytes);
            report_line("%s", msg);
        }
        report_line("*** set a breakpoint in malloc_error_break to debug", NULL);
    }
    malloc_error_break();
}

/* On the device this line is printed only when the pointer range of a
 * process with VM ranges runs out (the bump allocator, xzone_segment.c:
 * 566-571); an ordinary app (no ranges) gets NULL from mach_vm_map's
 * KERN_NO_SPACE without a word (xzone_segment.c:509-517). We print it once
 * for every xzone that finds no room, so that a run says why it failed:
 * a deliberate divergence. Written where malloc_report writes (stderr under
 * the same rule as the region messages). */
void zt_error_xzone_out_of_space(void)
{
    static int warned;
    if (__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) return;
    if (debug_reports_written())
        report_line("Failed to allocate segment from range group - out of space", NULL);
}

void zt_error_corruption(const char *what, const void *where)
{
    const void *caller = zt_error_caller;
    zt_prim_message("heap corruption: %s at %p (caller %p)", what ? what : "?", where, caller);
    malloc_error_break();
    zt_prim_abort();
}
