/* ----------------------------------------------------------------------------
 * prim.h — the operating-system contract of zonetrace.
 *
 * Every OS call the allocator and the profiler make goes through these
 * functions; one implementation file per OS (linux.c, darwin.c). Nothing here
 * may call malloc, and everything must work before main() and before libc has
 * finished initialising (no getenv, no stdio).
 *
 * Shared rules: sizes are multiples of the host page unless stated otherwise;
 * functions returning int return 0 on success and an errno value on failure.
 * -------------------------------------------------------------------------- */
#ifndef ZT_PRIM_H
#define ZT_PRIM_H

#include <stddef.h>
#include <stdint.h>

#include "../compiler.h"
#include <stdbool.h>

/* ---- virtual memory ---------------------------------------------------- */

/* Host page size in bytes (4096 on x86_64 Linux). Cached after first call. */
size_t zt_prim_page_bytes(void);

/* Map `bytes` of zero-filled read/write memory anywhere. NULL on failure.
 * Pages are committed lazily by the kernel (MAP_NORESERVE where possible). */
void *zt_prim_map(size_t bytes);

/* Map `bytes` of read/write memory aligned to `align_bytes` (a power of two,
 * >= page). Over-maps and trims, so the cost is one mmap and up to two munmaps. */
void *zt_prim_map_aligned(size_t bytes, size_t align_bytes);

/* Reserve address space only (PROT_NONE, no commit charge). NULL on failure.
 * `align_bytes` as in zt_prim_map_aligned (0 or page = no extra alignment). */
void *zt_prim_reserve(size_t bytes, size_t align_bytes);

/* Reserve at exactly `addr` (fails with EEXIST instead of clobbering an
 * existing mapping). Used by the nano region, which lives at a fixed place. */
int zt_prim_reserve_at(void *addr, size_t bytes);

/* Make a reserved range usable (read/write, zero on first touch). */
int zt_prim_commit(void *addr, size_t bytes);

/* Return a range to the reserved state: pages are dropped and the range is
 * PROT_NONE again; the address space stays reserved. */
int zt_prim_decommit(void *addr, size_t bytes);

/* Drop the physical pages of a usable range but keep it usable; the next
 * touch reads zeros. */
int zt_prim_purge(void *addr, size_t bytes);

/* Bytes of [addr, addr+bytes) (page-aligned) whose host pages are resident,
 * read from the page tables without changing them (mincore(2): no TLB
 * flush, no fault). When run is non-NULL it is called for every maximal run
 * of resident pages, in address order. A page mapping the shared zero page
 * (read, never written) counts as resident although RSS does not count it.
 * Used by the held-pages ledger (va.c). */
size_t zt_prim_resident(const void *addr, size_t bytes, void (*run)(void *ctx, void *a, size_t n),
                        void *ctx);

/* Unmap a range returned by zt_prim_map / map_aligned / reserve. */
void zt_prim_unmap(void *addr, size_t bytes);

/* Change protection: prot is a bit set of ZT_PROT_READ / ZT_PROT_WRITE. */
enum { ZT_PROT_NONE = 0, ZT_PROT_READ = 1, ZT_PROT_WRITE = 2 };
int zt_prim_protect(void *addr, size_t bytes, int prot);

/* True if [addr, addr+bytes) can be read without faulting (it is mapped and
 * readable). Used to validate foreign pointers; costs a system call. */
bool zt_prim_readable(const void *addr, size_t bytes);

/* ---- CPU and threads --------------------------------------------------- */

/* Physical memory of the machine in bytes (0 if unknown). */
uint64_t zt_prim_ram_bytes(void);

/* Number of online CPUs, at least 1. */
unsigned zt_prim_ncpu(void);

/* Current CPU number, a hint only: rseq cpu_id when glibc registered rseq,
 * else sched_getcpu(), else 0. Never used for correctness. */
unsigned zt_prim_cpu(void);

/* Kernel thread id of the caller. */
int zt_prim_tid(void);

/* Process id (not cached: correct after fork). */
int zt_prim_pid(void);

/* The program's short name (getprogname()), for libmalloc-style messages. */
const char *zt_prim_progname(void);

/* The calling thread's pthread_t as a pointer, as libmalloc prints it. */
void *zt_prim_thread_self(void);

/* Register fork handlers (prepare, parent, child). */
int zt_prim_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* A thread-specific key whose destructor runs when a thread exits with a
 * non-NULL value set (pthread keys). Setting a value may allocate with the
 * process's malloc on first use of a high key: callers guard against
 * re-entry. Both return 0 or an errno value. */
typedef unsigned long zt_thread_key_t;
int zt_prim_thread_key_create(zt_thread_key_t *key, void (*on_exit)(void *value));
int zt_prim_thread_key_set(zt_thread_key_t key, void *value);

/* Yield the processor. */
void zt_prim_yield(void);

