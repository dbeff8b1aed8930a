/* ----------------------------------------------------------------------------
 * prim/linux.c — the OS contract (prim.h) for Linux with glibc.
 *
 * Only raw system calls and async-signal-safe libc wrappers are used: this
 * file runs inside malloc, before main, in fork children and in signal
 * handlers. No stdio, no getenv, no malloc.
 * -------------------------------------------------------------------------- */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "prim.h"
#include "../str.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>
#include <stdlib.h>
#include <link.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <ucontext.h>

extern char **environ;

/* glibc >= 2.35 exports these when it registered an rseq area per thread.
 * Weak, so the library still loads on an older libc (then they are NULL). */
extern __attribute__((weak)) const ptrdiff_t __rseq_offset;
extern __attribute__((weak)) const unsigned int __rseq_size;

static size_t page_bytes_cache;

size_t zt_prim_page_bytes(void)
{
    size_t p = __atomic_load_n(&page_bytes_cache, __ATOMIC_RELAXED);
    if (p == 0) {
        /* The aux vector, not sysconf: sysconf's code sits in a part of
         * libc that nothing else at start-up runs, and its fault-around
         * window costs every process up to 64 KiB of resident text. */
        unsigned long v = getauxval(AT_PAGESZ);
        p = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&page_bytes_cache, p, __ATOMIC_RELAXED);
    }
    return p;
}

void *zt_prim_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Over-map by the alignment and trim both ends; the kernel usually hands out
 * addresses top-down, so most requests need only the trims. */
