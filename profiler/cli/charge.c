/* ----------------------------------------------------------------------------
 * charge.c — "charged" (charge.h): the figure every report format prints.
 * The split itself is made in the process by the walk (profiler/snapshot.c)
 * and frozen per moment; the reader (zt_model_at) puts the chosen moment's
 * charges into each stack's va_bytes, so reading it here is all it takes.
 * -------------------------------------------------------------------------- */
#include "charge.h"

uint64_t zt_report_charged_bytes(const zt_m_stack_t *s)
{
    return s ? s->total.va_bytes : 0;
}

uint64_t zt_report_charged_zone_bytes(const zt_m_stack_t *s, unsigned z)
{
    return s && s->per_zone ? s->per_zone[z].va_bytes : 0;
}
