/* ----------------------------------------------------------------------------
 * jetsam.h — Apple's JetsamEvent reports (.ips, bug_type 298) read into
 * plain C (reference/modern_apple.md §5), for `zonetrace jetsam`
 * (cmd_jetsam.c). Only what the command uses is kept; every kept number is
 * checked for sense, and the first problem is one line naming the file and
 * where (byte offset or field path).
 * -------------------------------------------------------------------------- */
#ifndef ZT_JETSAM_H
#define ZT_JETSAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* memoryStatus.memoryPages fields shown in the report, in this order. */
#define ZT_JETSAM_MEM_FIELDS 9
extern const char *const zt_jetsam_mem_field[ZT_JETSAM_MEM_FIELDS];

typedef struct zt_jetsam_proc {
    char *name;
    int64_t pid;     /* -1 when the report has none */
    uint64_t rpages; /* resident footprint in pages (phys_footprint / page size) */
    uint64_t footprint_bytes;
    int64_t lifetime_max_pages; /* -1 when absent */
    char *reason;               /* memorystatus kill cause; NULL: not killed */
    char *states;               /* "frontmost,resume"; "" when absent */
} zt_jetsam_proc_t;

typedef struct zt_jetsam_report {
    char *os_version;  /* "iPhone OS 14.1" (build removed); NULL when absent */
    char *build;       /* "18A8395"; NULL when absent */
    char *product;     /* "iPhone12,1" */
    char *date;        /* body date, else header timestamp; NULL when neither */
    char *kernel;      /* NULL when absent */
    char *largest;     /* largestProcess; NULL when absent */
    unsigned os_major; /* 14 for "iPhone OS 14.1"; 0 when unknown */
    uint64_t page_bytes;
    int64_t mem_pages[ZT_JETSAM_MEM_FIELDS]; /* -1 when absent */
    zt_jetsam_proc_t *procs;
    size_t nprocs;
} zt_jetsam_report_t;

typedef enum zt_jetsam_status {
    ZT_JETSAM_OK,
    ZT_JETSAM_DAMAGED, /* not readable as a JetsamEvent report: see err */
    ZT_JETSAM_FOREIGN, /* a well-formed .ips header of another bug_type: see err */
} zt_jetsam_status_t;

/* Largest file read (a real report is 50–500 KiB). */
#define ZT_JETSAM_MAX_FILE_BYTES (16u << 20)

/* Read the report in buf[0..len); name is used in messages ("NAME: ...").
 * On ZT_JETSAM_OK *r is filled (free with zt_jetsam_free); otherwise *r is
 * empty and err holds one line. */
zt_jetsam_status_t zt_jetsam_read_buffer(const char *buf, size_t len, const char *name,
                                         zt_jetsam_report_t *r, char *err, size_t errcap);

/* Read the file at path (at most ZT_JETSAM_MAX_FILE_BYTES). */
zt_jetsam_status_t zt_jetsam_read(const char *path, zt_jetsam_report_t *r, char *err,
                                  size_t errcap);

void zt_jetsam_free(zt_jetsam_report_t *r);

#endif /* ZT_JETSAM_H */
