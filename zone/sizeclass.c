/* ----------------------------------------------------------------------------
 * sizeclass.c — request size → class index (see sizeclass.h for the map).
 * Pure functions of the profile; no state.
 * -------------------------------------------------------------------------- */
#include "sizeclass.h"
#include "profile.h"
#include "xzone.h"

static inline size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

unsigned zt_class_scalable(const zt_profile_t *p, size_t bytes)
{
    if (bytes <= ZT_TINY_MAX_BYTES) return zt_class_tiny(bytes);
    if (bytes <= p->small_limit_bytes)
        return ZT_CLASS_SMALL_FIRST - 1 + (unsigned)div_up(bytes, ZT_SMALL_QUANTUM_BYTES);
    if (p->medium && bytes <= ZT_MEDIUM_MAX_BYTES)
        return ZT_CLASS_MEDIUM_FIRST - 1 + (unsigned)div_up(bytes, ZT_MEDIUM_QUANTUM_BYTES);
    return ZT_CLASS_LARGE;
}

unsigned zt_class_nano_or_scalable(const zt_profile_t *p, size_t bytes)
{
    if (bytes <= ZT_NANO_MAX_BYTES)
        return bytes == 0 ? 0 : (unsigned)div_up(bytes, ZT_NANO_QUANTUM_BYTES) - 1;
    return zt_class_scalable(p, bytes);
}

enum zt_kind zt_class_kind(unsigned cls)
{
    if (cls >= ZT_CLASS_XZ_FIRST) return cls == ZT_CLASS_XZ_HUGE ? ZT_KIND_XZ_DATA : ZT_KIND_XZ_PTR;
    if (cls < ZT_CLASS_TINY_FIRST) return ZT_KIND_NANO;
    if (cls < ZT_CLASS_SMALL_FIRST) return ZT_KIND_TINY;
    if (cls < ZT_CLASS_MEDIUM_FIRST) return ZT_KIND_SMALL;
    if (cls < ZT_CLASS_LARGE) return ZT_KIND_MEDIUM;
    return ZT_KIND_LARGE;
}

size_t zt_class_block_bytes(unsigned cls)
{
    switch (zt_class_kind(cls)) {
    case ZT_KIND_NANO:
        return (size_t)(cls + 1) * ZT_NANO_QUANTUM_BYTES;
    case ZT_KIND_TINY:
        return (size_t)(cls - ZT_CLASS_TINY_FIRST + 1) * ZT_TINY_QUANTUM_BYTES;
    case ZT_KIND_SMALL:
        return (size_t)(cls - ZT_CLASS_SMALL_FIRST + 1) * ZT_SMALL_QUANTUM_BYTES;
    case ZT_KIND_MEDIUM:
        return (size_t)(cls - ZT_CLASS_MEDIUM_FIRST + 1) * ZT_MEDIUM_QUANTUM_BYTES;
    case ZT_KIND_XZ_DATA:
    case ZT_KIND_XZ_PTR:
        return cls < ZT_CLASS_XZ_FIRST + ZT_CLASS_XZ_BINS
                   ? zt_xzone_bin_bytes(cls - ZT_CLASS_XZ_FIRST)
                   : 0;
    default:
        return 0;
    }
}

size_t zt_class_good_size(const zt_profile_t *p, size_t bytes, bool nano)
{
    unsigned cls = nano ? zt_class_nano_or_scalable(p, bytes) : zt_class_scalable(p, bytes);
    if (cls != ZT_CLASS_LARGE) return zt_class_block_bytes(cls);
    size_t page = zt_profile_page_bytes(p);
    size_t r = (bytes + page - 1) & ~(page - 1);
    return r < bytes ? bytes : r; /* overflow: leave it to the allocation to fail */
}

const char *zt_kind_name(enum zt_kind k)
{
    static const char *const names[ZT_KIND_COUNT] = {"nano",  "tiny",    "small",     "medium",
                                                     "large", "xz-data", "xz-pointer"};
    return (unsigned)k < ZT_KIND_COUNT ? names[k] : "?";
}

/* Names are built once into a static table; callers may be in signal handlers,
 * so the table is filled eagerly the first time, with no allocation. */
static char class_names[ZT_CLASS_COUNT][20];

static void fill_name(char *out, const char *kind, size_t bytes)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + bytes % 10);
        bytes /= 10;
    } while (bytes);
    while (*kind)
        *out++ = *kind++;
    *out++ = '-';
    while (n)
        *out++ = digits[--n];
    *out = 0;
}

const char *zt_class_name(unsigned cls)
{
    if (cls >= ZT_CLASS_COUNT) return "?";
    if (cls == ZT_CLASS_LARGE) return "large";
    if (cls == ZT_CLASS_XZ_LARGE) return "xzone-large";
    if (cls == ZT_CLASS_XZ_HUGE) return "xzone-huge";
    if (cls >= ZT_CLASS_XZ_FIRST && class_names[cls][0] == 0)
        fill_name(class_names[cls], "xzone", zt_class_block_bytes(cls));
    if (class_names[cls][0] == 0)
        fill_name(class_names[cls], zt_kind_name(zt_class_kind(cls)), zt_class_block_bytes(cls));
    return class_names[cls];
}
