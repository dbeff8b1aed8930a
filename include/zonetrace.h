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

#ifdef __cplusplus
extern "C" {
#endif

/* Initialise zonetrace and make its zone the process default. Idempotent and
 * thread-safe; returns 0 on success, -1 if another allocator owns the default
 * zone (Apple) or initialisation failed. */
int zt_install(void);

/* Library version, "MAJOR.MINOR.PATCH". */
const char *zt_version(void);

/* Name of the active device profile ("native", "ios12-2gb", ...). */
const char *zt_device(void);

#ifdef __cplusplus
}
#endif

#endif /* ZONETRACE_H */
