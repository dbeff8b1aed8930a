/* ----------------------------------------------------------------------------
 * report.h — what the four report formats share: options, the symbolized
 * view of a stack, the wording of how a process ended and of the diagnosis,
 * byte formatting. Every report reads only the model (model.h).
 * -------------------------------------------------------------------------- */
#ifndef ZT_REPORT_H
#define ZT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "charge.h"
#include "estimate.h"
#include "model.h"
#include "record_format.h" /* the shared codes: event types, kinds, stack modes */
#include "sizeclass.h"
#include "symbolize.h"

enum zt_report_by { ZT_BY_STACK, ZT_BY_ZONE, ZT_BY_CLASS, ZT_BY_REGION };
enum zt_report_format { ZT_FMT_TEXT, ZT_FMT_JSON, ZT_FMT_FOLDED, ZT_FMT_HTML };

struct zt_report;
struct zt_tree;

/* --sort: what ranks the stacks (and is the folded output's cost). */
enum zt_report_sort {
    ZT_SORT_AUTO = 0,      /* address space on a limited profile, else live */
    ZT_SORT_LIVE,          /* live bytes at the moment shown (--at) */
    ZT_SORT_LEAKS,         /* live bytes at the end */
    ZT_SORT_PEAK,          /* the stack's own exact peak of live bytes */
    ZT_SORT_FIRST_FAILURE, /* live bytes at the first failure */
    ZT_SORT_ALLOCATED,     /* bytes allocated over the run */
    ZT_SORT_COUNT,         /* allocations over the run */
    ZT_SORT_TEMPORARY,     /* temporary allocations (heaptrack's definition) */
    ZT_SORT_VA,            /* address space charged at the moment shown */
    ZT_SORT_COUNT_OF
};

typedef struct zt_report_opts {
    unsigned top;     /* stacks / rows shown (text, html) */
    int by;           /* enum zt_report_by (text) */
    int format;       /* enum zt_report_format */
    const char *path; /* the record file, for headers */
    int sort;         /* enum zt_report_sort */
    int at;           /* enum zt_m_at + 1; 0 = auto (the first failure if any, else the end) */
    /* Several processes (report_tree.c): the text, JSON and HTML reports
     * call tree_out(out, r, format) to add the process tree, and folded
     * lines start with folded_prefix ("python3;pid 123;"). NULL: one record. */
    const struct zt_tree *tree;
    void (*tree_out)(FILE *out, const struct zt_report *r, int format);
    const char *folded_prefix;
    unsigned depth; /* --depth: user frames per stack shown; 0 = each format's default */
    bool top_given; /* --top was given: JSON and folded keep every stack otherwise */
} zt_report_opts_t;

typedef struct zt_report {
    const zt_model_t *m;
    zt_symbolizer_t *sym;
    zt_report_opts_t opt;
} zt_report_t;

/* A stack as source-level frames, innermost first. Frames [first, end) are
 * the interesting ones: allocator and libc wrappers at the top and the libc
 * start-up frames at the bottom are left out. */
typedef struct zt_rframes {
    zt_sym_frame_t *v;
    unsigned n, first, end;
} zt_rframes_t;

/* Symbolize stack `id` (1-based; 0 or unknown gives n = 0). `fault` treats
 * the innermost pc as the faulting instruction rather than a return
 * address. Free with zt_rframes_free. */
zt_rframes_t zt_report_frames(zt_report_t *r, uint32_t id, bool fault);
void zt_rframes_free(zt_rframes_t *f);

/* The stack with id `id`, or NULL. */
const zt_m_stack_t *zt_report_stack(const zt_model_t *m, uint32_t id);

/* Stack indices (into m->stacks) sorted by live_bytes (by_va: va_bytes),
 * descending, ties by id; only stacks with a non-zero key. Caller frees. */
unsigned *zt_report_sorted_stacks(const zt_model_t *m, bool by_va, unsigned *count);

/* The sort actually used (AUTO resolved), its name ("live", "leaks",
 * "peak", "first-failure", "allocated", "count", "temporary",
 * "address-space"), what it ranks in words, whether it counts bytes, and a
 * stack's key under it. */
