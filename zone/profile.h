/* ----------------------------------------------------------------------------
 * profile.h — device profiles: the bucketing, address-space limits and CPU
 * count of a device, as data (DESIGN §4). One row per real device (model,
 * SoC, cores, RAM, page, OS and the libmalloc tag of that OS) in profile.c,
 * each fact with its source; old size-named profiles (ios12-2gb …) are
 * aliases of rows. Chosen with ZONETRACE_DEVICE and adjusted by
 * ZONETRACE_VA_LIMIT / _NANO / _NANO_CLASS_BLOCKS.
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

/* The default zone's allocator (reference/modern_apple.md §1.2). */
enum zt_allocator {
    ZT_ALLOC_MAGAZINES,    /* nano v2 (as .nano says) in front of a scalable zone: iOS <= 17 */
    ZT_ALLOC_XZONE,        /* xzone malloc alone: iOS 18.4+ and 26 */
    ZT_ALLOC_NANO_ON_XZONE /* nano v2 in front, xzone as its helper: iOS 18.0-18.3 */
};

typedef struct zt_profile {
    const char *name; /* the device, e.g. iphone6s-plus (profile.c says why) */
    const char *description;
    /* The device: hardware model identifiers (space-separated, the first is
     * the one the row's facts are for; also accepted as profile names), SoC,
     * logical CPUs (libmalloc's _COMM_PAGE_LOGICAL_CPUS; 0 = the host's, for
     * native and the Mac), the OS version and the libmalloc tag it carries,
     * and where each fact comes from. */
    const char *model;
    const char *soc;
    unsigned cores;
    const char *os_version;
    const char *libmalloc_tag;
    const char *device_source;
    size_t page_bytes; /* allocation page; 0 = host page */
    enum zt_nano_mode nano;
    uint8_t nano_class_units[16];                /* units of 64 blocks per nano class; sum 64 */
    size_t small_limit_bytes;                    /* largest small request (inclusive) */
    bool medium;                                 /* medium racks (32 KiB .. 8 MiB) */
    size_t window_bytes[ZT_PROFILE_MAX_WINDOWS]; /* heap address-space windows; 0 = unlimited */
    /* The device address each window starts at; 0 = the iOS 12 layout (va.c:
     * window 0 ends at the shared region, window 1 starts past the nano
     * region). Window 1 ends at the map end, which
     * ZONETRACE_ENTITLEMENT=extended-va raises to 63 GiB. */
    uint64_t window_dev_base[ZT_PROFILE_MAX_WINDOWS];
    enum zt_allocator allocator;
    uint64_t ram_bytes; /* device RAM for reports; 0 = host RAM */
    bool large_cache;   /* death row for freed large blocks (macOS only) */
    /* Jetsam (reference/modern_apple.md §4): the default per-process limit
     * of the device (kern.max_task_pmem; 0 = none, as on a Mac), where that
     * number comes from, the limit with the increased-memory-limit
     * entitlement (0 = unknown or unsupported), and the device's marketing
     * name for messages ("the iPhone 6s Plus limit"). */
    uint64_t memory_limit_bytes;
    const char *memory_limit_source;
    uint64_t entitled_limit_bytes;
    const char *device_name;
    /* Native-only performance policies (issue 15). Every device row leaves
     * them 0, which is libmalloc's behaviour; bench/README.md lists every
     * difference they make. */
    unsigned nano_defer_purge_blocks;   /* emptied nano blocks kept unpurged (FIFO) before the
                                           madvise, reused first; 0 = madvise at the last free */
    size_t large_cache_dirty_max_bytes; /* death row keeps up to the live large bytes dirty,
                                           at most this; 0 = libmalloc's rule */
    unsigned large_cache_depth;         /* death row entries; 0 = libmalloc's (16 or 64, by RAM) */
    unsigned large_cache_decay_ms;      /* a cached block unused this long is unmapped; 0 = never */
    bool tcache_batch_refill;  /* a thread-cache miss takes half a bin with one CAS (nano) */
    bool nano_stagger_classes; /* each class's first block at a different cache colour (nano) */
} zt_profile_t;

/* libmalloc's default units per nano class (MallocNanoSizeClassBlocks),
 * used by every built-in row and by nano.c when given bad units. */
extern const uint8_t zt_profile_default_nano_class_units[16];

/* The built-in table, terminated by a row with name == NULL. */
extern const zt_profile_t zt_profiles[];

/* Old names kept working: alias -> row name, and a note saying which device
 * the alias means. Terminated by a row with alias == NULL. */
typedef struct zt_profile_alias {
    const char *alias, *name, *note;
} zt_profile_alias_t;
extern const zt_profile_alias_t zt_profile_aliases[];

/* Look a profile up by name, alias or hardware model (iPhone8,2); NULL if
 * unknown. */
const zt_profile_t *zt_profile_find(const char *name);

/* True if `model` (e.g. "iPhone10,4") is one of p's hardware models. */
bool zt_profile_has_model(const zt_profile_t *p, const char *model);

/* The OS major version a row models (12 for "12.1.4"); 0 for native. */
unsigned zt_profile_os_major(const zt_profile_t *p);

/* "magazines", "xzone" or "nano-on-xzone". */
const char *zt_profile_allocator_name(const zt_profile_t *p);

/* The map end the extended virtual-addressing entitlement gives
 * (MACH_VM_MAX_ADDRESS, 63 GiB: xnu-11417.121.6 osfmk/mach/arm/vm_param.h:
 * 135-140, vm_map_set_jumbo in osfmk/vm/vm_map.c:21391-21398). */
#define ZT_IOS_JUMBO_END 0xFC0000000ull

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
