/* ----------------------------------------------------------------------------
 * introspect.c — the no-op introspection entries shared by the nano,
 * scalable and virtual zones' vtables (introspect.h). Called only through
 * malloc_introspection_t, never on an allocation path.
 * -------------------------------------------------------------------------- */
#include "introspect.h"

void zt_introspect_nop_log(malloc_zone_t *zone, void *address) {}

boolean_t zt_introspect_nop_enable_discharge_checking(malloc_zone_t *zone)
{
    return 0;
}

void zt_introspect_nop_disable_discharge_checking(malloc_zone_t *zone) {}

void zt_introspect_nop_discharge(malloc_zone_t *zone, void *memory) {}