static void *map_aligned_prot(size_t bytes, size_t align, int prot, int extra_flags)
{
    size_t page = zt_prim_page_bytes();
    if (align <= page) {
        void *p = mmap(NULL, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    size_t over = bytes + align - page;
    if (over < bytes) return NULL;
    char *raw = mmap(NULL, over, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t base = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = base - (uintptr_t)raw;
    size_t tail = over - head - bytes;
    if (head) munmap(raw, head);
    if (tail) munmap((char *)base + bytes, tail);
    return (void *)base;
}

void *zt_prim_map_aligned(size_t bytes, size_t align_bytes)
{
    return map_aligned_prot(bytes, align_bytes, PROT_READ | PROT_WRITE, MAP_NORESERVE);
}

void *zt_prim_reserve(size_t bytes, size_t align_bytes)
{
    return map_aligned_prot(bytes, align_bytes, PROT_NONE, MAP_NORESERVE);
}

int zt_prim_reserve_at(void *addr, size_t bytes)
{
    void *p = mmap(addr, bytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return errno;
    if (p != addr) { /* kernels before 4.17 ignore MAP_FIXED_NOREPLACE */
        munmap(p, bytes);
        return EEXIST;
    }
    return 0;
}

int zt_prim_commit(void *addr, size_t bytes)
{
    return mprotect(addr, bytes, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int zt_prim_decommit(void *addr, size_t bytes)
{
    /* Replacing the mapping drops the pages and the commit charge at once. */
    void *p = mmap(addr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                   -1, 0);
    return p == MAP_FAILED ? errno : 0;
}

int zt_prim_purge(void *addr, size_t bytes)
{
    return madvise(addr, bytes, MADV_DONTNEED) == 0 ? 0 : errno;
}

void zt_prim_unmap(void *addr, size_t bytes)
{
    if (addr && bytes) munmap(addr, bytes);
}

bool zt_prim_readable(const void *addr, size_t bytes)
{
    /* process_vm_readv on ourselves fails with EFAULT instead of faulting. */
    if (bytes == 0) return true;
    char buf[256];
    uintptr_t a = (uintptr_t)addr;
    while (bytes) {
        size_t n = bytes < sizeof buf ? bytes : sizeof buf;
        struct iovec local = {buf, n}, remote = {(void *)a, n};
        long r = syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
        if (r != (long)n) return false;
        a += n;
        bytes -= n;
    }
    return true;
}

/* sysinfo, as sysconf(_SC_PHYS_PAGES) itself does (without sysconf: see
 * zt_prim_page_bytes). */
uint64_t zt_prim_ram_bytes(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0) return 0;
    return (uint64_t)si.totalram * (si.mem_unit ? si.mem_unit : 1);
}

static bool read_small_file(const char *path, char *buf, size_t cap, size_t *len);
static uint64_t parse_u64(const char *s, const char **end);

/* The CPUs online, as sysconf(_SC_NPROCESSORS_ONLN) counts them (glibc
 * 2.36 reads the same file), parsed here: sysconf and its parser would
 * bring two more windows of libc's text in (zt_prim_page_bytes). The list is
 * ranges and singles ("0-3,8,10-11"); sched_getaffinity's count, the
 * fallback, is what this process may use, not what the host has. */
static unsigned online_cpus(void)
{
    char buf[256];
    size_t len;
    unsigned n = 0;
    if (read_small_file("/sys/devices/system/cpu/online", buf, sizeof buf, &len)) {
        const char *s = buf;
        while (*s >= '0' && *s <= '9') {
            uint64_t lo = parse_u64(s, &s), hi = lo;
            if (*s == '-') hi = parse_u64(s + 1, &s);
            if (hi >= lo && hi - lo < 65536) n += (unsigned)(hi - lo + 1);
            if (*s != ',') break;
            s++;
        }
    }
    if (n == 0) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0) n = (unsigned)CPU_COUNT(&set);
    }
    return n > 0 ? n : 1;
}

unsigned zt_prim_ncpu(void)
{
    static unsigned cached;
    unsigned n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (n == 0) {
        n = online_cpus();
        __atomic_store_n(&cached, n, __ATOMIC_RELAXED);
    }
    return n;
}

/* struct rseq's cpu_id is the second 32-bit word (after cpu_id_start). */
unsigned zt_prim_cpu(void)
{
    if (&__rseq_size != NULL && __rseq_size >= 8) {
        const char *tp = (const char *)__builtin_thread_pointer();
        int32_t cpu = *(const volatile int32_t *)(tp + __rseq_offset + 4);
        if (cpu >= 0) return (unsigned)cpu;
    }
    int c = sched_getcpu();
    return c >= 0 ? (unsigned)c : 0;
}

int zt_prim_tid(void)
{
    return (int)syscall(SYS_gettid);
}

int zt_prim_pid(void)
{
    return (int)syscall(SYS_getpid);
}

const char *zt_prim_progname(void)
{
    return program_invocation_short_name;
}

void zt_prim_yield(void)
{
    sched_yield();
}

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16u;
        if (d == 16) return v;
        v = v << 4 | d;
    }
}

/* The mapping of /proc/self/maps that holds the caller's stack pointer: its
 * frames can be read anywhere in it without faulting. Not pthread_getattr_np:
 * that allocates while holding the thread's lock (glibc), so calling it from
 * inside malloc deadlocks a thread whose first profiled allocation is made
 * by pthread_getattr_np itself (the JVM does exactly that). Reads with raw
 * read() into a stack buffer; a line split across reads is carried over. */
bool zt_prim_thread_stack(uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096 + 1];
    size_t have = 0;
    bool found = false;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
            const char *q = line;
            uintptr_t a = parse_hex(&q);
            if (*q == '-') {
                q++;
                uintptr_t b = parse_hex(&q);
                if (sp >= a && sp < b) {
                    *lo = a;
                    *hi = b;
                    found = true;
                    break;
                }
            }
            line = nl + 1;
        }
        if (found) break;
        /* Keep the unfinished line; a line longer than the buffer is dropped. */
        size_t rest = have - (size_t)(line - buf);
        if (rest == sizeof buf - 1) rest = 0;
        memmove(buf, line, rest);
        have = rest;
    }
    close(fd);
    return found;
}

/* ---- locks: Drepper's three-state futex mutex ---------------------------- */

void zt_prim_lock_slow(zt_lock_t *l)
{
    uint32_t c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    }
}

