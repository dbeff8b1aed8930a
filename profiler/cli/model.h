/* ----------------------------------------------------------------------------
 * model.h — a record file, read and validated, as plain C data for the
 * reports. The reader (reader.c) is the only code that knows the on-disk
 * layout (record_format.h); the reports (report_*.c) only see this model.
 * The CLI is an ordinary program: it may use malloc.
 * -------------------------------------------------------------------------- */
#ifndef ZT_MODEL_H
#define ZT_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum zt_term_state {
    ZT_TERM_RUNNING = 0,
    ZT_TERM_EXITED = 1,
    ZT_TERM_SIGNALED = 2,
    ZT_TERM_EXECED = 3
};

/* Where a record was written; the values are record_format.h's
 * (enum zt_rec_platform, zt_rec_image_format), which the reports do not see. */
enum zt_m_platform {
    ZT_M_LINUX = 1,
    ZT_M_MACOS = 2,
    ZT_M_IOS = 3,
    ZT_M_IOS_SIMULATOR = 4,
    ZT_M_DARWIN_OTHER = 5 /* tvOS, watchOS, visionOS, Mac Catalyst */
};
enum zt_m_image_format { ZT_M_ELF = 1, ZT_M_MACHO = 2 };

typedef struct zt_m_termination {
    int state;          /* enum zt_term_state as recorded */
    bool killed;        /* state RUNNING but the process is gone: SIGKILL (OOM killer/jetsam);
                         * gone = no such pid, a zombie, a pid reused since the last
                         * heartbeat (Linux /proc, best effort) or a stale heartbeat */
    bool still_running; /* state RUNNING and the pid is alive */
    bool ask_alive;     /* recorded running, no runner status: the file cannot say whether
                         * it still runs; zt_model_liveness (alive.c) sets the two above */
    int exit_code;      /* EXITED */
    int signal;         /* SIGNALED */
    int si_code;
    uint64_t fault_addr;     /* SIGSEGV/SIGBUS */
    uint32_t fault_stack_id; /* stack of the faulting thread (0 = unknown) */
    uint64_t end_wall_ns;
    uint64_t last_heartbeat_ns; /* wall time of the last monitor tick */
    bool jetsam;                /* SIGNALED by SIGKILL: zonetrace's jetsam, per-process-limit */
    int how;                    /* enum zt_rec_end_how, as the runtime recorded it */
    /* `zonetrace run`'s wait status (header runner_*); when present it sets
     * state/exit_code/signal above (EXECED stays: it is the new image's) */
    bool runner;
    int runner_state; /* ZT_TERM_EXITED/SIGNALED */
    int runner_code;  /* exit status or signal */
    bool runner_only; /* the runtime recorded no ending: only the runner saw it */
} zt_m_termination_t;

typedef struct zt_m_module {
    char *path;
    uint64_t base, bytes; /* load address and extent of the mapping (Mach-O: base = the
                           * mach_header, the image's load address) */
    uint64_t bias;        /* ELF: load bias (base - first PT_LOAD vaddr); Mach-O: the slide */
    uint8_t build_id[20]; /* ELF: GNU build id; Mach-O: LC_UUID (16 bytes) */
    unsigned build_id_len;
    bool macho; /* a Mach-O image (the record's image_format) */
} zt_m_module_t;

typedef struct zt_m_counters {
    uint64_t live_blocks, live_bytes, total_blocks, total_bytes, peak_bytes, va_bytes;
    uint64_t peak_blocks;     /* exact high water of live blocks */
    uint64_t temp_blocks;     /* temporary allocations (heaptrack's definition) */
    uint64_t requested_bytes; /* request sizes where known (0 = none known) */
} zt_m_counters_t;

typedef struct zt_m_stack {
    uint32_t id;
    unsigned nframes;
    uint64_t *pcs;             /* innermost first (return addresses as captured) */
    zt_m_counters_t total;     /* over all zones */
    zt_m_counters_t *per_zone; /* [nzones] */
    /* live bytes and address space at the end and at the first failure,
     * whatever moment total.live_* shows (for --sort) */
    uint64_t end_live_bytes, ff_live_bytes, ff_va_bytes;
    /* the one request size of all its allocations (0 = none known,
     * UINT64_MAX = sizes varied or some unknown) */
    uint64_t request_bytes;
} zt_m_stack_t;

typedef struct zt_m_class {
    unsigned cls; /* global class index (zone/sizeclass.h) */
    zt_m_counters_t c;
} zt_m_class_t;

typedef struct zt_m_zone {
    char *name;
    uint64_t address;  /* the malloc_zone_t in the process */
    zt_m_counters_t c; /* va_bytes = regions + large blocks of the zone */
    unsigned nclasses; /* classes with any allocation */
    zt_m_class_t *classes;
} zt_m_zone_t;

typedef struct zt_m_region {
    uint64_t base, bytes;
    int kind;            /* enum zt_kind */
    int zone;            /* index into zones, -1 unknown */
    uint64_t used_bytes; /* live bytes in it */
    uint32_t top_stack;  /* stack charged most of it (0 = none) */
} zt_m_region_t;

typedef struct zt_m_event {
    uint64_t time_ns; /* since process start */
    uint32_t type;    /* enum zt_event_type (zone/hooks.h) */
    uint32_t cls;
    int32_t kind;
    uint32_t stack_id;
    int zone; /* index into zones, -1 none */
    uint64_t size, align, va_used, va_limit, largest_free, largest_aligned, value;
} zt_m_event_t;

typedef struct zt_m_sample {
    uint64_t time_ns; /* since process start */
    uint64_t rss_bytes, anon_bytes, va_used_bytes, live_bytes;
} zt_m_sample_t;

