/* ----------------------------------------------------------------------------
 * record_format.h — the on-disk layout of a zonetrace record file (.zt).
 *
 * Shared by the writer (profiler/record.c, running inside the profiled
 * process) and the reader (profiler/cli/reader.c). Documented for humans in
 * profiler/FORMAT.md; bump ZT_REC_VERSION on any change to these structs.
 *
 * The file is one arena, mapped MAP_SHARED by the writer and updated in place:
 *   [0, sizeof header)  zt_rec_header_t (fixed fields, directories)
 *   [.., used_bytes)    blocks bump-allocated by the writer, found only through
 *                       offsets in the header (or in blocks it points to):
 *                       zone blocks, chunks of every table, sections
 * It starts as long as its header and grows on demand (version 4): every
 * table is chunked, each chunk made when first needed, so a small program's
 * record is a few tens of KiB.
 * Every offset is a byte offset from the start of the file; 0 means "none".
 * All integers are little-endian (x86_64 and arm64 alike), fixed-width and
 * naturally aligned at the same offsets on every 64-bit ABI (the asserts at
 * the end pin the layout); every block starts on an 8-byte boundary. So a
 * record written on macOS or iOS reads on Linux and the other way round;
 * what differs by platform (the modules' image format, signal numbers) is
 * said by header.platform and header.image_format (version 3). The codes a
 * reader needs (event types, kinds, stack modes, termination states, class
 * counts) are defined here; the zone's own enums are asserted equal to them
 * (profiler/record.c), so the CLI needs no runtime header.
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

#define ZT_REC_MAGIC "ZTRACE\r\n" /* 8 bytes, no NUL */
/* 3: platform, image_format, arch; exact counters, moments; 442 classes (xzone).
 * 4: grown on demand (zones, class counters, events and timeline in chunks
 *    found through directories; small first chunks), no class shards.
 * 5: a stack entry's `total` holds only peaks (of its live over all zones
 *    while counted in more than one zone); its counts are the sums of its
 *    per-zone counters (FORMAT.md §1.3d). */
#define ZT_REC_VERSION     5
#define ZT_REC_VERSION_MIN 4
#define ZT_REC_ENDIAN      0x01020304u

#define ZT_REC_MAX_ZONES  64
#define ZT_REC_MAX_FRAMES 128
#define ZT_REC_CLASSES    442 /* ZT_CLASS_COUNT (zone/sizeclass.h) */

/* Stack ids are dense, 1..nstacks. Id i lives at index i-1 of a chunked
 * array: chunk k holds ZT_REC_CHUNK0 << k entries, so chunk k starts at
 * index ZT_REC_CHUNK0 * (2^k - 1). Chunks never move (readers keep reading
 * while the table grows). The same chunking indexes the per-zone counters.
 * Small first chunks keep a small program's record small (version 4). */
#define ZT_REC_CHUNK0     32u
#define ZT_REC_MAX_CHUNKS 28 /* 32 * (2^28 - 1) > 2^32: every uint32 id fits */

/* The event ring and the timeline are chunked the same way, with their own
 * first chunk and a fixed number of chunks (so a fixed capacity). */
#define ZT_REC_EVENT_CHUNK0    16u
#define ZT_REC_EVENT_CHUNKS    8 /* 16 * 255 = 4080 slots */
#define ZT_REC_TIMELINE_CHUNK0 32u
#define ZT_REC_TIMELINE_CHUNKS 8 /* 32 * 255 = 8160 samples */

/* Class counters of a zone: ZT_REC_CLASS_CHUNKS chunks of ZT_REC_CLASS_CHUNK
 * classes each, made when a class in them is first counted. */
#define ZT_REC_CLASS_CHUNK  32u
#define ZT_REC_CLASS_CHUNKS ((ZT_REC_CLASSES + ZT_REC_CLASS_CHUNK - 1) / ZT_REC_CLASS_CHUNK)

/* Live = total - freed (clamped at 0 by readers: counters are updated
 * without a lock, so a reader may see a free before its allocation). In
 * sample mode every field is an unbiased estimate (each sampled block is
 * weighted 1/p, p = 1 - exp(-size/N)); block counts are then Q16 fixed
 * point. Every counters struct (per (stack, zone), per stack, per zone, per
 * (zone, class) and the heap's) is shared by all threads and updated with
 * atomic adds, so its peaks are exact: peak_bytes and peak_blocks are the
 * highest live bytes and live blocks it ever had (each its own maximum). */
