/* ----------------------------------------------------------------------------
 * pin.h — keep the calling thread on one CPU. The racks pick a magazine by
 * the CPU a thread runs on (libmalloc-166.220.1 src/magazine_tiny.c:43-57),
 * and nano its current block likewise, so a test that follows one
 * magazine's free lists or one nano block must not move between CPUs.
 * Include before any system header (it needs _GNU_SOURCE).
 * -------------------------------------------------------------------------- */
#ifndef ZT_TEST_PIN_H
#define ZT_TEST_PIN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdbool.h>

/* Pins to the CPU the thread is on now (or the first it may use); false
 * when the system refuses. */
static inline bool pin_to_one_cpu(void)
{
    cpu_set_t set;
    int here = sched_getcpu();
    if (here < 0) {
        if (sched_getaffinity(0, sizeof set, &set) != 0) return false;
        for (here = 0; here < CPU_SETSIZE && !CPU_ISSET(here, &set); here++) {
        }
        if (here == CPU_SETSIZE) return false;
    }
    CPU_ZERO(&set);
    CPU_SET(here, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

#endif /* ZT_TEST_PIN_H */