typedef struct zt_m_va_run {
    uint64_t base, bytes;
    int kind; /* enum zt_kind, -1 free */
    int window;
} zt_m_va_run_t;

typedef struct zt_m_cell {
    uint32_t stack_id; /* 0 = untagged */
    unsigned zone, cls;
    uint64_t live_blocks, live_bytes;
} zt_m_cell_t;

typedef struct zt_m_charge {
    uint32_t stack_id;
    unsigned zone;
    uint64_t va_bytes;
} zt_m_charge_t;

/* A frozen accounting (record_format.h zt_rec_moment_t). */
typedef struct zt_m_moment {
    bool present;
    unsigned kind; /* enum zt_rec_moment_kind */
    int zone;      /* failing zone, -1 none */
    uint64_t time_ns, live_bytes, live_blocks, va_used_bytes, failures;
    bool has_event;
    zt_m_event_t event; /* the failure */
    zt_m_cell_t *cells;
    unsigned ncells;
    zt_m_region_t *regions;
    unsigned nregions;
    zt_m_charge_t *charges;
    unsigned ncharges;
    zt_m_va_run_t *va_runs;
    unsigned nva_runs;
} zt_m_moment_t;

/* What the model's live figures describe (zt_model_at). */
enum zt_m_at { ZT_AT_END = 0, ZT_AT_FIRST_FAILURE = 1, ZT_AT_PEAK = 2, ZT_AT_PEAK_VA = 3 };

typedef struct zt_model {
    /* header */
    unsigned version;
    /* Where it was written (header platform, image_format, arch). Signal
     * numbers in `term` are the reading host's (translated by name from the
     * record's platform). */
    int platform;     /* enum zt_m_platform */
    int image_format; /* enum zt_m_image_format */
    char *arch;
    bool foreign; /* written on another OS family: its pid is not looked up here */
    int pid, ppid;
    unsigned monitor_ms; /* the monitor's period (0 = none: no heartbeat) */
    char *exe;
    char **argv;
    unsigned argc;
    char *device;    /* profile name */
    char *options;   /* "ZONETRACE_X=v\n..." as recorded */
    int stacks_mode; /* ZT_STACKS_* */
    uint64_t sample_bytes;
    char *unwind;
    unsigned depth;
    uint64_t page_bytes;
    uint64_t start_wall_ns, duration_ns;
    uint64_t ram_bytes; /* device RAM (0 = unknown) */
    uint64_t va_limit_bytes, va_used_bytes, va_peak_bytes;
    uint64_t largest_free_bytes, largest_aligned_1m_bytes, largest_aligned_8m_bytes;
    uint64_t cgroup_limit_bytes; /* 0 = none */
    /* jetsam (record_format.h): limit and warning level (0 = none), the
     * footprint that passed the limit (0 = no jetsam kill), the highest
     * footprint read, mode (0 off, 1 warn, 2 kill), explicit = --memory-limit */
    uint64_t jetsam_limit_bytes, jetsam_warning_bytes, jetsam_footprint_bytes;
    uint64_t peak_footprint_bytes;
    unsigned jetsam_mode;
    bool jetsam_explicit;
    uint64_t peak_rss_bytes;
    zt_m_termination_t term;

    zt_m_module_t *modules;
    unsigned nmodules;
    zt_m_stack_t *stacks;
    unsigned nstacks; /* index = id - 1 */
    zt_m_zone_t *zones;
    unsigned nzones;
    zt_m_region_t *regions;
    unsigned nregions;
    zt_m_va_run_t *va_runs;
    unsigned nva_runs; /* windows layout (limited profiles) */
    zt_m_event_t *events;
    unsigned nevents; /* oldest first */
    uint64_t events_lost;
    zt_m_sample_t *timeline;
    unsigned ntimeline; /* oldest first */

    /* exact counters over the whole heap, failures, moments (v3) */
    zt_m_counters_t heap;
    uint64_t failures, null_returns, map_failures;
    zt_m_moment_t moments[4];      /* by enum zt_rec_moment_kind (END = 3) */
    zt_m_moment_t *zone_failures;  /* [nzones]: each zone's first failure */
    uint64_t *zone_failure_counts; /* [nzones] */
    int at;                        /* enum zt_m_at: what live_* and va_* show */
    uint64_t at_time_ns;           /* the moment's time (0 for the end) */
} zt_model_t;

/* Read and validate a record file: a function of the file's bytes alone
 * (whether a process recorded running still runs is alive.c's question).
 * On error returns false with a one-line message in err (e.g. "trace.zt:
 * truncated: stack table ends at byte 9120 but the file has 4096 bytes");
 * nothing is leaked. */
bool zt_model_read(const char *path, zt_model_t *m, char *err, size_t errcap);

/* zt_model_read, then zt_model_liveness: what the commands call. */
bool zt_model_load(const char *path, zt_model_t *m, char *err, size_t errcap);

/* For a record that says running with no runner status (term.ask_alive):
 * killed or still running, from the host (alive.c: /proc, the heartbeat). */
void zt_model_liveness(zt_model_t *m);

/* Same from memory (the fuzz target). */
bool zt_model_read_buffer(const void *buf, size_t len, const char *name, zt_model_t *m, char *err,
                          size_t errcap);

void zt_model_free(zt_model_t *m);

/* Make the model's live figures (stacks, per zone, zones, classes, regions,
 * charges, address-space map, va used) those of a moment: totals and peaks
 * stay the whole run's. False (with a message) when the record has no such
 * moment. ZT_AT_END leaves the model as read. */
bool zt_model_at(zt_model_t *m, int at, char *err, size_t errcap);
/* "end", "first-failure", "peak", "peak-va". */
const char *zt_model_at_name(int at);

#endif /* ZT_MODEL_H */
