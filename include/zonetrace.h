/* ----------------------------------------------------------------------------
 * zonetrace.h — the public entry points of the zonetrace library beyond the
 * malloc family and Apple's zone API (zonetrace/malloc_zone.h).
 *
 * Linux: LD_PRELOAD=libzonetrace.so (or linking it) replaces malloc; nothing
 * needs to be called. Apple: DYLD_INSERT_LIBRARIES installs the zone from a
 * constructor; a static link into an iOS build calls zt_install() from main
 * (or earlier), before other threads allocate.
 * Configuration is by environment only (ZONETRACE_*; `zonetrace options`).
 * -------------------------------------------------------------------------- */
#ifndef ZONETRACE_H
#define ZONETRACE_H

#include "zonetrace/malloc_zone.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Initialise zonetrace and make its zone the process default. Idempotent and
 * thread-safe; returns 0 on success, -1 if another allocator owns the default
 * zone (Apple) or initialisation failed. */
int zt_install(void);

/* Library version, "MAJOR.MINOR.PATCH". */
const char *zt_version(void);

/* Name of the active device profile ("native", "iphone6s-plus", ...). */
const char *zt_device(void);

/* Register the memory-warning handler (ctx is passed back; NULL fn removes
 * it). When the footprint crosses the jetsam warning level of the device's
 * limit (80 % of --memory-limit; the higher of 80 % and limit - 100 MB for a
 * device profile's limit) it is called once per crossing, from zonetrace's
 * monitor thread and outside any allocator lock — the way iOS calls
 * didReceiveMemoryWarning — with the footprint and the limit in bytes. It
 * may free memory: a program that gets below the limit survives; past the
 * limit (ZONETRACE_JETSAM=kill, the default on device profiles) the process
 * is killed with SIGKILL. Only while profiling (`zonetrace run`). */
void zt_set_memory_warning_handler(void (*fn)(void *ctx, uint64_t footprint_bytes,
                                              uint64_t limit_bytes),
                                   void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* ZONETRACE_H */
