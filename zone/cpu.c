/* ----------------------------------------------------------------------------
 * cpu.c — device CPUs (cpu.h): the count and the slow path of zt_cpu_here.
 *
 * Folding a host CPU onto a device with fewer: host CPU modulo the device's
 * count. A thread keeps the magazine of the CPU it runs on, as on the
 * device, and threads the host scheduler spreads over its CPUs spread over
 * the device's (ids 0..2n-1 cover each device CPU twice). A per-thread
 * hash would spread as well but would pin a thread to one magazine even as
 * it moves between CPUs, which the device never does.
 * -------------------------------------------------------------------------- */
#include "cpu.h"
#include "options.h"
#include "profile.h"

#include <limits.h>

unsigned zt_cpu_fit;

/* Simulated host: each thread's pseudo CPU id + 1 (0 = none yet), handed
 * out round-robin so that N threads cover min(N, host) CPUs whatever order
 * they start in. */
static __thread unsigned sim_cpu_plus1 __attribute__((tls_model("initial-exec")));
static unsigned sim_next;

static unsigned sim_ncpu(void)
{
    long n = zt_options.host_ncpu;
    return n > 0 ? (unsigned)n : 0;
}

unsigned zt_cpu_host_count(void)
{
    unsigned sim = sim_ncpu();
    return sim ? sim : zt_prim_ncpu();
}

unsigned zt_cpu_count(void)
{
    unsigned cores = zt_active_profile.cores;
    unsigned sim = sim_ncpu();
    /* The fast path holds only when the host's own ids are the answer. */
    __atomic_store_n(&zt_cpu_fit, sim ? 0u : cores ? cores : UINT_MAX, __ATOMIC_RELAXED);
    return cores ? cores : zt_cpu_host_count();
}

unsigned zt_cpu_here_slow(unsigned host_cpu)
{
    unsigned sim = sim_ncpu();
    if (sim) {
        unsigned id = sim_cpu_plus1;
        if (id == 0) {
            id = __atomic_fetch_add(&sim_next, 1, __ATOMIC_RELAXED) % sim + 1;
            sim_cpu_plus1 = id;
        }
        host_cpu = id - 1;
    }
    unsigned cores = zt_active_profile.cores;
    if (cores == 0 || host_cpu < cores) return host_cpu;
    return host_cpu % cores;
}