int zt_report_sort_of(const zt_report_t *r);
const char *zt_report_sort_name(int sort);
const char *zt_report_sort_words(int sort);
bool zt_report_sort_is_bytes(int sort);
uint64_t zt_report_sort_key(const zt_m_stack_t *s, int sort);
/* Live requested bytes of a stack at the moment shown: exact (live blocks
 * × its one request size, *exact = true) when all its requests had one
 * known size, else estimated from its bytes requested / allocated over the
 * run (*exact = false); 0 with *known = false when no request was known. */
uint64_t zt_report_requested_live(const zt_m_stack_t *s, bool *exact, bool *known);

/* Stack indices sorted by that key, descending, ties by id; only non-zero
 * keys. Caller frees. */
unsigned *zt_report_sorted_stacks_by(const zt_model_t *m, int sort, unsigned *count);
/* "at the first failure (0.780 s)", "at the peak of live heap (1.2 s)",
 * "at the end". */
void zt_report_at_words(const zt_model_t *m, char *buf, size_t cap);

/* "12 B", "1.5 KiB", "3.0 MiB", "2.88 GiB". */
const char *zt_fmt_bytes(uint64_t bytes, char buf[32]);
/* Seconds with 3 decimals from ns. */
const char *zt_fmt_secs(uint64_t ns, char buf[32]);

/* "SIGSEGV" or "signal 77". */
const char *zt_signal_name(int sig);

/* "linux", "macos", "ios", "ios-simulator", "darwin" (enum zt_rec_platform). */
const char *zt_platform_name(int platform);

/* A module's identity as its tools write it: a Mach-O UUID as
 * "8-4-4-4-12" upper-case hex (dwarfdump --uuid, dSYM lookup), an ELF
 * build id as lower-case hex (debuginfod); "" when it has none. */
const char *zt_module_id(const zt_m_module_t *mm, char buf[48]);
/* "exited", "signaled", "killed", "running". */
const char *zt_term_state_name(const zt_model_t *m);
/* How the runtime said it ended: exit, _exit, signal, exec, jetsam, unknown. */
const char *zt_term_how_name(const zt_model_t *m);
/* One line on how the process ended, e.g. "killed by SIGSEGV (fault address
 * 0x8)" or "killed without running handlers (SIGKILL: OOM killer or
 * jetsam)". */
void zt_report_ending(const zt_model_t *m, char *buf, size_t cap);
/* The command line on one line: argv from `first` on, joined by spaces, a
 * control character written as \n, \t or \xNN (python -c scripts carry
 * newlines, which broke the report header and the process-tree table); the
 * executable when the record has no argv. Returns the length written. */
size_t zt_report_command(const zt_model_t *m, unsigned first, char *buf, size_t cap);
/* Sample mode only (else false and ""): "mean 512 KiB between samples;
 * block and byte counts are unbiased estimates". The diagnosis then marks
 * its byte counts with "~". */
bool zt_report_sampling_note(const zt_model_t *m, char *buf, size_t cap);
/* A stack's live bytes as an estimate with its 95 % interval (estimate.c);
 * not sampled: the exact figure, an interval of one point. */
zt_estimate_t zt_report_live_estimate(const zt_model_t *m, const zt_m_stack_t *s);
/* Sampled records with live bytes only (else ""): "95 % interval 13.0 KiB
 * to 2.85 MiB (1 sample), below the sampling resolution". */
void zt_report_interval_words(const zt_model_t *m, const zt_m_stack_t *s, char *buf, size_t cap);
/* A BAD_FREE event in words: the headline ("double free of a 64 B block
 * allocated at <frame> (first freed at <frame>)") and where the bad call
 * was made. */
void zt_report_bad_free(zt_report_t *r, const zt_m_event_t *e, char *head, size_t hcap,
                        char *detail, size_t dcap);

/* One-line diagnosis: "headline: detail". */
void zt_report_diagnosis(zt_report_t *r, char *buf, size_t cap);
/* The same in two parts: a short headline ("address space exhausted (or
 * fragmented), not physical memory") and the numbers behind it (may be ""). */