typedef struct zt_rec_counters {
    uint64_t total_blocks, total_bytes; /* allocations since start */
    uint64_t freed_blocks, freed_bytes; /* frees since start */
    uint64_t peak_bytes;                /* high water of live bytes (exact) */
    uint64_t peak_blocks;               /* high water of live blocks (exact) */
    uint64_t temp_blocks;               /* temporary allocations: freed by the thread that made them
                                         * with no allocation of that thread in between (heaptrack's
                                         * definition, per thread; see FORMAT.md) */
    uint64_t requested_bytes;           /* request sizes of the allocations counted in total_*
                                         * whose request is known (0 = none known) */
} zt_rec_counters_t;                    /* 64 bytes */

/* One interned call stack; 96 bytes. */
typedef struct zt_rec_stack {
    uint64_t hash;          /* low 64 bits of XXH3-128 of the frames (as uint64s) */
    uint32_t nframes;       /* 1..ZT_REC_MAX_FRAMES */
    uint32_t ready;         /* 1 once hash/frames are written */
    uint64_t frames_off;    /* nframes uint64 return addresses, innermost first */
    uint64_t request_bytes; /* the one request size of all its allocations: 0 = none seen
                             * yet, UINT64_MAX = sizes varied or some were unknown */
    /* Over all zones. Version 5: only peak_bytes and peak_blocks (raised
     * while the stack is counted in more than one zone); the counts are
     * the sums of the per-(stack, zone) counters (FORMAT.md §1.3d). */
    zt_rec_counters_t total;
} zt_rec_stack_t;

/* One zone's block (header.zones_off[z]). */
typedef struct zt_rec_zone {
    char name[48];              /* NUL-terminated (zone_name, may be empty) */
    uint64_t address;           /* the malloc_zone_t in the process */
    uint64_t va_bytes;          /* regions + large blocks (last snapshot) */
    zt_rec_counters_t total;    /* over all classes (exact) */
    uint64_t first_failure_off; /* ZT_REC_SEC_MOMENT: the first failure in this zone, 0 = none */
    uint64_t failures;          /* NULL returns and region map failures in this zone */
    /* per-stack counters in this zone: chunk k holds ZT_REC_CHUNK0 << k
     * zt_rec_counters_t indexed like the stack table (0 = not yet needed) */
    uint64_t stack_chunks_off[ZT_REC_MAX_CHUNKS];
    /* class counters by global class: chunk j holds classes
     * [j * ZT_REC_CLASS_CHUNK, (j + 1) * ZT_REC_CLASS_CHUNK) (0 = none counted) */
    uint64_t class_chunks_off[ZT_REC_CLASS_CHUNKS];
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
    ZT_REC_SEC_MOMENT = 6,  /* a frozen accounting (zt_rec_moment_t) */
};
#define ZT_REC_SEC_MAGIC 0x5a545343u /* "CSTZ" */

typedef struct zt_rec_section {
    uint32_t magic;   /* ZT_REC_SEC_MAGIC */
    uint32_t type;    /* enum zt_rec_section_type */
    uint64_t bytes;   /* whole section, header included */
    uint64_t count;   /* records (strings: string count) */
    uint64_t wall_ns; /* when written */
} zt_rec_section_t;   /* 32 bytes; records follow */

/* Where the record was written (header.platform; 0 only in version 2
 * records, which only Linux wrote). Signal numbers in the record (term,
 * runner_code) are the platform's own. */
enum zt_rec_platform {
    ZT_REC_PLATFORM_UNKNOWN = 0,
    ZT_REC_PLATFORM_LINUX = 1,
    ZT_REC_PLATFORM_MACOS = 2,
    ZT_REC_PLATFORM_IOS = 3,
    ZT_REC_PLATFORM_IOS_SIMULATOR = 4,
    ZT_REC_PLATFORM_DARWIN_OTHER = 5, /* tvOS, watchOS, visionOS, Mac Catalyst */
    ZT_REC_PLATFORM_MAX = 5
};

/* What the modules' files are (header.image_format), which says what a
 * module's build_id and bias mean. */
enum zt_rec_image_format {
    ZT_REC_IMAGE_UNKNOWN = 0, /* version 2: ELF */
    ZT_REC_IMAGE_ELF = 1,
    ZT_REC_IMAGE_MACHO = 2,
    ZT_REC_IMAGE_MAX = 2
};

