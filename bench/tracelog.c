/* ----------------------------------------------------------------------------
 * tracelog.c — libtracelog.so, an LD_PRELOAD recorder of the malloc family
 * for bench/replay. TRACELOG_OUT=FILE names the log; without it every call
 * passes straight through.
 *
 * The log is FILE mapped MAP_SHARED (sparse, up to 4 GiB) and filled with
 * 24-byte records reserved by one atomic add, so recording never allocates,
 * never locks and costs a few ns a call; the destructor truncates the file to
 * what was written. The real functions come from dlsym(RTLD_NEXT); dlsym
 * itself may calloc, so calls made while resolving are served from a static
 * bootstrap buffer (and never freed). Only the process that opened the log
 * writes to it: a forked or exec'd child passes through.
 *
 * File: "ZTTRACE1", u64 records, then records {u64 op<<56 | size, u64 a,
 * u64 b}: malloc/calloc (b = result), realloc (a = old, b = result), free
 * (a), memalign & co. (a = alignment, b = result).
 * -------------------------------------------------------------------------- */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"

#define CAP_BYTES (4ULL << 30)

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

static char boot[1 << 16] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

static trace_header_t *log_hdr; /* NULL: not logging */
static trace_rec_t *log_rec;
static uint64_t log_cap;
static int log_fd = -1;
static pid_t log_pid;
static int log_closed;

static void *boot_alloc(size_t n)
{
    size_t at = __atomic_fetch_add(&boot_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
    if (at + n > sizeof boot) return NULL;
    return boot + at;
}

static int is_boot(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void resolve(void)
{
    if (real_malloc || resolving) return;
    resolving = 1;
    /* POSIX's sanctioned way to take a function from dlsym: copy the
     * pointer's bytes (a cast is not ISO C, -Wpedantic). */
    void *sym;
    sym = dlsym(RTLD_NEXT, "calloc");
    memcpy(&real_calloc, &sym, sizeof sym);
    sym = dlsym(RTLD_NEXT, "free");
    memcpy(&real_free, &sym, sizeof sym);
    sym = dlsym(RTLD_NEXT, "realloc");
    memcpy(&real_realloc, &sym, sizeof sym);
    sym = dlsym(RTLD_NEXT, "posix_memalign");
    memcpy(&real_posix_memalign, &sym, sizeof sym);
    sym = dlsym(RTLD_NEXT, "malloc");
    memcpy(&real_malloc, &sym, sizeof sym);
    resolving = 0;
}

static void open_log(void)
{
    const char *path = getenv("TRACELOG_OUT");
    if (!path || !*path) return;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, (off_t)CAP_BYTES) != 0) {
        close(fd);
        return;
    }
    void *m = mmap(NULL, CAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return;
    }
    memcpy(((trace_header_t *)m)->magic, TRACE_MAGIC, 8);
    log_fd = fd;
    log_pid = getpid();
    log_cap = (CAP_BYTES - sizeof(trace_header_t)) / sizeof(trace_rec_t);
    log_rec = (trace_rec_t *)((char *)m + sizeof(trace_header_t));
    __atomic_store_n(&log_hdr, (trace_header_t *)m, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void tracelog_init(void)
{
    resolve();
    open_log();
}

__attribute__((destructor)) static void tracelog_fini(void)
{
    trace_header_t *h = log_hdr;
    if (!h || getpid() != log_pid) return;
    log_closed = 1;
    uint64_t n = __atomic_load_n(&h->records, __ATOMIC_ACQUIRE);
    if (n > log_cap) n = log_cap;
    h->records = n;
    msync(h, sizeof *h, MS_SYNC);
    if (ftruncate(log_fd, (off_t)(sizeof *h + n * sizeof(trace_rec_t))) != 0) return;
}

static inline void rec(unsigned op, uint64_t size, const void *a, const void *b)
{
    trace_header_t *h = __atomic_load_n(&log_hdr, __ATOMIC_ACQUIRE);
    if (!h || log_closed) return;
    uint64_t i = __atomic_fetch_add(&h->records, 1, __ATOMIC_RELAXED);
    if (i >= log_cap || getpid() != log_pid) return;
    log_rec[i] =
        (trace_rec_t){((uint64_t)op << 56) | (size & TRACE_SIZE_MASK), (uintptr_t)a, (uintptr_t)b};
}

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc) return boot_alloc(n);
    void *p = real_malloc(n);
    rec(TRACE_MALLOC, n, NULL, p);
    return p;
}

void *calloc(size_t k, size_t n)
{
    resolve();
    if (!real_calloc) return boot_alloc(k * n); /* static memory is zeroed */
    void *p = real_calloc(k, n);
    rec(TRACE_CALLOC, (uint64_t)k * n, NULL, p);
    return p;
}

void free(void *p)
{
    if (!p || is_boot(p)) return;
    resolve();
    if (!real_free) return; /* only while dlsym runs, and it frees nothing of its own */
    real_free(p);
    rec(TRACE_FREE, 0, p, NULL);
}

void *realloc(void *old, size_t n)
{
    resolve();
    if (is_boot(old)) {
        void *p = malloc(n);
        size_t room = (size_t)(boot + sizeof boot - (char *)old);
        if (p) memcpy(p, old, n < room ? n : room);
        return p;
    }
    if (!real_realloc) return NULL;
    void *p = real_realloc(old, n);
    rec(TRACE_REALLOC, n, old, p);
    return p;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    resolve();
    if (!real_posix_memalign) { /* while dlsym runs: the bootstrap buffer, aligned by hand */
        char *p = boot_alloc(n + align);
        if (!p) return ENOMEM;
        *out = (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
        return 0;
    }
    int r = real_posix_memalign(out, align, n);
    rec(TRACE_MEMALIGN, n, (void *)align, r == 0 ? *out : NULL);
    return r;
}

void *aligned_alloc(size_t align, size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) == 0 ? p : NULL;
}

void *memalign(size_t align, size_t n)
{
    return aligned_alloc(align, n);
}