void zt_report_diagnosis_parts(zt_report_t *r, char *head, size_t hcap, char *detail, size_t dcap);
/* The allocation failure that explains the end: the last NULL returned and
 * the region map failure behind it (NULL when none was recorded). False
 * when nothing returned NULL. */
/* xzone: the pointer-heap high-water sentence (report_xzone.c). */
bool zt_report_xzone_sentence(const zt_model_t *m, char *out, size_t cap);

bool zt_report_cause(const zt_model_t *m, const zt_m_event_t **null_ev,
                     const zt_m_event_t **map_ev);
/* True when the first failure (its moment) is the headline and the
 * default --at: a failure was recorded and no signal ended the process. */
bool zt_report_first_failure_leads(const zt_model_t *m);
/* That failure in words ("" when none): "NULL for 24 B (tiny-32) from zone
 * QuartzCore at f (x.c:1): a new tiny region needs a 1 MiB-aligned 1 MiB
 * hole and none is left (...)". */
void zt_report_cause_text(zt_report_t *r, char *buf, size_t cap);
/* When the first failure leads and more followed: "3 more failures after
 * the first (2 NULL returned, 2 region maps failed in all); the last: ..."
 * ("" otherwise). */
void zt_report_later_text(zt_report_t *r, char *buf, size_t cap);
/* "NULL returned", "region map failed", ... */
const char *zt_event_name(uint32_t type);
/* One line describing an event (no time). */
void zt_report_event(zt_report_t *r, const zt_m_event_t *e, char *buf, size_t cap);
/* Zone name of an index, "-" for -1. */
const char *zt_report_zone_name(const zt_model_t *m, int zone);
/* Peak RSS: the recorded peak or the highest timeline sample. */
uint64_t zt_report_peak_rss(const zt_model_t *m);
/* Kind name including -1 → "free". */
const char *zt_report_kind_name(int kind);
/* Space charged per kind to regions (index ZT_KIND_*), and live bytes. */
void zt_report_kind_totals(const zt_model_t *m, uint64_t reserved[ZT_KIND_COUNT],
                           uint64_t used[ZT_KIND_COUNT], unsigned count[ZT_KIND_COUNT]);

void zt_report_text(FILE *out, zt_report_t *r);
void zt_report_json(FILE *out, zt_report_t *r);
void zt_report_folded(FILE *out, zt_report_t *r);
void zt_report_html(FILE *out, zt_report_t *r);

/* s with HTML's special characters escaped (NULL writes nothing). */
void zt_html_text(FILE *out, const char *s);

/* JSON string literal (with quotes) of s; "null" for NULL. */
void zt_json_string(FILE *out, const char *s);

/* ---- report_tree.c: the records of a run's processes, read together ---- */

/* One record's summary line (no model kept). */
typedef struct zt_tree_proc {
    char *path;
    char *err; /* why it cannot be read (one line, names the file); NULL = read */
    int pid, ppid;
    char *exe, *command, *name; /* name: argv[0]'s (else the executable's) last part */
    char ending[200];           /* zt_report_ending */
    char first_failure[160];    /* "NULL returned for 1.0 GiB (large) at 0.002 s", "" none */
    uint64_t peak_live_bytes, peak_va_bytes, start_wall_ns;
    bool trouble;             /* an allocation failed, or a signal or a kill ended it */
    uint64_t trouble_wall_ns; /* when (first failure, else the end) */
    int parent;               /* index of the parent's record, -1 none among them */
    unsigned depth;           /* in the tree (0 = a root) */
} zt_tree_proc_t;

typedef struct zt_tree {
    zt_tree_proc_t *v; /* after zt_tree_arrange: tree order (a parent before its children,
                        * siblings by pid then start), unreadable records last */
    unsigned n, cap;
    unsigned older;         /* zt_tree_collect: records of an earlier run left out */
    int chosen;             /* the process reported in full; -1 none readable */
    const char *chosen_why; /* why it (NULL: --pid) */
} zt_tree_t;

/* The records next to `record` that the other processes of its run wrote
 * (FILE.<pid>.zt, FILE.exec.zt, FILE.<pid>.zt.exec.zt, …), sorted by
 * path; `record` itself is not among them. Free with zt_tree_free_paths. */