/* ZT_REC_SEC_MODULES: count records, then the path strings they point to.
 * ELF: base/bytes = the PT_LOAD extent, bias = dlpi_addr, build_id = the
 * NT_GNU_BUILD_ID note (first 20 bytes). Mach-O: base = the image's load
 * address (its mach_header, where __TEXT starts), bytes = the extent of its
 * segments (of its executable ones for a shared-cache image), bias = the
 * slide (base - __TEXT's vmaddr), build_id = LC_UUID (build_id_len 16). */
typedef struct zt_rec_module {
    uint64_t base, bytes;  /* load address and extent */
    uint64_t bias;         /* ELF load bias / Mach-O slide */
    uint32_t path_off;     /* from the section start; path is NUL-terminated */
    uint32_t path_len;     /* without the NUL */
    uint8_t build_id[20];  /* GNU build id / Mach-O UUID */
    uint32_t build_id_len; /* 0 = none; 16 for a Mach-O UUID */
} zt_rec_module_t;         /* 56 bytes */

/* ZT_REC_SEC_REGIONS */
typedef struct zt_rec_region {
    uint64_t base, bytes;
    uint64_t used_bytes;  /* live block bytes in it */
    int32_t kind;         /* enum zt_rec_kind */
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
    int32_t kind; /* enum zt_rec_kind, -1 free */
    int32_t window;
} zt_rec_va_run_t; /* 24 bytes */

/* Event types (zt_rec_event_t.type). The zone's enum zt_event_type
 * (zone/hooks.h) uses the same values (asserted in profiler/record.c), so
 * the writer stores it as is; readers know only these. */
enum zt_rec_event_type {
    ZT_REC_EV_NANO_DELEGATED = 1, /* nano class full: its requests go to the helper */
    ZT_REC_EV_NANO_RELEASED = 2,  /* delegation cleared */
    ZT_REC_EV_MAP_FAILED = 3,     /* a region or large block could not be mapped */
    ZT_REC_EV_NULL_RETURNED = 4,  /* an allocation returned NULL */
    ZT_REC_EV_VA_HIGH_WATER = 5,  /* heap address space reached a new high */
    ZT_REC_EV_PROCESS_END = 6,    /* exit or fatal signal */
    ZT_REC_EV_LIMIT = 7,          /* memory limit (cgroup memory.max) seen or changed */
    ZT_REC_EV_PRESSURE = 8,       /* memory pressure (PSI) rose */
    ZT_REC_EV_MEMORY_WARNING = 9, /* footprint crossed the jetsam warning level */
    ZT_REC_EV_BAD_FREE = 10,      /* free/realloc of a pointer the zone refused */
    ZT_REC_EV_MAX = 10
};

/* Region and block kinds (zt_rec_region_t.kind, zt_rec_va_run_t.kind,
 * zt_rec_event_t.kind): the zone's enum zt_kind (zone/sizeclass.h),
 * asserted equal in profiler/record.c. */
enum zt_rec_kind {
    ZT_REC_KIND_NANO = 0,
    ZT_REC_KIND_TINY = 1,
    ZT_REC_KIND_SMALL = 2,
    ZT_REC_KIND_MEDIUM = 3,
    ZT_REC_KIND_LARGE = 4,
    ZT_REC_KIND_XZ_DATA = 5, /* xzone segments of the data group */
    ZT_REC_KIND_XZ_PTR = 6,  /* xzone segments of the pointer group */
    ZT_REC_KINDS = 7
};

/* header.stacks_mode: ZT_STACKS_* of zone/options.h (asserted equal). */
enum zt_rec_stacks_mode {
    ZT_REC_STACKS_OFF = 0,
    ZT_REC_STACKS_FULL = 1,
    ZT_REC_STACKS_SAMPLE = 2 /* counters are weighted estimates; blocks Q16 */
};

/* Global size classes (zone/sizeclass.h, asserted equal): nano 0..15, tiny
 * 16..78, small 79..142, medium 143..398, large 399, xzone 400..441. */
#define ZT_REC_CLASS_LARGE 399

/* Event ring: slot = (n - 1) % events_cap for the n-th event (n from 1);
 * seq = n is stored last, so a slot whose seq is not its n is torn/unused. */