/* Lowest and highest address of the calling thread's stack, for bounded
 * frame-pointer walks. Returns false if unknown. */
bool zt_prim_thread_stack(uintptr_t *lo, uintptr_t *hi);

/* ---- locks --------------------------------------------------------------- */

/* A one-word lock usable before main and in fork children; zero-initialised
 * memory is an unlocked lock. The fast path is one CAS; contention sleeps on
 * the OS wait primitive (futex on Linux, os_unfair_lock semantics on Darwin). */
typedef struct zt_lock {
    uint32_t word; /* 0 free, 1 locked, 2 locked with waiters */
} zt_lock_t;

#define ZT_LOCK_INIT                                                                               \
    {                                                                                              \
        0                                                                                          \
    }

void zt_prim_lock_slow(zt_lock_t *l);
void zt_prim_unlock_wake(zt_lock_t *l);

static inline void zt_lock(zt_lock_t *l)
{
    uint32_t expected = 0;
    if (zt_unlikely(!__atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                                 __ATOMIC_RELAXED)))
        zt_prim_lock_slow(l);
}

static inline bool zt_trylock(zt_lock_t *l)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void zt_unlock(zt_lock_t *l)
{
    if (zt_unlikely(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2))
        zt_prim_unlock_wake(l);
}

/* Re-initialise in a fork child (the owner thread no longer exists). */
static inline void zt_lock_reinit(zt_lock_t *l)
{
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

/* ---- time, environment, output ------------------------------------------ */

/* Monotonic clock in nanoseconds. */
uint64_t zt_prim_now_ns(void);

/* Wall clock in nanoseconds since the Unix epoch. */
uint64_t zt_prim_wall_ns(void);

/* getenv that reads `environ` directly (safe before libc init; no malloc). */
const char *zt_prim_getenv(const char *name);

/* Whether fd is a terminal (isatty; no malloc). */
bool zt_prim_isatty(int fd);

/* Write all of buf to fd, retrying on EINTR/short writes. */
void zt_prim_write(int fd, const void *buf, size_t len);

/* Abort the process (raises SIGABRT; no atexit handlers, no malloc). */
__attribute__((noreturn)) void zt_prim_abort(void);

/* _exit without running handlers. */
__attribute__((noreturn)) void zt_prim_exit(int code);

/* Resident set size and anonymous resident size of this process in bytes,
 * read without malloc (Linux: /proc/self/statm and /proc/self/status).
 * Returns false if unavailable. The host's reading: a device profile's
 * footprint is zt_va_footprint's (less the held pages). */
bool zt_prim_footprint(uint64_t *rss_bytes, uint64_t *anon_bytes);

/* The footprint jetsam compares with the limit (phys_footprint's meaning):
 * the process's dirty anonymous memory — heap, the program's own anonymous
 * mappings, thread stacks, written private file pages — without clean
 * file-backed pages. Darwin: task_info(TASK_VM_INFO).phys_footprint. Linux:
 * resident minus shared pages of /proc/self/statm (= RssAnon; one read of
 * a ~30-byte file, ~8 µs, see linux.c). False if unavailable. The host's
 * reading: what jetsam compares is zt_va_phys_footprint's. */
bool zt_prim_phys_footprint(uint64_t *bytes);

/* Tiny formatted output that never allocates. Supports %s %d %u %ld %lu %zu
 * %zd %llu %lld %x %lx %zx %p %c %% and a width/zero-pad on numbers. Returns
 * the length that was written (truncated to cap-1, always NUL-terminated). */
int zt_prim_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print "zonetrace: <message>\n" to stderr (formatted as above, <= 1 KiB). */
void zt_prim_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- files, threads, signals, modules (used by the profiler) ------------ */

/* Create or truncate `path` for reading and writing (mode 0644, close-on-
 * exec). Returns the descriptor, or -errno. */
int zt_prim_file_create(const char *path);

/* Make the file at least `bytes` long with its blocks allocated, so that
 * stores through a shared mapping can never SIGBUS on a full disk
 * (fallocate; ftruncate where the file system has no fallocate). 0 or errno. */
int zt_prim_file_reserve(int fd, uint64_t bytes);

/* Map [off, off+bytes) of fd shared read/write; at exactly `addr` (which must
 * lie in a reservation the caller owns) or anywhere when addr is NULL.
 * NULL on failure. Unmap with zt_prim_unmap. */
void *zt_prim_file_map(int fd, uint64_t off, size_t bytes, void *addr);

/* Flush a shared file mapping to its file (wait: synchronously). */
int zt_prim_sync(void *addr, size_t bytes, bool wait);

void zt_prim_close(int fd);

/* Read a small file (at most cap-1 bytes, e.g. /proc or /sys) into buf,
 * NUL-terminated. False if it cannot be read or is empty. */
bool zt_prim_read_file(const char *path, char *buf, size_t cap, size_t *len);

/* Sleep for `ns` nanoseconds (restarted on signals). */
void zt_prim_sleep_ns(uint64_t ns);

/* Start a detached helper thread. May allocate (pthread_create): never call
 * from inside malloc. 0 or errno. */
int zt_prim_thread_start(void *(*fn)(void *), void *arg);

/* Register fn(exit status, arg) to run at exit() (on_exit). 0 or errno. */
int zt_prim_on_exit(void (*fn)(int status, void *arg), void *arg);

/* A synchronous fatal signal or abort, as seen by zt_prim_fatal_handlers. */
typedef struct zt_prim_fault {
    int signal, si_code;
    uintptr_t addr;       /* si_addr */
    uintptr_t pc, fp, sp; /* interrupted context (0 = unknown) */
    void *ucontext;       /* the platform ucontext_t */
} zt_prim_fault_t;

/* Install fn for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT (on an
 * alternate stack for the calling thread, so stack overflows are seen).
 * After fn returns, the previous disposition is restored and the signal is
 * re-raised (a fault re-executes the faulting instruction). Idempotent. */
bool zt_prim_fatal_handlers(void (*fn)(const zt_prim_fault_t *f));

/* A loaded module, as given to a zt_prim_modules callback (valid only
 * during the callback). */
typedef struct zt_prim_module {
    const char *path;           /* "" for the main program */
    uintptr_t base, bytes;      /* lowest PT_LOAD address, extent */
    uintptr_t bias;             /* load bias */
    uintptr_t text_lo, text_hi; /* extent of the executable PT_LOAD segments */
    const uint8_t *build_id;    /* GNU build id, NULL if none */
    unsigned build_id_len;
} zt_prim_module_t;

/* Visit the loaded modules (dl_iterate_phdr; may take the loader's lock,
 * allocates nothing itself). A non-zero return from cb stops the walk. */
void zt_prim_modules(int (*cb)(void *ctx, const zt_prim_module_t *m), void *ctx);

/* Changes whenever modules are loaded or unloaded (dlpi_adds + dlpi_subs). */
uint64_t zt_prim_modules_generation(void);

/* Load the shared library `library` (dlopen by name: RTLD_NOW | RTLD_LOCAL,
 * never unloaded; loading it again only counts a reference) and return the
 * address of `symbol` in it; NULL if either is missing. The loader
 * allocates and takes its lock: call only from a constructor or a thread the
 * profiler started, never from inside malloc (a malloc made inside the
 * loader would re-enter it). */
void *zt_prim_library_symbol(const char *library, const char *symbol);

/* Signal number of "USR1", "SIGUSR1" or "10"; 0 if not a signal. */
int zt_prim_signal_number(const char *name);

/* Send sig to this process (kill(getpid(), sig)): 0 or errno. */
int zt_prim_signal_self(int sig);

/* End the process now with this status, running nothing (exit_group). */
__attribute__((noreturn)) void zt_prim_exit_now(int status);

/* execve(2) itself; returns only on failure (-1, errno set). */
int zt_prim_execve(const char *path, char *const argv[], char *const envp[]);
/* execveat(2) (fexecve is execveat(fd, "", …, AT_EMPTY_PATH)); -1 with
 * ENOSYS where the OS has none (Darwin). */
int zt_prim_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                     int flags);

