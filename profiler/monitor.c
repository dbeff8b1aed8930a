/* ----------------------------------------------------------------------------
 * monitor.c — the profiler's own thread: every ZONETRACE_MONITOR_MS (100 ms)
 * it stamps the heartbeat, appends a footprint sample (RSS, anonymous RSS,
 * heap address space, live bytes) to the timeline, and about once a second
 * (or soon after a NULL return / failed map) refreshes the snapshot: region
 * table, address-space charge and map, modules, the cgroup v2 memory limit
 * (memory.max) and memory pressure (PSI some avg10), with events when the
 * limit changes or pressure rises. Every 10 ms slice of its sleep it runs
 * the jetsam check (jetsam.c) and takes the moments that are due.
 *
 * Cost: a walk visits every live block, so on a large heap it is the
 * profiler's dearest work. The monitor's own walks (the periodic snapshot
 * and peak moments) are duty-cycled to about 1/WALK_DUTY of a core: after
 * a walk that took t, the next of them waits (WALK_DUTY - 1)·t. Before,
 * a heap growing to its peak in a short run (bench fragment, 0.17 s) paid
 * about nine walks of its peak heap for the peak moments (15 % of its CPU
 * time). Requested walks (a NULL return, a crash) and failure moments are
 * never delayed; a delayed peak moment is taken once the budget allows, so
 * it may show the heap past its crossing (FORMAT.md, moments).
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "internal.h"

#include <string.h>

#include "va.h"

static int monitor_running;
static int snapshot_requested;
static uint64_t ticks;
static uint64_t last_limit_bytes = UINT64_MAX;
static uint64_t last_psi_x100;
static char cgroup_max_path[512];
static int cgroup_checked;

#define WALK_DUTY 32
static uint64_t walk_ready_ns;   /* monotonic: when the next budgeted walk may start */
static int periodic_due;         /* the once-a-second walk is waiting for the budget */
static __thread int tls_monitor; /* this is the monitor thread's loop */

/* A monitor walk that began at start_ns just ended: the budget's next start. */
static void walk_spent(uint64_t start_ns)
{
    uint64_t end = zt_prim_now_ns();
    walk_ready_ns = end + (end - start_ns) * (WALK_DUTY - 1);
}

void zt_monitor_request_snapshot(void)
{
    __atomic_store_n(&snapshot_requested, 1, __ATOMIC_RELEASE);
}

/* "0::/some/path" in /proc/self/cgroup → /sys/fs/cgroup/some/path/memory.max */
static void find_cgroup(void)
{
    cgroup_checked = 1;
    char buf[2048];
    size_t len;
    if (!zt_prim_read_file("/proc/self/cgroup", buf, sizeof buf, &len)) return;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (strncmp(line, "0::", 3) == 0) {
            const char *rel = line + 3;
            if (strcmp(rel, "/") == 0) rel = "";
            zt_prim_snprintf(cgroup_max_path, sizeof cgroup_max_path, "/sys/fs/cgroup%s/memory.max",
                             rel);
            return;
        }
        line = nl ? nl + 1 : NULL;
    }
}

static uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}

static void check_limits(void)
{
    if (!cgroup_checked) find_cgroup();
    char buf[256];
    size_t len;
    uint64_t limit = 0; /* "max" or absent: none */
    if (cgroup_max_path[0] && zt_prim_read_file(cgroup_max_path, buf, sizeof buf, &len) &&
        buf[0] >= '0' && buf[0] <= '9')
        limit = parse_u64(buf);
    if (limit != last_limit_bytes) {
        zt_rec.hdr->cgroup_limit_bytes = limit;
        if (limit || last_limit_bytes != UINT64_MAX) {
            zt_rec_event_t ev = {
                .time_ns = zt_record_now_ns(), .type = ZT_EV_LIMIT, .zone = -1, .value = limit};
            zt_record_event(&ev);
        }
        last_limit_bytes = limit;
    }
    /* "some avg10=1.23 ..." → 123 */
    if (zt_prim_read_file("/proc/pressure/memory", buf, sizeof buf, &len)) {
        const char *a = strstr(buf, "avg10=");
        if (a) {
            a += 6;
            uint64_t whole = parse_u64(a);
            while (*a >= '0' && *a <= '9')
                a++;
            uint64_t frac = 0;
            if (*a == '.') {
                frac = (uint64_t)(a[1] >= '0' && a[1] <= '9' ? a[1] - '0' : 0) * 10;
                if (a[1] >= '0' && a[1] <= '9' && a[2] >= '0' && a[2] <= '9')
                    frac += (uint64_t)(a[2] - '0');
            }
            uint64_t psi = whole * 100 + frac;
            /* Report a rise of at least 5 points (and any first non-zero value). */
            if (psi >= last_psi_x100 + 500 || (psi > 0 && last_psi_x100 == 0)) {
                zt_rec_event_t ev = {.time_ns = zt_record_now_ns(),
                                     .type = ZT_EV_PRESSURE,
                                     .zone = -1,
                                     .value = psi};
                zt_record_event(&ev);
                last_psi_x100 = psi;
            } else if (psi + 500 < last_psi_x100) {
                last_psi_x100 = psi; /* fell: the next rise is news again */
            }
        }
    }
}