typedef struct zt_rec_event {
    uint64_t seq;
    uint64_t time_ns; /* since start (monotonic) */
    uint32_t type;    /* enum zt_rec_event_type */
    uint32_t cls;
    int32_t kind;
    uint32_t stack_id;
    int32_t zone; /* zone index, -1 none */
    uint32_t pad;
    uint64_t size, align, va_used, va_limit, largest_free, largest_aligned, value;
} zt_rec_event_t; /* 96 bytes */

/* A BAD_FREE event (type 10) reuses the fields a failure event has:
 * value = the pointer; cls = 0 free, 1 realloc; kind = the allocator that
 * refused it (-1 unknown); zone; stack_id = the stack of the bad call;
 * size = block bytes (0 unknown); align = enum zt_rec_bad_free;
 * largest_free = the stack that allocated the block (0 unknown);
 * largest_aligned = the stack (one frame: free's caller) that freed it
 * first (0 unknown). */
enum zt_rec_bad_free {
    ZT_REC_BAD_DOUBLE_FREE = 1, /* the block was freed already */
    ZT_REC_BAD_INTERIOR = 2,    /* inside the heap, not the start of a live block */
    ZT_REC_BAD_STACK = 3,       /* an address in the calling thread's stack */
    ZT_REC_BAD_FOREIGN = 4,     /* not an address this allocator handed out */
};

/* Moments: the accounting frozen when it explains most. */
enum zt_rec_moment_kind {
    ZT_REC_MOMENT_FIRST_FAILURE = 0, /* the first NULL returned or region map failure */
    ZT_REC_MOMENT_PEAK_VA = 1,       /* heap address space at its peak (within the step) */
    ZT_REC_MOMENT_PEAK_LIVE = 2,     /* live heap bytes at their peak (within the step) */
    ZT_REC_MOMENT_END = 3,           /* the last walking snapshot (the end once it ended) */
    ZT_REC_MOMENTS = 4,
    ZT_REC_MOMENT_ZONE_FAILURE = 5 /* a zone's first failure (zone.first_failure_off) */
};

/* ZT_REC_SEC_MOMENT: count = 1, this record, then ncells zt_rec_cell_t,
 * nregions zt_rec_region_t, ncharges zt_rec_charge_t and nruns
 * zt_rec_va_run_t back to back. Written whole into a block no reader is
 * told about, then published by one store of its offset: a reader sees
 * the previous complete moment or the new complete one. */
typedef struct zt_rec_moment {
    uint32_t kind;    /* enum zt_rec_moment_kind */
    int32_t zone;     /* ZONE_FAILURE and FIRST_FAILURE: the failing zone, -1 none */
    uint64_t time_ns; /* since start (monotonic), when the walk began */
    uint64_t live_bytes, live_blocks; /* the heap (all zones) at the walk, exact counters */
    uint64_t va_used_bytes;           /* heap address space at the walk */
    uint64_t failures;                /* failures before and including this one */
    uint64_t has_event;               /* 1: event is the failure this moment is about */
    zt_rec_event_t event;
    uint64_t ncells, nregions, ncharges, nruns;
} zt_rec_moment_t; /* 184 bytes */

/* Live blocks of one (stack, zone, size class) at a moment (stack 0 =
 * untagged blocks: stacks off, or not sampled). Sample mode: weighted. */
typedef struct zt_rec_cell {
    uint32_t stack_id;
    uint16_t zone;
    uint16_t cls;
    uint64_t live_blocks; /* sample mode: Q16 fixed point */
    uint64_t live_bytes;
} zt_rec_cell_t; /* 24 bytes */

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
    int32_t stacks_mode; /* enum zt_rec_stacks_mode */
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

    /* event ring: slot i in chunk k of events_chunks_off (ZT_REC_EVENT_CHUNK0
     * << k slots each; 0 = not yet needed) */
    uint64_t events_chunks_off[ZT_REC_EVENT_CHUNKS];
    uint64_t events_cap;  /* slots: the sum of every chunk's */
    uint64_t events_head; /* events ever written */

    /* footprint timeline, chunked like the events */
    uint64_t timeline_chunks_off[ZT_REC_TIMELINE_CHUNKS];
    uint64_t timeline_cap;   /* samples */
    uint64_t timeline_count; /* valid samples, oldest first */
    uint64_t timeline_period_ns;

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

    /* where it was written (version 3) */
    uint32_t platform;     /* enum zt_rec_platform */
    uint32_t image_format; /* enum zt_rec_image_format */
    char arch[16];         /* the process's CPU as its platform names it (NUL-terminated):
                            * "x86_64", "aarch64" (Linux), "arm64", "arm64e" (Apple) */

    /* moments (ZT_REC_SEC_MOMENT offsets by enum zt_rec_moment_kind, 0 = none) */
    uint64_t moments_off[ZT_REC_MOMENTS];
    zt_rec_counters_t heap; /* over all zones, exact: the live heap and its peaks */
    uint64_t failures;      /* NULL returns + region map failures */
    uint64_t null_returns;
    uint64_t map_failures;
    uint64_t reserved[3];

    /* zone blocks (zt_rec_zone_t), zones_off[z] for z < nzones (0 = the
     * zone's block could not be made: no counters for it) */
    uint64_t zones_off[ZT_REC_MAX_ZONES];
} zt_rec_header_t;

