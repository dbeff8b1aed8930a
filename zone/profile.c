/* ----------------------------------------------------------------------------
 * profile.c — the device table (DESIGN §4). Window sizes are iOS 12's
 * (reference/libmalloc.md §2.8): the heap gets 4–6 GiB below the shared cache
 * and what lies between the end of the nano region and the VA ceiling.
 * -------------------------------------------------------------------------- */
#include "profile.h"
#include "prim/prim.h"

#include <string.h>

#define GiB(x) ((size_t)((x)*1024.0 * 1024.0 * 1024.0))
/* libmalloc's default MallocNanoSizeClassBlocks, 16..256 B (166.x). */
#define NANO_UNITS                                                                                 \
    {                                                                                              \
        2, 10, 11, 10, 5, 3, 3, 4, 3, 2, 2, 2, 2, 2, 1, 2                                          \
    }

const zt_profile_t zt_profiles[] = {
    {"native",
     "this machine: nano v2 (regions as needed), medium, no address-space limit",
     0,
     ZT_NANO_MULTI,
     NANO_UNITS,
     32u << 10,
     true,
     {0, 0},
     0,
     true},
    {"macos-arm64",
     "Apple-silicon Mac: 16 KiB pages, nano v2, medium, unlimited",
     16u << 10,
     ZT_NANO_MULTI,
     NANO_UNITS,
     32u << 10,
     true,
     {0, 0},
     0,
     true},
    {"ios12-1gb",
     "iOS 12, 1 GiB RAM: nano off, small to 15 KiB, one 2 GiB heap window",
     16u << 10,
     ZT_NANO_OFF,
     NANO_UNITS,
     15u << 10,
     false,
     {GiB(2), 0},
     GiB(1)},
    {"ios12-2gb",
     "iOS 12, 2 GiB RAM: one nano region, small to 15 KiB, 2 + 0.875 GiB windows",
     16u << 10,
     ZT_NANO_SINGLE,
     NANO_UNITS,
     15u << 10,
     false,
     {GiB(2), GiB(0.875)},
     GiB(2)},
    {"ios12-4gb",
     "iOS 12, 4 GiB RAM: one nano region, small to 15 KiB, 2 + 4.875 GiB windows",
     16u << 10,
     ZT_NANO_SINGLE,
     NANO_UNITS,
     15u << 10,
     false,
     {GiB(2), GiB(4.875)},
     GiB(4)},
    {0},
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

bool zt_profile_parse_class_units(const char *s, uint8_t units[16])
{
    uint8_t tmp[16];
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        if (*s < '0' || *s > '9') return false;
        unsigned v = 0;
        while (*s >= '0' && *s <= '9' && v <= 64)
            v = v * 10 + (unsigned)(*s++ - '0');
        if (v == 0 || v > 64) return false;
        tmp[i] = (uint8_t)v;
        sum += v;
        if (i < 15 && *s++ != ',') return false;
    }
    if (*s != 0 || sum != 64) return false;
    memcpy(units, tmp, 16);
    return true;
}