void zt_monitor_tick(void)
{
    if (!zt_rec_open) return;
    extern int zt_rec_forked;
    if (__atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    zt_rec_header_t *h = zt_rec.hdr;
    uint64_t tick = ticks++;
    __atomic_store_n(&h->heartbeat_wall_ns, zt_prim_wall_ns(), __ATOMIC_RELEASE);
    uint64_t per_second = h->monitor_ms ? (1000 + h->monitor_ms - 1) / h->monitor_ms : 1;
    /* Walks only on the monitor thread: the exit and crash paths that call
     * this for a last timeline sample have just walked. */
    bool requested = tls_monitor && __atomic_exchange_n(&snapshot_requested, 0, __ATOMIC_ACQ_REL);
    if (tls_monitor && tick % per_second == 0) {
        periodic_due = 1;
        check_limits();
    }
    uint64_t start = zt_prim_now_ns();
    if (requested || (periodic_due && start >= walk_ready_ns)) {
        zt_snapshot(ZT_SNAP_WALK | ZT_SNAP_MODULES);
        if (requested) check_limits();
        periodic_due = 0;
        walk_spent(start);
    }
    zt_rec_sample_t s = {zt_record_now_ns(), 0, 0, 0, 0};
    zt_va_footprint(&s.rss_bytes, &s.anon_bytes);
    if (s.rss_bytes > h->peak_rss_bytes) h->peak_rss_bytes = s.rss_bytes;
    if (zt_initialised) {
        zt_va_stats_t st;
        memset(&st, 0, sizeof st);
        zt_va_get_stats(&st);
        s.va_used_bytes = st.used_bytes;
    }
    s.live_bytes = zt_account_live_bytes();
    /* The timeline's period doubles when it fills: keep one tick in 2^k. */
    uint64_t base_ns = (uint64_t)(h->monitor_ms ? h->monitor_ms : 100) * 1000000u;
    uint64_t stride = h->timeline_period_ns / base_ns;
    if (stride <= 1 || tick % stride == 0) zt_record_sample(&s);
}

/* Crash snapshots: a fatal signal may arrive while the faulting thread
 * holds an allocator lock, which a zone walk from its handler would wait
 * for forever. So the handler asks this thread to walk, and waits a
 * bounded time: if the walk is stuck on such a lock, the handler goes on
 * without it (this thread stays blocked; the process is ending anyway). */
#define SLICE_NS                                                                                   \
    ZT_JETSAM_PERIOD_NS /* sleep slice: how soon a crash request is seen and                       \
                           how often the jetsam check runs */

static int monitor_tid;
static uint64_t crash_request, crash_done;

bool zt_monitor_crash_snapshot(uint64_t wait_ns)
{
    if (!__atomic_load_n(&monitor_running, __ATOMIC_ACQUIRE) || monitor_tid == 0 ||
        zt_prim_tid() == __atomic_load_n(&monitor_tid, __ATOMIC_ACQUIRE))
        return false;
    uint64_t seq = __atomic_add_fetch(&crash_request, 1, __ATOMIC_ACQ_REL);
    uint64_t start = zt_prim_now_ns();
    while (__atomic_load_n(&crash_done, __ATOMIC_ACQUIRE) < seq) {
        if (zt_prim_now_ns() - start > wait_ns) return false;
        zt_prim_sleep_ns(200000);
    }
    return true;
}

static void serve_crash_request(void)
{
    uint64_t seq = __atomic_load_n(&crash_request, __ATOMIC_ACQUIRE);
    if (seq == __atomic_load_n(&crash_done, __ATOMIC_RELAXED)) return;
    zt_snapshot(ZT_SNAP_WALK | ZT_SNAP_MODULES);
    __atomic_store_n(&crash_done, seq, __ATOMIC_RELEASE);
}

static void *monitor_main(void *arg)
{
    __atomic_store_n(&monitor_tid, zt_prim_tid(), __ATOMIC_RELEASE);
    tls_monitor = 1;
    uint64_t period_ns = (uint64_t)zt_rec.hdr->monitor_ms * 1000000u;
    while (__atomic_load_n(&monitor_running, __ATOMIC_ACQUIRE) && zt_rec_open) {
        zt_monitor_tick();
        for (uint64_t slept = 0; slept < period_ns; slept += SLICE_NS) {
            serve_crash_request();
            uint64_t start = zt_prim_now_ns();
            if (zt_snapshot_moments_due(start >= walk_ready_ns)) walk_spent(start);
            zt_jetsam_check();
            uint64_t left = period_ns - slept;
            zt_prim_sleep_ns(left < SLICE_NS ? left : SLICE_NS);
        }
    }
    return NULL;
}

void zt_monitor_start(void)
{
    if (!zt_rec_open || zt_rec.hdr->monitor_ms == 0) return;
    if (__atomic_exchange_n(&monitor_running, 1, __ATOMIC_ACQ_REL)) return;
    if (zt_prim_thread_start(monitor_main, NULL) != 0)
        __atomic_store_n(&monitor_running, 0, __ATOMIC_RELEASE);
}

void zt_monitor_fork_child(void)
{
    __atomic_store_n(&monitor_running, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&monitor_tid, 0, __ATOMIC_RELEASE);
    zt_jetsam_fork_child();
}
