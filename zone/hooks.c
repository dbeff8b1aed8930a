/* ----------------------------------------------------------------------------
 * hooks.c — the zone side of its hook interface (zone/hooks.h): the state
 * the inline fast paths read, and the zt_hook_* calls routed to the
 * installed table.
 *
 * The zone never names its observer: the table starts as zt_hooks_linked,
 * which the link provides (profiler/hooks.c, or zone/hooks_none.c when the
 * zone is linked alone), as constant data relocated before any code runs —
 * so it is in place for the first malloc, whenever that comes.
 *
 * Cost: each wrapper is a load of the table pointer, a load of the entry
 * and an indirect tail jump (no frame, so the observer's stack captures see
 * the same frames as when it was called directly). zt_hook_free returns
 * before that for untagged blocks, as the profiler did, since racks call it
 * for every free while profiling.
 * -------------------------------------------------------------------------- */
#include "hooks.h"

int zt_profiling;
__thread int64_t zt_hook_sample_countdown __attribute__((tls_model("initial-exec")));
__thread size_t zt_hook_request_bytes __attribute__((tls_model("initial-exec")));

/* Tables are constant data that outlive their installation, so a relaxed
 * load sees a complete one. */
static const zt_hooks_t *hooks = &zt_hooks_linked;

void zt_hooks_install(const zt_hooks_t *table)
{
    __atomic_store_n(&hooks, table ? table : &zt_hooks_linked, __ATOMIC_RELEASE);
}

static inline const zt_hooks_t *installed(void)
{
    return __atomic_load_n(&hooks, __ATOMIC_RELAXED);
}

uint32_t zt_hook_alloc_slow(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls)
{
    return installed()->alloc(zone, ptr, bytes, cls);
}

void zt_hook_free(malloc_zone_t *zone, void *ptr, size_t bytes, unsigned cls, uint32_t tag)
{
    if (zt_likely(tag == 0)) return;
    installed()->free(zone, ptr, bytes, cls, tag);
}

void zt_hook_event(const zt_event_t *ev)
{
    installed()->event(ev);
}

void zt_hook_zone_created(malloc_zone_t *zone)
{
    installed()->zone_created(zone);
}

void zt_hook_init(void)
{
    installed()->init();
}
