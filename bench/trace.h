/* ----------------------------------------------------------------------------
 * trace.h — the two file formats of the trace replay: the raw log written by
 * libtracelog.so (pointers as the recorded program saw them) and the ops
 * file bench_replay converts it to (pointers mapped to dense slot ids, so
 * the timed replay is a plain array walk).
 * -------------------------------------------------------------------------- */
#ifndef ZT_BENCH_TRACE_H
#define ZT_BENCH_TRACE_H

#include <stdint.h>

#define TRACE_MAGIC     "ZTTRACE1"
#define OPS_MAGIC       "ZTOPS001"
#define TRACE_SIZE_MASK ((1ULL << 56) - 1)

enum { TRACE_MALLOC = 1, TRACE_CALLOC, TRACE_REALLOC, TRACE_FREE, TRACE_MEMALIGN };

typedef struct trace_header {
    char magic[8];
    uint64_t records;
} trace_header_t;

typedef struct trace_rec {
    uint64_t op_size; /* op << 56 | size */
    uint64_t a, b;
} trace_rec_t;

typedef struct ops_header {
    char magic[8];
    uint64_t ops, ids, live_peak;
} ops_header_t;

typedef struct op {
    uint32_t kind; /* TRACE_* | log2(alignment) << 8 for TRACE_MEMALIGN */
    uint32_t id;
    uint64_t size;
} op_t;

#endif /* ZT_BENCH_TRACE_H */