/* Chunk of a dense index (0-based) in a directory whose chunk k holds
 * chunk0 << k entries, and the index's position inside it. */
static inline unsigned zt_rec_chunk_in(uint64_t index, uint64_t chunk0, uint64_t *within)
{
    uint64_t q = index / chunk0 + 1; /* chunk k covers q in [2^k, 2^(k+1)) */
    unsigned k = 63u - (unsigned)__builtin_clzll(q);
    *within = index - chunk0 * ((1ull << k) - 1);
    return k;
}

/* The stack table's (and the per-zone stack counters') chunks. */
static inline unsigned zt_rec_chunk_of(uint64_t index, uint64_t *within)
{
    return zt_rec_chunk_in(index, ZT_REC_CHUNK0, within);
}

static inline uint64_t zt_rec_chunk_cap(unsigned k)
{
    return (uint64_t)ZT_REC_CHUNK0 << k;
}

/* Entries in chunks 0..n-1 of a directory with first chunk chunk0. */
static inline uint64_t zt_rec_chunks_cap(uint64_t chunk0, unsigned n)
{
    return chunk0 * ((1ull << n) - 1);
}

/* One layout everywhere: every uint64_t sits at a multiple of 8 by
 * construction, so x86_64 and arm64 (Linux and Apple; i386 too, checked with
 * zig cc) agree on every offset. An ABI or an edit that moved a field fails
 * here instead of writing records other platforms misread. */
_Static_assert(sizeof(zt_rec_counters_t) == 64, "record layout");
_Static_assert(sizeof(zt_rec_stack_t) == 96, "record layout");
_Static_assert(sizeof(zt_rec_zone_t) == 480, "record layout");
_Static_assert(sizeof(zt_rec_term_t) == 40, "record layout");
_Static_assert(sizeof(zt_rec_section_t) == 32, "record layout");
_Static_assert(sizeof(zt_rec_module_t) == 56, "record layout");
_Static_assert(sizeof(zt_rec_region_t) == 40, "record layout");
_Static_assert(sizeof(zt_rec_charge_t) == 16, "record layout");
_Static_assert(sizeof(zt_rec_va_run_t) == 24, "record layout");
_Static_assert(sizeof(zt_rec_event_t) == 96, "record layout");
_Static_assert(sizeof(zt_rec_moment_t) == 184, "record layout");
_Static_assert(sizeof(zt_rec_cell_t) == 24, "record layout");
_Static_assert(sizeof(zt_rec_sample_t) == 40, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, used_bytes) == 32, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, exe) == 88, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, term) == 752, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, nstacks) == 792, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, events_chunks_off) == 1056, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, platform) == 1288, "record layout");
_Static_assert(__builtin_offsetof(zt_rec_header_t, zones_off) == 1456, "record layout");
_Static_assert(sizeof(zt_rec_header_t) == 1456 + ZT_REC_MAX_ZONES * 8, "record layout");
/* Every directory covers what it indexes. */
_Static_assert((uint64_t)ZT_REC_CHUNK0 *((1ull << ZT_REC_MAX_CHUNKS) - 1) >= 0xffffffffull, "ids");
_Static_assert(ZT_REC_CLASS_CHUNKS *ZT_REC_CLASS_CHUNK >= ZT_REC_CLASSES, "classes");

#endif /* ZT_RECORD_FORMAT_H */