void zt_prim_unlock_wake(zt_lock_t *l)
{
    syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- time, environment, output ------------------------------------------ */

uint64_t zt_prim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t zt_prim_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *zt_prim_getenv(const char *name)
{
    size_t n = zt_str_len(name);
    char **env = environ;
    if (env == NULL) return NULL;
    for (; *env; env++)
        if (zt_str_ncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
    return NULL;
}

static bool read_small_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return n > 0;
}

static uint64_t parse_u64(const char *s, const char **end)
{
    uint64_t v = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    if (end) *end = s;
    return v;
}

bool zt_prim_footprint(uint64_t *rss_bytes, uint64_t *anon_bytes)
{
    char buf[4096];
    size_t len;
    if (!read_small_file("/proc/self/status", buf, sizeof buf, &len)) return false;
    uint64_t rss = 0, anon = 0;
    for (const char *line = buf; line && *line;) {
        if (zt_str_ncmp(line, "VmRSS:", 6) == 0)
            rss = parse_u64(line + 6, NULL) * 1024;
        else if (zt_str_ncmp(line, "RssAnon:", 8) == 0)
            anon = parse_u64(line + 8, NULL) * 1024;
        line = strchr(line, '\n');
        if (line) line++;
    }
    *rss_bytes = rss;
    *anon_bytes = anon;
    return rss != 0;
}

/* statm: "size resident shared text lib data dt" in pages; shared counts
 * file-backed and shmem resident pages, so resident - shared = RssAnon of
 * /proc/self/status (anonymous pages touched, private file pages written):
 * what phys_footprint counts, less the compressed/swapped part. statm is
 * preferred to status for cost: ~40 bytes formatted from the mm counters
 * against ~1.4 KB and 55 fields (measured on the build machine, open + read
 * + close: 8.4 µs against 12.4 µs), so the jetsam check can read it every
 * 10 ms for under 0.1 % of a core. */
bool zt_prim_phys_footprint(uint64_t *bytes)
{
    char buf[128];
    size_t len;
    if (!read_small_file("/proc/self/statm", buf, sizeof buf, &len)) return false;
    const char *p = buf;
    uint64_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        while (*p == ' ')
            p++;
        v[i] = parse_u64(p, &p);
    }
    uint64_t page = (uint64_t)zt_prim_page_bytes();
    *bytes = v[1] > v[2] ? (v[1] - v[2]) * page : 0;
    return v[1] != 0;
}

/* ---- files, threads, signals, modules (used by the profiler) ------------ */

int zt_prim_file_reserve(int fd, uint64_t bytes)
{
    int r = posix_fallocate(fd, 0, (off_t)bytes); /* returns the error, errno untouched */
    if (r == 0) return 0;
    if (r != EOPNOTSUPP && r != EINVAL) return r;
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= bytes) return 0;
    return ftruncate(fd, (off_t)bytes) == 0 ? 0 : errno;
}

void *zt_prim_file_map(int fd, uint64_t off, size_t bytes, void *addr)
{
    void *p = mmap(addr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | (addr ? MAP_FIXED : 0), fd,
                   (off_t)off);
    return p == MAP_FAILED ? NULL : p;
}

bool zt_prim_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    bool ok = cap > 0 && read_small_file(path, buf, cap, &n);
    if (len) *len = ok ? n : 0;
    return ok;
}

int zt_prim_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u << 10);
    int r = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return r;
}

int zt_prim_on_exit(void (*fn)(int status, void *arg), void *arg)
{
    return on_exit(fn, arg) == 0 ? 0 : ENOMEM;
}

/* Faults and abort always; the terminating signals after them only while
 * the program leaves them at SIG_DFL (a program's own handler or SIG_IGN
 * is left alone). Such a handler is "held": sigaction (interposed below)
 * shows the program SIG_DFL there, as programs decide on what they find
 * (Python installs its SIGINT handler only over SIG_DFL). */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
                                    SIGTERM, SIGHUP, SIGINT, SIGQUIT};
#define FAULT_COUNT 5u
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
#define FATAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction fatal_previous[FATAL_COUNT];
static void (*fatal_fn)(const zt_prim_fault_t *f);
static int fatal_installed;
static int fatal_held[sizeof fatal_signals / sizeof fatal_signals[0]];

