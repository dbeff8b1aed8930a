/* ----------------------------------------------------------------------------
 * record_format.h — the on-disk layout of a zonetrace record file (.zt).
 *
 * Shared by the writer (profiler/record.c, running inside the profiled
 * process) and the reader (profiler/cli/reader.c). Documented for humans in
 * profiler/FORMAT.md; bump ZT_REC_VERSION on any change to these structs.
 *
 * The file is one arena, mapped MAP_SHARED by the writer and updated in place:
 *   [0, sizeof header)  zt_rec_header_t (fixed fields, zone table, directories)
 *   [.., used_bytes)    blocks bump-allocated by the writer, found only through
 *                       offsets in the header (or in sections it points to)
 * Every offset is a byte offset from the start of the file; 0 means "none".
 * All integers are little-endian host order (x86_64/arm64), naturally aligned;
 * every block starts on an 8-byte boundary.
 *
 * Consistency without locks: a writer fills a block completely, then
 * publishes it with one aligned 64-bit store of its offset (or of a count).
 * So the file is readable at any instant, including after SIGKILL: the
 * per-(stack, zone) and per-class counters are exact as of the kill; stack
 * entries' over-all-zones totals, peaks of sums and the snapshot sections
 * (regions, charges, address-space map, modules) are as of the last snapshot
 * (at most ~1 s old).
 * -------------------------------------------------------------------------- */
#ifndef ZT_RECORD_FORMAT_H
#define ZT_RECORD_FORMAT_H

#include <stdint.h>

#define ZT_REC_MAGIC   "ZTRACE\r\n" /* 8 bytes, no NUL */
#define ZT_REC_VERSION 3            /* 3: ZT_REC_CLASSES 400 -> 442 (xzone classes) */
#define ZT_REC_ENDIAN  0x01020304u

#define ZT_REC_MAX_ZONES  64
#define ZT_REC_MAX_FRAMES 128
#define ZT_REC_CLASSES    442 /* ZT_CLASS_COUNT (zone/sizeclass.h) */
#define ZT_REC_SHARDS     32  /* per-thread class-counter shards per zone */

/* Stack ids are dense, 1..nstacks. Id i lives at index i-1 of a chunked
 * array: chunk k holds ZT_REC_CHUNK0 << k entries, so chunk k starts at
 * index ZT_REC_CHUNK0 * (2^k - 1). Chunks never move (readers keep reading
 * while the table grows). The same chunking indexes the per-zone counters. */
#define ZT_REC_CHUNK0     1024u
#define ZT_REC_MAX_CHUNKS 22 /* > 4e9 ids: every uint32 id fits */

/* Live = total - freed (clamped at 0 by readers: counters are updated
 * without a lock, so a reader may see a free before its allocation). In
 * sample mode every field is an unbiased estimate (each sampled block is
 * weighted 1/p, p = 1 - exp(-size/N)). Where counters are split into shards
 * (class counters), a reader adds the shards field by field; peak_bytes of
 * a sum is then the writer's periodic estimate (see the field's owner). */
typedef struct zt_rec_counters {
    uint64_t total_blocks, total_bytes; /* allocations since start */
    uint64_t freed_blocks, freed_bytes; /* frees since start */
    uint64_t peak_bytes;                /* high water of live bytes */
} zt_rec_counters_t;                    /* 40 bytes */

/* One interned call stack; 64 bytes, one cache line. */
typedef struct zt_rec_stack {
    uint64_t hash;       /* low 64 bits of XXH3-128 of the frames (as uint64s) */
    uint32_t nframes;    /* 1..ZT_REC_MAX_FRAMES */
    uint32_t ready;      /* 1 once hash/frames are written */
    uint64_t frames_off; /* nframes uint64 return addresses, innermost first */
    /* Over all zones, as of the last snapshot (the hot path updates only
     * the per-zone counters): readers sum the zones' per-stack counters for
     * current values and use peak_bytes, the highest sum seen at a
     * snapshot, as a lower bound of the stack's peak. */
    zt_rec_counters_t total;
} zt_rec_stack_t;

typedef struct zt_rec_zone {
    char name[48];           /* NUL-terminated (zone_name, may be empty) */
    uint64_t address;        /* the malloc_zone_t in the process */
    uint64_t va_bytes;       /* regions + large blocks (last snapshot) */
    uint64_t classes_off;    /* ZT_REC_CLASSES zt_rec_counters_t, by global class: the
                              * shared shard (atomic adds); exclusive per-thread shards
                              * are listed at header.class_shards_off */
    zt_rec_counters_t total; /* over all classes */
    /* per-stack counters in this zone: chunk k holds ZT_REC_CHUNK0 << k
     * zt_rec_counters_t indexed like the stack table (0 = not yet needed) */
    uint64_t stack_chunks_off[ZT_REC_MAX_CHUNKS];
} zt_rec_zone_t;

/* EXECED: the image that wrote the record was replaced by exec (the pid
 * lives on, running another program). */
enum zt_rec_term_state {
    ZT_REC_RUNNING = 0,
    ZT_REC_EXITED = 1,
    ZT_REC_SIGNALED = 2,
    ZT_REC_EXECED = 3
};

