/* ----------------------------------------------------------------------------
 * report_xzone.c — what a report says about xzone (issue 11): the sentence
 * that explains a pointer-heap high-water failure. xzone never unmaps a
 * pointer segment and keeps an empty pointer chunk for its own size class
 * and bucket (libmalloc-792.41.1 src/xzone_malloc/xzone_segment.c:3074-3090,
 * xzone_malloc.c:1743-1754), so its pointer segments can fill the address
 * space while little is live: the failure line alone ("no 4 MiB hole left")
 * would not say why.
 * -------------------------------------------------------------------------- */
#include "report.h"

#include <stdio.h>

/* The sentence, when the run failed for address space and its pointer
 * segments hold under a quarter of their bytes live; false otherwise. */
bool zt_report_xzone_sentence(const zt_model_t *m, char *out, size_t cap)
{
    const zt_m_event_t *nul, *map;
    if (!zt_report_cause(m, &nul, &map)) return false;
    uint64_t reserved[ZT_KIND_COUNT], used[ZT_KIND_COUNT];
    unsigned count[ZT_KIND_COUNT];
    zt_report_kind_totals(m, reserved, used, count);
    uint64_t ptr = reserved[ZT_KIND_XZ_PTR], live = used[ZT_KIND_XZ_PTR];
    if (!count[ZT_KIND_XZ_PTR] || live * 4 >= ptr) return false;
    char b1[32], b2[32];
    snprintf(out, cap,
             "pointer segments are never returned: %s of pointer segments hold %s live "
             "(%u segments; an emptied pointer chunk is kept for its own size class)",
             zt_fmt_bytes(ptr, b1), zt_fmt_bytes(live, b2), count[ZT_KIND_XZ_PTR]);
    return true;
}
