/* ----------------------------------------------------------------------------
 * profile.h — device profiles: the bucketing and address-space limits of a
 * device, as data (DESIGN §4). One row per device in profile.c; chosen with
 * ZONETRACE_DEVICE and adjusted by ZONETRACE_VA_LIMIT / _NANO /
 * _NANO_CLASS_BLOCKS.
 * -------------------------------------------------------------------------- */
#ifndef ZT_PROFILE_H
#define ZT_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum zt_nano_mode {
    ZT_NANO_OFF,    /* no nano zone: the default zone is a scalable zone */
    ZT_NANO_MULTI,  /* nano v2, 512 MiB regions, more as needed (macOS) */
    ZT_NANO_SINGLE, /* nano v2, exactly one 512 MiB region (iOS devices) */
};

#define ZT_PROFILE_MAX_WINDOWS 2

typedef struct zt_profile {
    const char *name;
    const char *description;
    size_t page_bytes; /* allocation page; 0 = host page */
    enum zt_nano_mode nano;
    uint8_t nano_class_units[16];                /* units of 64 blocks per nano class; sum 64 */
    size_t small_limit_bytes;                    /* largest small request (inclusive) */
    bool medium;                                 /* medium racks (32 KiB .. 8 MiB) */
    size_t window_bytes[ZT_PROFILE_MAX_WINDOWS]; /* heap address-space windows; 0 = unlimited */
    uint64_t ram_bytes;                          /* device RAM for reports; 0 = host RAM */
    bool large_cache;                            /* death row for freed large blocks (macOS only) */
    /* Jetsam (reference/modern_apple.md §4): the default per-process limit
     * of the device (kern.max_task_pmem; 0 = none, as on a Mac), where that
     * number comes from, the limit with the increased-memory-limit
     * entitlement (0 = unknown or unsupported), and the device's marketing
     * name for messages ("the iPhone 6s Plus limit"). */
    uint64_t memory_limit_bytes;
    const char *memory_limit_source;
    uint64_t entitled_limit_bytes;
    const char *device_name;
} zt_profile_t;

/* libmalloc's default units per nano class (MallocNanoSizeClassBlocks),
 * used by every built-in row and by nano.c when given bad units. */
extern const uint8_t zt_profile_default_nano_class_units[16];

/* The built-in table, terminated by a row with name == NULL. */
extern const zt_profile_t zt_profiles[];

/* Look a profile up by name; NULL if unknown. */
const zt_profile_t *zt_profile_find(const char *name);

/* The active profile after options were applied (copy of a table row with
 * overrides). Valid after zt_init(). */
extern zt_profile_t zt_active_profile;

/* Effective page size of a profile (host page when page_bytes is 0). */
size_t zt_profile_page_bytes(const zt_profile_t *p);

/* Total heap window bytes, 0 when unlimited. */
size_t zt_profile_va_limit_bytes(const zt_profile_t *p);

/* Parse "2,10,11,..." (16 numbers summing to 64) into units. Returns false
 * with nothing written on bad input. */
bool zt_profile_parse_class_units(const char *s, uint8_t units[16]);

#endif /* ZT_PROFILE_H */