static void fatal_handler(int sig, siginfo_t *si, void *uc_raw)
{
    int saved_errno = errno;
    zt_prim_fault_t f = {sig,   si ? si->si_code : 0, si ? (uintptr_t)si->si_addr : 0, 0, 0, 0,
                         uc_raw};
#if defined(__x86_64__)
    if (uc_raw) {
        ucontext_t *uc = uc_raw;
        f.pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        f.fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
        f.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    }
#elif defined(__aarch64__)
    if (uc_raw) {
        ucontext_t *uc = uc_raw;
        f.pc = (uintptr_t)uc->uc_mcontext.pc;
        f.fp = (uintptr_t)uc->uc_mcontext.regs[29];
        f.sp = (uintptr_t)uc->uc_mcontext.sp;
    }
#endif
    void (*fn)(const zt_prim_fault_t *) = __atomic_load_n(&fatal_fn, __ATOMIC_ACQUIRE);
    if (fn) fn(&f);
    for (unsigned i = 0; i < FATAL_COUNT; i++)
        if (fatal_signals[i] == sig) {
            struct sigaction prev = fatal_previous[i];
            if (prev.sa_handler == SIG_IGN && sig != SIGABRT)
                prev.sa_handler = SIG_DFL; /* a fault cannot be ignored: it would loop */
            __sigaction(sig, &prev, NULL);
            if (i >= FAULT_COUNT) __atomic_store_n(&fatal_held[i], 0, __ATOMIC_RELEASE);
        }
    /* Sent (kill, raise, abort): deliver again to the previous disposition
     * once we return. A hardware fault re-executes and faults again; a
     * terminating signal from the kernel (SIGHUP at hangup) is raised. */
    bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
    if (si == NULL || si->si_code <= 0 || !fault) raise(sig);
    errno = saved_errno;
}

bool zt_prim_fatal_handlers(void (*fn)(const zt_prim_fault_t *f))
{
    __atomic_store_n(&fatal_fn, fn, __ATOMIC_RELEASE);
    if (__atomic_exchange_n(&fatal_installed, 1, __ATOMIC_ACQ_REL)) return true;
    size_t alt_bytes = 64u << 10;
    void *alt = zt_prim_map(alt_bytes);
    if (alt) {
        stack_t ss = {.ss_sp = alt, .ss_size = alt_bytes, .ss_flags = 0};
        sigaltstack(&ss, NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fatal_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    bool ok = true;
    for (unsigned i = 0; i < FATAL_COUNT; i++) {
        if (i >= FAULT_COUNT) {
            struct sigaction cur;
            if (__sigaction(fatal_signals[i], NULL, &cur) != 0 || (cur.sa_flags & SA_SIGINFO) ||
                cur.sa_handler != SIG_DFL)
                continue;
        }
        if (__sigaction(fatal_signals[i], &sa, &fatal_previous[i]) != 0)
            ok = false;
        else if (i >= FAULT_COUNT)
            __atomic_store_n(&fatal_held[i], 1, __ATOMIC_RELEASE);
    }
    return ok;
}

/* Puts zonetrace's handler in front of a terminating signal the program
 * (re)sets to SIG_DFL: the handler's "previous" is the program's own
 * SIG_DFL action, mask and flags, so the signal still ends the process as
 * the program asked, after the record says so. */
static int fatal_hold(unsigned i, const struct sigaction *dfl, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fatal_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    struct sigaction prev;
    int r = __sigaction(fatal_signals[i], &sa, &prev);
    if (r != 0) return r;
    fatal_previous[i] = *dfl;
    __atomic_store_n(&fatal_held[i], 1, __ATOMIC_RELEASE);
    if (old) *old = prev;
    return 0;
}

/* The program's sigaction. Where zonetrace's handler is held in place of
 * SIG_DFL, the program sees SIG_DFL; setting SIG_DFL keeps it held;
 * anything else (a handler, SIG_IGN) replaces it for good, until the
 * program sets SIG_DFL again. */
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
                                                     struct sigaction *old)
{
    unsigned i = FAULT_COUNT;
    while (i < FATAL_COUNT && fatal_signals[i] != sig)
        i++;
    bool dfl = act && !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
    if (i >= FATAL_COUNT || !__atomic_load_n(&fatal_installed, __ATOMIC_ACQUIRE))
        return __sigaction(sig, act, old);
    if (!__atomic_load_n(&fatal_held[i], __ATOMIC_ACQUIRE))
        return dfl ? fatal_hold(i, act, old) : __sigaction(sig, act, old);
    struct sigaction cur;
    if (__sigaction(sig, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) ||
        cur.sa_sigaction != fatal_handler) { /* replaced behind our back */
        __atomic_store_n(&fatal_held[i], 0, __ATOMIC_RELEASE);
        return dfl ? fatal_hold(i, act, old) : __sigaction(sig, act, old);
    }
    if (dfl) {
        fatal_previous[i] = *act;
        act = NULL;
    }
    int r = __sigaction(sig, act, NULL);
    if (r != 0) return r;
    if (act) __atomic_store_n(&fatal_held[i], 0, __ATOMIC_RELEASE);
    if (old) {
        memset(old, 0, sizeof *old);
        old->sa_handler = SIG_DFL;
        sigemptyset(&old->sa_mask);
    }
    return 0;
}

/* glibc's signal() calls its internal __sigaction, past the interposed
 * sigaction above, so it would hand the program zonetrace's handler as the
 * old disposition (and a later SIG_DFL would drop the hold). Same BSD
 * semantics as glibc's __bsd_signal (signal/signal.c): the signal blocked
 * in its handler, SA_RESTART. */
__attribute__((visibility("default"))) void (*signal(int sig, void (*fn)(int)))(int)
{
    struct sigaction act, old;
    if (fn == SIG_ERR || sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    memset(&act, 0, sizeof act);
    act.sa_handler = fn;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    act.sa_flags = SA_RESTART;
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

__attribute__((visibility("default"))) void (*bsd_signal(int sig, void (*fn)(int)))(int)
{
    return signal(sig, fn);
}

struct modules_ctx {
    int (*cb)(void *ctx, const zt_prim_module_t *m);
    void *ctx;
};

static int modules_one(struct dl_phdr_info *info, size_t size, void *raw)
{
    struct modules_ctx *mc = raw;
    zt_prim_module_t m = {
        info->dlpi_name ? info->dlpi_name : "", 0, 0, info->dlpi_addr, 0, 0, NULL, 0};
    uintptr_t lo = UINTPTR_MAX, hi = 0, tlo = UINTPTR_MAX, thi = 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
            if (ph->p_flags & PF_X) {
                tlo = a < tlo ? a : tlo;
                thi = b > thi ? b : thi;
            }
        } else if (ph->p_type == PT_NOTE && m.build_id == NULL) {
            /* Notes: 4-byte namesz, descsz, type, then name and desc padded to 4. */
            const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
            const uint8_t *end = p + ph->p_memsz;
            while (p + 12 <= end) {
                uint32_t namesz, descsz, type;
                memcpy(&namesz, p, 4);
                memcpy(&descsz, p + 4, 4);
                memcpy(&type, p + 8, 4);
                const uint8_t *name = p + 12;
                const uint8_t *desc = name + ((namesz + 3u) & ~3u);
                const uint8_t *next = desc + ((descsz + 3u) & ~3u);
                if (next > end || next < p) break;
                if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                    m.build_id = desc;
                    m.build_id_len = descsz > 20 ? 20 : descsz;
                    break;
                }
                p = next;
            }
        }
    }
    if (hi == 0) return 0;
    m.base = lo;
    m.bytes = hi - lo;
    m.text_lo = thi ? tlo : 0;
    m.text_hi = thi;
    return mc->cb(mc->ctx, &m);
}