char **zt_tree_find(const char *record, unsigned *count);
void zt_tree_free_paths(char **paths, unsigned count);
/* Read one record's summary into t (an unreadable one too, with err). */
void zt_tree_add(zt_tree_t *t, const char *path);
/* Parent links, tree order, and the process to report in full: `pid`'s
 * last image when pid > 0, else the first to fail or be killed, else the
 * first root. */
void zt_tree_arrange(zt_tree_t *t, int pid);
/* `record` (always t->v's first before arranging) and its run's other
 * records (zt_tree_find, less those that started before it), arranged. */
void zt_tree_collect(zt_tree_t *t, const char *record, int pid);
void zt_tree_free(zt_tree_t *t);
/* The report of one record file (zt_cli_report_file in cmd_report.c): 0 or
 * the exit status after one error line. */
typedef int zt_report_one_fn(const char *path, const zt_report_opts_t *opt, const char *out_path);
/* `zonetrace report FILE...`: one record alone is reported by `one`, as
 * always; the parent's record (with its run's others next to it) or several
 * records give the process tree, then `one` reports a process in full with
 * the tree added (pid > 0: that process). A damaged record is an error
 * line; the others are still reported and the status is ZT_CLI_EXIT_USAGE.
 * `one` is handed in so that calls still run one way (cli.h). */
int zt_cli_report_records(char **files, unsigned nfiles, const zt_report_opts_t *opt,
                          const char *out_path, int pid, zt_report_one_fn *one);
/* ---- views: --top, --depth, --by and --sort in every format (report_view.c) ---- */

/* Stacks (rows) a format shows: --top N when given, else `dflt` (0 = all). */
unsigned zt_report_top(const zt_report_t *r, unsigned dflt);
/* End of the user frames shown for f under --depth (f->end without it). */
unsigned zt_report_depth_end(const zt_report_t *r, const zt_rframes_t *f);
/* A zone's or class's counter under a sort (live/leaks/first-failure: live
 * bytes at the moment shown; peak; allocated; count; temporary;
 * address-space: va bytes). */
uint64_t zt_report_counter_key(const zt_m_counters_t *c, int sort);
/* The sort that ranks zone, class and region rows: --sort when given, else
 * live bytes (the text tables' ranking before --sort applied to them). */
int zt_report_row_sort(const zt_report_t *r);

/* One row of --by zone (cls = -1), --by class, or --by region (region >= 0). */
typedef struct zt_report_row {
    int zone;
    int cls;                  /* index into the zone's classes[], -1 for a zone row */
    int region;               /* index into m->regions, -1 otherwise */
    const zt_m_counters_t *c; /* NULL for a region row */
    uint64_t key;
    uint64_t base; /* region rows: the address, which breaks ties */
} zt_report_row_t;
/* Every row of the --by dimension (zone, class or region) ranked by its
 * key, descending, ties in model order; *count rows. Caller frees. For
 * regions the key is the region's size. */
zt_report_row_t *zt_report_rows(const zt_report_t *r, int by, unsigned *count);
/* "zone", "class", "region", "stack". */
const char *zt_report_by_name(int by);

/* The JSON document with its stacks bounded: --top when given, else
 * `top_default` (0 = every stack, in model order), ranked by the sort, plus
 * the `extra` stack ids after them (the HTML map's region owners). */
void zt_report_json_doc(FILE *out, zt_report_t *r, unsigned top_default, const uint32_t *extra,
                        unsigned nextra);

/* ---- C++ names shortened as heaptrack does (shorten.c) ---- */

/* name with template arguments collapsed to "<>" into out (always
 * terminated, cut at cap); returns the length written. */
size_t zt_shorten_name(const char *name, char *out, size_t cap);
/* zt_sym_short / zt_sym_describe with the function name shortened. */
const char *zt_report_frame_short(const zt_sym_frame_t *f, char *buf, size_t cap);
const char *zt_report_frame_describe(const zt_sym_frame_t *f, char *buf, size_t cap);

#endif /* ZT_REPORT_H */
