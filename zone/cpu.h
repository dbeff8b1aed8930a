/* ----------------------------------------------------------------------------
 * cpu.h — the CPU a thread is charged to, numbered as the emulated device
 * numbers its CPUs, and how many there are.
 *
 * libmalloc sizes its racks from the device's logical CPUs, capped at 64
 * (libmalloc-166.220.1 src/malloc.c:843-870, src/magazine_malloc.c:1366-1367)
 * and picks a magazine and a nano current block from the CPU the thread runs
 * on (src/magazine_tiny.c:43-58, src/nanov2_malloc.c:568-580, 2387), which on
 * iOS 12 is TPIDRRO_EL0 & 7 (xnu-4903.221.2 libsyscall/os/tsd.h:59-68), i.e.
 * always below the device's count. zonetrace runs on a host with another CPU
 * count, so both come from here: the profile's cores when it has them (0 =
 * the host's, for native and the Mac), and the host CPU folded onto them.
 *
 * Cost: zt_cpu_here() is the host CPU read plus one load and one compare
 * when the host CPU is a device CPU as it is (always on native, and on a
 * host with no more CPUs than the device); otherwise a call.
 *
 * Tests can pretend the host has N CPUs (ZONETRACE_HOST_NCPU, an internal
 * option): zt_cpu_count() then answers N for host-sized profiles and each
 * thread gets a pseudo CPU id, handed out round-robin over 0..N-1 at its
 * first call, in place of the real one. That path is the slow one: when the
 * option is unset nothing of it runs.
 * -------------------------------------------------------------------------- */
#ifndef ZT_CPU_H
#define ZT_CPU_H

#include "compiler.h"
#include "prim/prim.h"

/* Host CPU ids below this are device CPUs as they are. 0 until
 * zt_cpu_count() configured it, and while the host is simulated: every call
 * then takes the slow path, which reads the profile itself. */
extern unsigned zt_cpu_fit;

unsigned zt_cpu_here_slow(unsigned host_cpu);

/* The device CPU the calling thread runs on: below zt_cpu_count() on a
 * profile with cores; the host CPU on a host-sized profile. A hint, never
 * used for correctness (callers still reduce it modulo their array). */
static inline unsigned zt_cpu_here(void)
{
    unsigned cpu = zt_prim_cpu();
    if (zt_likely(cpu < __atomic_load_n(&zt_cpu_fit, __ATOMIC_RELAXED))) return cpu;
    return zt_cpu_here_slow(cpu);
}

/* The device's logical CPUs (the active profile's cores, else the host's),
 * at least 1; configures zt_cpu_here's fast path for the active profile.
 * Called where the racks are sized (szone.c), after the profile is chosen. */
unsigned zt_cpu_count(void);

/* The host's CPUs: ZONETRACE_HOST_NCPU when set, else zt_prim_ncpu(). */
unsigned zt_cpu_host_count(void);

#endif /* ZT_CPU_H */