void zt_prim_modules(int (*cb)(void *ctx, const zt_prim_module_t *m), void *ctx)
{
    struct modules_ctx mc = {cb, ctx};
    dl_iterate_phdr(modules_one, &mc);
}

static int generation_one(struct dl_phdr_info *info, size_t size, void *raw)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        *(uint64_t *)raw = (uint64_t)info->dlpi_adds + (uint64_t)info->dlpi_subs;
    return 1; /* the counters are global: the first module is enough */
}

uint64_t zt_prim_modules_generation(void)
{
    uint64_t g = 0;
    dl_iterate_phdr(generation_one, &g);
    return g;
}

void zt_prim_platform(zt_prim_platform_t *out)
{
    out->os = ZT_PRIM_OS_LINUX;
    out->image_format = ZT_PRIM_IMAGE_ELF;
#if defined(__x86_64__)
    out->arch = "x86_64";
#elif defined(__aarch64__)
    out->arch = "aarch64";
#elif defined(__i386__)
    out->arch = "i386";
#else
    out->arch = "unknown";
#endif
}

bool zt_prim_exe_path(char *buf, size_t cap)
{
    if (cap == 0) return false;
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) {
        buf[0] = 0;
        return false;
    }
    buf[n] = 0;
    return true;
}

void zt_prim_exit_now(int status)
{
    /* Not _exit: zonetrace interposes it (profiler/crash.c). */
    for (;;)
        syscall(SYS_exit_group, status);
}

int zt_prim_execve(const char *path, char *const argv[], char *const envp[])
{
    /* Not execve: zonetrace interposes it (profiler/crash.c). */
    return (int)syscall(SYS_execve, path, argv, envp);
}

int zt_prim_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}