/* The environment (environ). */
char **zt_prim_environ(void);

/* True if a process with this pid exists (kill(pid, 0) != ESRCH). */
bool zt_prim_pid_alive(int pid);

/* What a record says the process ran on: the values are the record's own
 * (profiler/record_format.h: enum zt_rec_platform, zt_rec_image_format). */
enum zt_prim_os {
    ZT_PRIM_OS_LINUX = 1,
    ZT_PRIM_OS_MACOS = 2,
    ZT_PRIM_OS_IOS = 3,
    ZT_PRIM_OS_IOS_SIMULATOR = 4,
    ZT_PRIM_OS_DARWIN_OTHER = 5 /* tvOS, watchOS, visionOS, Mac Catalyst */
};
enum zt_prim_image_format { ZT_PRIM_IMAGE_ELF = 1, ZT_PRIM_IMAGE_MACHO = 2 };
typedef struct zt_prim_platform {
    int os;           /* enum zt_prim_os (of the build target) */
    int image_format; /* enum zt_prim_image_format: what zt_prim_modules reports */
    const char *arch; /* the CPU as the platform names it: "x86_64", "aarch64", "arm64", "arm64e" */
} zt_prim_platform_t;
void zt_prim_platform(zt_prim_platform_t *out);

/* Absolute path of the running executable (/proc/self/exe), NUL-terminated;
 * false if unknown. */
bool zt_prim_exe_path(char *buf, size_t cap);

#endif /* ZT_PRIM_H */
