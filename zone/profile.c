/* ----------------------------------------------------------------------------
 * profile.c — the device table (DESIGN §4). Window sizes are iOS 12's
 * (reference/libmalloc.md §2.8): the heap gets 4–6 GiB below the shared cache
 * and what lies between the end of the nano region and the VA ceiling.
 * -------------------------------------------------------------------------- */
#include "profile.h"
#include "prim/prim.h"

#include <string.h>

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((size_t)((x)*1024.0 * 1024.0 * 1024.0))
/* libmalloc's default MallocNanoSizeClassBlocks, 16..256 B (166.x): the one
 * spelling, for the rows below and zt_profile_default_nano_class_units. */
#define DEFAULT_NANO_CLASS_UNITS                                                                   \
    {                                                                                              \
        2, 10, 11, 10, 5, 3, 3, 4, 3, 2, 2, 2, 2, 2, 1, 2                                          \
    }

const uint8_t zt_profile_default_nano_class_units[16] = DEFAULT_NANO_CLASS_UNITS;

const zt_profile_t zt_profiles[] = {
    {
        .name = "native",
        .description = "this machine: nano v2 (regions as needed), medium, no address-space limit",
        .page_bytes = 0,
        .nano = ZT_NANO_MULTI,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 32u << 10,
        .medium = true,
        .window_bytes = {0, 0},
        .ram_bytes = 0,
        .large_cache = true,
        .memory_limit_source = "none: no jetsam on this machine",
        .device_name = "this machine",
    },
    {
        .name = "macos-arm64",
        .description = "Apple-silicon Mac: 16 KiB pages, nano v2, medium, unlimited",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_MULTI,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 32u << 10,
        .medium = true,
        .window_bytes = {0, 0},
        .ram_bytes = 0,
        .large_cache = true,
        .memory_limit_source = "none: macOS has no per-process jetsam limit",
        .device_name = "Mac",
    },
    {
        .name = "ios12-1gb",
        .description = "iOS 12, 1 GiB RAM: nano off, small to 15 KiB, one 2 GiB heap window",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_OFF,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 15u << 10,
        .medium = false,
        .window_bytes = {GiB(2), 0},
        .ram_bytes = GiB(1),
        .large_cache = false,
        .memory_limit_bytes = MiB(645),
        .memory_limit_source = "measured: iPhone 6 645 MB of 1024 (stackoverflow.com/a/15200855)",
        .entitled_limit_bytes = 0, /* the entitlement is iOS 15+ */
        .device_name = "iPhone 6",
    },
    {
        .name = "ios12-2gb",
        .description = "iOS 12, 2 GiB RAM: one nano region, small to 15 KiB, 2 + 0.875 GiB windows",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_SINGLE,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 15u << 10,
        .medium = false,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(2),
        .large_cache = false,
        .memory_limit_bytes = MiB(1392),
        .memory_limit_source =
            "measured: iPhone 6s Plus 1392 MB of 2048 (stackoverflow.com/a/15200855)",
        .entitled_limit_bytes = 0, /* the entitlement is iOS 15+ */
        .device_name = "iPhone 6s Plus",
    },
    {
        .name = "ios12-4gb",
        .description = "iOS 12, 4 GiB RAM: one nano region, small to 15 KiB, 2 + 4.875 GiB windows",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_SINGLE,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 15u << 10,
        .medium = false,
        .window_bytes = {GiB(2), GiB(4.875)},
        .ram_bytes = GiB(4),
        .large_cache = false,
        .memory_limit_bytes = MiB(2040),
        .memory_limit_source = "measured: iPhone XS 2040 MB of 3754 (stackoverflow.com/a/15200855)",
        .entitled_limit_bytes = 0, /* the entitlement is iOS 15+ */
        .device_name = "iPhone XS",
    },
    {.name = NULL},
};

zt_profile_t zt_active_profile;

const zt_profile_t *zt_profile_find(const char *name)
{
    for (const zt_profile_t *p = zt_profiles; p->name; p++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

size_t zt_profile_page_bytes(const zt_profile_t *p)
{
    return p->page_bytes ? p->page_bytes : zt_prim_page_bytes();
}

size_t zt_profile_va_limit_bytes(const zt_profile_t *p)
{
    size_t total = 0;
    for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++)
        total += p->window_bytes[i];
    return total;
}

/* As libmalloc's MallocNanoSizeClassBlocks (libmalloc-166.220.1
 * src/nanov2_malloc.c:766-796): 16 comma-separated counts, each at most 64,
 * summing to 64; a 0 is accepted (that class gets no blocks, see nano.c's
 * layout_classes). libmalloc's strtol would also take signs and spaces; only
 * plain digits are accepted here. */
bool zt_profile_parse_class_units(const char *s, uint8_t units[16])
{
    uint8_t tmp[16];
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        if (*s < '0' || *s > '9') return false;
        unsigned v = 0;
        while (*s >= '0' && *s <= '9' && v <= 64)
            v = v * 10 + (unsigned)(*s++ - '0');
        if (v > 64) return false;
        tmp[i] = (uint8_t)v;
        sum += v;
        if (i < 15 && *s++ != ',') return false;
    }
    if (*s != 0 || sum != 64) return false;
    memcpy(units, tmp, 16);
    return true;
}