/* How the writer saw the end (header.end_how, stored before term.state);
 * 0 = not said (a writer older than the field, or still running). */
enum zt_rec_end_how {
    ZT_REC_END_UNKNOWN = 0,
    ZT_REC_END_EXIT = 1,   /* exit(n) or a return from main (on_exit) */
    ZT_REC_END__EXIT = 2,  /* _exit(n) or _Exit(n) */
    ZT_REC_END_SIGNAL = 3, /* a fatal signal whose handler ran */
    ZT_REC_END_EXEC = 4,   /* execve and friends */
    ZT_REC_END_JETSAM = 5  /* zonetrace's jetsam kill */
};

/* A jetsam kill is SIGNALED with signal 9 (SIGKILL) and
 * header.jetsam_footprint_bytes != 0 ("jetsam: per-process-limit"). */
enum zt_rec_jetsam_mode { ZT_REC_JETSAM_OFF = 0, ZT_REC_JETSAM_WARN = 1, ZT_REC_JETSAM_KILL = 2 };

typedef struct zt_rec_term {
    int32_t state;           /* enum zt_rec_term_state (written last) */
    int32_t exit_code;       /* EXITED */
    int32_t signal, si_code; /* SIGNALED */
    uint64_t fault_addr;     /* si_addr (SIGSEGV, SIGBUS, SIGILL, SIGFPE) */
    uint32_t fault_stack_id; /* stack of the faulting thread, 0 = unknown */
    int32_t fault_tid;
    uint64_t end_wall_ns;
} zt_rec_term_t;

/* Snapshot sections (modules, regions, charges, address-space map) start
 * with this header; a new snapshot is written to a block no reader is told
 * about, then published by storing its offset in the header. */
enum zt_rec_section_type {
    ZT_REC_SEC_MODULES = 1,
    ZT_REC_SEC_REGIONS = 2,
    ZT_REC_SEC_CHARGES = 3,
    ZT_REC_SEC_VA_RUNS = 4,
    ZT_REC_SEC_STRINGS = 5, /* argv, options: NUL-terminated strings back to back */
};
#define ZT_REC_SEC_MAGIC 0x5a545343u /* "CSTZ" */

typedef struct zt_rec_section {
    uint32_t magic;   /* ZT_REC_SEC_MAGIC */
    uint32_t type;    /* enum zt_rec_section_type */
    uint64_t bytes;   /* whole section, header included */
    uint64_t count;   /* records (strings: string count) */
    uint64_t wall_ns; /* when written */
} zt_rec_section_t;   /* 32 bytes; records follow */

/* ZT_REC_SEC_MODULES: count records, then the path strings they point to. */
typedef struct zt_rec_module {
    uint64_t base, bytes; /* lowest PT_LOAD address and extent */
    uint64_t bias;        /* load bias (dlpi_addr) */
    uint32_t path_off;    /* from the section start; path is NUL-terminated */
    uint32_t path_len;    /* without the NUL */
    uint8_t build_id[20];
    uint32_t build_id_len; /* 0 = none */
} zt_rec_module_t;         /* 56 bytes */

/* ZT_REC_SEC_REGIONS */
typedef struct zt_rec_region {
    uint64_t base, bytes;
    uint64_t used_bytes;  /* live block bytes in it */
    int32_t kind;         /* enum zt_kind */
    int32_t zone;         /* zone index, -1 unknown */
    uint32_t top_stack;   /* stack with the most live bytes in it, 0 = none */
    uint32_t va_used_kib; /* address space in use, KiB: nano = 16 KiB per nano block
                           * holding live slots (the rest is only reserved and is
                           * charged to nobody); other kinds = the whole region */
} zt_rec_region_t;        /* 40 bytes */

/* ZT_REC_SEC_CHARGES: address space charged to (stack, zone) pairs. */
typedef struct zt_rec_charge {
    uint32_t stack_id;
    uint32_t zone;
    uint64_t va_bytes;
} zt_rec_charge_t; /* 16 bytes */

/* ZT_REC_SEC_VA_RUNS: the emulated windows as maximal runs (limited profiles). */
typedef struct zt_rec_va_run {
    uint64_t base, bytes;
    int32_t kind; /* enum zt_kind, -1 free */
    int32_t window;
} zt_rec_va_run_t; /* 24 bytes */

/* Event ring: slot = (n - 1) % events_cap for the n-th event (n from 1);
 * seq = n is stored last, so a slot whose seq is not its n is torn/unused. */
typedef struct zt_rec_event {
    uint64_t seq;
    uint64_t time_ns; /* since start (monotonic) */
    uint32_t type;    /* enum zt_event_type (zone/hooks.h) */
    uint32_t cls;
    int32_t kind;
    uint32_t stack_id;
    int32_t zone; /* zone index, -1 none */
    uint32_t pad;
    uint64_t size, align, va_used, va_limit, largest_free, largest_aligned, value;
} zt_rec_event_t; /* 96 bytes */

/* Footprint timeline: timeline_count samples, oldest first. When the array
 * is full the writer keeps every other sample and doubles its period. */
