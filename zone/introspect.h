/* ----------------------------------------------------------------------------
 * introspect.h — the introspection entries every zonetrace zone answers the
 * same way: libmalloc's zones do nothing for log() and do not support
 * discharge checking (enable returns false). The nano, scalable and virtual
 * zones' vtables point here instead of each defining its own no-ops.
 * -------------------------------------------------------------------------- */
#ifndef ZT_INTROSPECT_H
#define ZT_INTROSPECT_H

#include "zone.h"

void zt_introspect_nop_log(malloc_zone_t *zone, void *address);
boolean_t zt_introspect_nop_enable_discharge_checking(malloc_zone_t *zone); /* 0: unsupported */
void zt_introspect_nop_disable_discharge_checking(malloc_zone_t *zone);
void zt_introspect_nop_discharge(malloc_zone_t *zone, void *memory);

#endif /* ZT_INTROSPECT_H */
