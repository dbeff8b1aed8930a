/* ----------------------------------------------------------------------------
 * charge.h — "charged": the address space a stack is charged, defined once.
 * Text, JSON (charged_bytes) and HTML (the stack table and the address-space
 * legend, from the JSON) all take the figure from zt_report_charged_bytes;
 * `zonetrace report --help` prints ZT_CHARGED_DEFINITION and the README
 * repeats it word for word (tests/scenarios/test_charged.sh checks both).
 * -------------------------------------------------------------------------- */
#ifndef ZT_CHARGE_H
#define ZT_CHARGE_H

#include <stdint.h>

#include "model.h"

#define ZT_CHARGED_DEFINITION                                                                      \
    "Charged: the address space a stack is charged is its share of the regions its\n"              \
    "live blocks sit in, at the moment shown (--at). Each tiny/small/medium region's\n"            \
    "size is split among the stacks with live blocks in it, in proportion to their\n"              \
    "live bytes there; a large block is its own region, charged to its own stack; in\n"            \
    "the nano region only the 16 KiB blocks that hold live objects are charged (the\n"             \
    "never-used rest of its reservation is charged to nobody). Charged is address\n"               \
    "space reserved, not memory touched: a 256 KiB block alone in a medium region is\n"            \
    "charged the whole region (128 MiB, libmalloc's medium region, on native too),\n"              \
    "since it alone keeps the region mapped. Sampled records split regions by\n"                   \
    "estimated live bytes.\n"

/* The address space charged to stack s (its total over zones, or zone z's
 * part) at the moment the model shows. */
uint64_t zt_report_charged_bytes(const zt_m_stack_t *s);
uint64_t zt_report_charged_zone_bytes(const zt_m_stack_t *s, unsigned z);

#endif