typedef struct zt_rec_sample {
    uint64_t time_ns; /* since start */
    uint64_t rss_bytes, anon_bytes, va_used_bytes, live_bytes;
} zt_rec_sample_t; /* 40 bytes */

typedef struct zt_rec_header {
    char magic[8];         /* ZT_REC_MAGIC */
    uint32_t version;      /* ZT_REC_VERSION */
    uint32_t endian;       /* ZT_REC_ENDIAN */
    uint32_t header_bytes; /* sizeof(zt_rec_header_t) */
    uint32_t flags;        /* 0 */
    uint64_t file_bytes;   /* the file is at least this long */
    uint64_t used_bytes;   /* end of the bump-allocated area */

    /* process */
    int32_t pid, ppid;
    uint64_t start_wall_ns;     /* Unix epoch */
    uint64_t heartbeat_wall_ns; /* last monitor tick (or start) */
    uint32_t monitor_ms;        /* 0 = no monitor thread */
    uint32_t argc;
    uint64_t argv_off;    /* ZT_REC_SEC_STRINGS, argc strings; 0 = unknown */
    uint64_t options_off; /* ZT_REC_SEC_STRINGS, one "ZONETRACE_X=v\n..." string */
    char exe[512];        /* NUL-terminated */

    /* options and device */
    char device[32];
    char unwind[16];
    int32_t stacks_mode; /* ZT_STACKS_OFF/FULL/SAMPLE (zone/options.h) */
    uint32_t depth;
    uint64_t sample_bytes;
    uint64_t page_bytes;
    uint64_t ram_bytes; /* device RAM, 0 = unknown */

    /* address space and limits (last snapshot) */
    uint64_t va_limit_bytes, va_used_bytes, va_peak_bytes;
    uint64_t largest_free_bytes, largest_aligned_1m_bytes, largest_aligned_8m_bytes;
    uint64_t cgroup_limit_bytes; /* 0 = none */
    uint64_t peak_rss_bytes;
    uint64_t snapshot_wall_ns;

    zt_rec_term_t term;

    /* stack table */
    uint32_t nstacks; /* ids 1..nstacks are complete */
    uint32_t nzones;  /* zones[0..nzones) are in use */
    uint64_t stack_chunks_off[ZT_REC_MAX_CHUNKS];

    /* snapshot sections (0 = none yet) */
    uint64_t modules_off, regions_off, charges_off, va_runs_off;

    /* event ring */
    uint64_t events_off;
    uint64_t events_cap;  /* slots */
    uint64_t events_head; /* events ever written */

    /* footprint timeline */
    uint64_t timeline_off;
    uint64_t timeline_cap;   /* samples */
    uint64_t timeline_count; /* valid samples, oldest first */
    uint64_t timeline_period_ns;

    /* ZT_REC_MAX_ZONES x ZT_REC_SHARDS uint64 offsets (zone-major), each 0
     * or ZT_REC_CLASSES zt_rec_counters_t written by one thread at a time;
     * a zone's class counters are classes_off plus its shards, summed. */
    uint64_t class_shards_off;

    uint64_t fork_ack; /* writer-internal fork handshake (see record.c); ignore */

    /* jetsam (profiler/jetsam.c); were reserved (zero) fields: a record
     * without them reads as "no jetsam limit" */
    uint64_t jetsam_limit_bytes;     /* per-process limit, 0 = none */
    uint64_t jetsam_warning_bytes;   /* the warning threshold */
    uint64_t jetsam_footprint_bytes; /* footprint when the kill was decided; 0 = no kill */
    uint64_t peak_footprint_bytes;   /* highest footprint the jetsam check read */
    uint32_t jetsam_mode;            /* enum zt_rec_jetsam_mode */
    uint32_t jetsam_explicit;        /* 1: ZONETRACE_MEMORY_LIMIT, 0: the profile's */

    /* how it ended (were reserved, zero: a record without them reads as
     * "not said" and "no runner") */
    uint32_t end_how;           /* enum zt_rec_end_how */
    uint32_t runner_state;      /* ZT_REC_EXITED/SIGNALED as `zonetrace run` saw it
                                 * (waitpid), written after the child ended; 0 = none */
    int32_t runner_code;        /* EXITED: exit status; SIGNALED: the signal */
    int32_t runner_wait_status; /* the raw waitpid status (host encoding) */

    uint64_t reserved[7];

    zt_rec_zone_t zones[ZT_REC_MAX_ZONES];
} zt_rec_header_t;

/* Chunk of a dense index (0-based) and the index's position inside it. */
static inline unsigned zt_rec_chunk_of(uint64_t index, uint64_t *within)
{
    uint64_t q = index / ZT_REC_CHUNK0 + 1; /* chunk k covers q in [2^k, 2^(k+1)) */
    unsigned k = 63u - (unsigned)__builtin_clzll(q);
    *within = index - (uint64_t)ZT_REC_CHUNK0 * ((1ull << k) - 1);
    return k;
}

static inline uint64_t zt_rec_chunk_cap(unsigned k)
{
    return (uint64_t)ZT_REC_CHUNK0 << k;
}

#endif /* ZT_RECORD_FORMAT_H */
