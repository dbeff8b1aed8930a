/* ----------------------------------------------------------------------------
 * prim/darwin.c — the OS contract (prim.h) for macOS and iOS.
 *
 * Thin on purpose: Mach and BSD calls only, no allocator logic. The rules of
 * linux.c hold here too: this file runs inside malloc, before main, in fork
 * children and in signal handlers, so no stdio, no getenv, no malloc, and no
 * __thread (dyld allocates thread-local variables on first touch).
 *
 * NEVER COMPILED YET: CMake builds linux.c only and there is no Apple SDK on
 * the build machine. Written against the xnu / libpthread / dyld headers;
 * see zone/prim/README.md for what is untested and where the contract bends.
 *
 * zt_prim_snprintf and zt_prim_message are pure C and live in format.c,
 * which CMake compiles on every OS next to this file.
 * -------------------------------------------------------------------------- */
#if defined(__APPLE__)

#include "prim.h"

#include <Availability.h>
#include <TargetConditionals.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#include <sys/ucontext.h> /* not <ucontext.h>: that one #errors without _XOPEN_SOURCE */
#include <time.h>
#include <unistd.h>

#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/mach_traps.h>
#include <mach/thread_status.h>
#include <mach/thread_switch.h>
#include <mach/vm_map.h> /* vm_*, not mach_vm_*: <mach/mach_vm.h> #errors on iOS */
#include <mach/vm_statistics.h>
#include <mach-o/dyld.h>
#include <mach-o/loader.h>

#ifndef __has_include
#define __has_include(x) 0
#endif

#if __has_include(<crt_externs.h>)
#include <crt_externs.h> /* _NSGetEnviron: a dylib cannot link `environ` */
#define ZT_HAVE_NSGETENVIRON 1
#endif

#if defined(TARGET_OS_OSX) && TARGET_OS_OSX && __has_include(<libproc.h>)
#include <libproc.h> /* proc_pidpath: macOS only, not in the iOS SDK */
#define ZT_HAVE_PROC_PIDPATH 1
#endif

/* Newer entry points are declared here under private C names bound to the
 * real symbols, weak: the file then depends neither on the SDK declaring them
 * (nor conflicts with it), and on an older OS they are NULL at run time.
 * Each is guarded by an SDK-version test so that the linker finds it in
 * libSystem's .tbd at all. */

/* pthread_cpu_number_np: macOS 11, iOS 14.2 (darwin_override.md §7). The
 * Xcode that knows iOS 14.2 ships both SDKs carrying it. */
#if defined(__IPHONE_14_2)
#define ZT_HAVE_CPU_NUMBER 1
extern int zt_darwin_cpu_number(size_t *cpu_out) __asm__("_pthread_cpu_number_np")
    __attribute__((weak_import));
#endif

/* os_sync_wait_on_address / os_sync_wake_by_address_any: macOS 14.4,
 * iOS 17.4; the public futex (size 4 or 8, flags 0 = process-private). */
#if __has_include(<os/os_sync_wait_on_address.h>)
#define ZT_HAVE_OS_SYNC 1
extern int zt_darwin_wait_on_address(void *addr, uint64_t value, size_t size,
                                     uint32_t flags) __asm__("_os_sync_wait_on_address")
    __attribute__((weak_import));
extern int zt_darwin_wake_by_address_any(void *addr, size_t size,
                                         uint32_t flags) __asm__("_os_sync_wake_by_address_any")
    __attribute__((weak_import));
#endif

#ifndef MH_DYLIB_IN_CACHE
#define MH_DYLIB_IN_CACHE 0x80000000u
#endif

/* Every anonymous mapping carries this VM tag so that vmmap, footprint and
 * Instruments show zonetrace's memory apart from libmalloc's MALLOC_* regions. */
#ifndef ZT_DARWIN_VM_TAG
#define ZT_DARWIN_VM_TAG VM_MEMORY_APPLICATION_SPECIFIC_1
#endif
/* VM_MAKE_TAG(tag) is tag << 24 on an int, which overflows for tags >= 128. */
#define VM_TAG_FLAGS ((int)((uint32_t)(ZT_DARWIN_VM_TAG) << 24))
#define VM_PROT_RW   (VM_PROT_READ | VM_PROT_WRITE)

/* ---- virtual memory ---------------------------------------------------- */

static size_t page_bytes_cache;

size_t zt_prim_page_bytes(void)
{
    size_t p = __atomic_load_n(&page_bytes_cache, __ATOMIC_RELAXED);
    if (p == 0) {
        /* vm_page_size is set by libsystem_kernel's initialiser, before any
         * other image runs code; 16 KiB on arm64, 4 KiB on x86_64 (Rosetta
         * included). getpagesize() returns the same value. */
        p = (size_t)vm_page_size;
        if (p == 0) {
            int v = getpagesize();
            p = v > 0 ? (size_t)v : 16384;
        }
        __atomic_store_n(&page_bytes_cache, p, __ATOMIC_RELAXED);
    }
    return p;
}

static int kern_errno(kern_return_t kr, int no_space)
{
    switch (kr) {
    case KERN_SUCCESS:
        return 0;
    case KERN_NO_SPACE:
        return no_space;
    case KERN_RESOURCE_SHORTAGE:
        return ENOMEM;
    case KERN_PROTECTION_FAILURE:
        return EACCES;
    default:
        return EINVAL;
    }
}

/* One vm_map call: the kernel honours the alignment through `mask` (bits
 * that must be clear in the address), so there is nothing to trim. The
 * maximum protection is read/write: nothing here ever needs execute. */
static void *vm_map_anon(size_t bytes, size_t align_bytes, vm_prot_t prot)
{
    vm_address_t addr = 0;
    vm_address_t mask = align_bytes > zt_prim_page_bytes() ? (vm_address_t)(align_bytes - 1) : 0;
    kern_return_t kr =
        vm_map(mach_task_self(), &addr, (vm_size_t)bytes, mask, VM_FLAGS_ANYWHERE | VM_TAG_FLAGS,
               MEMORY_OBJECT_NULL, 0, FALSE, prot, VM_PROT_RW, VM_INHERIT_DEFAULT);
    return kr == KERN_SUCCESS ? (void *)addr : NULL;
}

/* Replace [addr, addr+bytes) by fresh zero-fill memory in one step: the old
 * pages are gone at once (and leave phys_footprint), the range never becomes
 * a hole another thread could map into. MADV_FREE / MADV_FREE_REUSABLE are
 * cheaper but do not promise zeros on the next touch, which the contract
 * (and va.c) relies on. For MAP_ANON, Darwin takes the VM tag in `fd`. */
static int remap_anon(void *addr, size_t bytes, int prot)
{
    void *p = mmap(addr, bytes, prot, MAP_PRIVATE | MAP_ANON | MAP_FIXED, VM_TAG_FLAGS, 0);
    return p == MAP_FAILED ? errno : 0;
}

/* Darwin has no overcommit accounting, so there is no MAP_NORESERVE to ask
 * for: anonymous memory is always committed lazily. */
void *zt_prim_map(size_t bytes)
{
    return vm_map_anon(bytes, 0, VM_PROT_RW);
}

void *zt_prim_map_aligned(size_t bytes, size_t align_bytes)
{
    return vm_map_anon(bytes, align_bytes, VM_PROT_RW);
}

void *zt_prim_reserve(size_t bytes, size_t align_bytes)
{
    return vm_map_anon(bytes, align_bytes, VM_PROT_NONE);
}

int zt_prim_reserve_at(void *addr, size_t bytes)
{
    /* VM_FLAGS_FIXED without VM_FLAGS_OVERWRITE fails with KERN_NO_SPACE
     * instead of clobbering: the MAP_FIXED_NOREPLACE of Mach. */
    vm_address_t a = (vm_address_t)addr;
    kern_return_t kr =
        vm_map(mach_task_self(), &a, (vm_size_t)bytes, 0, VM_FLAGS_FIXED | VM_TAG_FLAGS,
               MEMORY_OBJECT_NULL, 0, FALSE, VM_PROT_NONE, VM_PROT_RW, VM_INHERIT_DEFAULT);
    if (kr != KERN_SUCCESS) return kern_errno(kr, EEXIST);
    if (a != (vm_address_t)addr) {
        vm_deallocate(mach_task_self(), a, (vm_size_t)bytes);
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
    return remap_anon(addr, bytes, PROT_NONE);
}

int zt_prim_purge(void *addr, size_t bytes)
{
    return remap_anon(addr, bytes, PROT_READ | PROT_WRITE);
}

void zt_prim_unmap(void *addr, size_t bytes)
{
    if (addr && bytes) vm_deallocate(mach_task_self(), (vm_address_t)addr, (vm_size_t)bytes);
}

bool zt_prim_readable(const void *addr, size_t bytes)
{
    /* vm_read_overwrite on our own task returns KERN_INVALID_ADDRESS or
     * KERN_PROTECTION_FAILURE instead of faulting (crash reporters rely on
     * it). One Mach message per 256 bytes; callers probe a few words. */
    if (bytes == 0) return true;
    uintptr_t a = (uintptr_t)addr;
    if (a + bytes < a) return false;
    char buf[256];
    while (bytes) {
        size_t n = bytes < sizeof buf ? bytes : sizeof buf;
        vm_size_t got = 0;
        kern_return_t kr = vm_read_overwrite(mach_task_self(), (vm_address_t)a, (vm_size_t)n,
                                             (vm_address_t)buf, &got);
        if (kr != KERN_SUCCESS || got != (vm_size_t)n) return false;
        a += n;
        bytes -= n;
    }
    return true;
}

/* ---- CPU and threads --------------------------------------------------- */

/* sysctl by MIB: a plain system call (sysctlbyname may translate the name
 * first on old systems). */
uint64_t zt_prim_ram_bytes(void)
{
    int mib[2] = {CTL_HW, HW_MEMSIZE};
    uint64_t v = 0;
    size_t len = sizeof v;
    return sysctl(mib, 2, &v, &len, NULL, 0) == 0 && len == sizeof v ? v : 0;
}

/* hw.ncpu, not hw.activecpu: pthread_cpu_number_np answers in [0, hw.ncpu),
 * and callers size per-CPU arrays from this. */
unsigned zt_prim_ncpu(void)
{
    static unsigned cached;
    unsigned n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (n == 0) {
        int mib[2] = {CTL_HW, HW_NCPU};
        int v = 0;
        size_t len = sizeof v;
        n = sysctl(mib, 2, &v, &len, NULL, 0) == 0 && v > 0 ? (unsigned)v : 1;
        __atomic_store_n(&cached, n, __ATOMIC_RELAXED);
    }
    return n;
}

/* A hint only. Not TPIDRRO_EL0 & 7: current Apple Silicon keeps the CPU
 * number elsewhere and that read is always 0 (darwin_override.md §7, §10.15). */
unsigned zt_prim_cpu(void)
{
#if ZT_HAVE_CPU_NUMBER
    if (zt_darwin_cpu_number != NULL) {
        size_t c = 0;
        if (zt_darwin_cpu_number(&c) == 0) return (unsigned)c;
    }
#endif
    return 0;
}

/* The system-wide 64-bit thread id (what Instruments, spindump and crash
 * reports show), folded into a positive int: ids are sequential from boot
 * and stay below 2^31 in practice. Never 0, which callers use as "nobody". */
int zt_prim_tid(void)
{
    uint64_t id = 0;
    pthread_threadid_np(NULL, &id);
    int t = (int)(id & 0x7fffffff);
    return t ? t : 1;
}

/* libSystem resets any pid cache in its fork child handler, before ours run. */
int zt_prim_pid(void)
{
    return (int)getpid();
}

const char *zt_prim_progname(void)
{
    return getprogname();
}

void zt_prim_yield(void)
{
    sched_yield();
}

/* libpthread records each thread's stack: pthread_get_stackaddr_np is the
 * top (highest address), the size reaches down to the guard page. For the
 * main thread the size is the stack rlimit; the whole range is reserved at
 * exec, so reading below the deepest frame does not fault. */
bool zt_prim_thread_stack(uintptr_t *lo, uintptr_t *hi)
{
    pthread_t self = pthread_self();
    uintptr_t top = (uintptr_t)pthread_get_stackaddr_np(self);
    size_t size = pthread_get_stacksize_np(self);
    if (top == 0 || size == 0 || size > top) return false;
    *lo = top - size;
    *hi = top;
    return true;
}

/* ---- locks ----------------------------------------------------------------
 * The word keeps linux.c's three states (0 free, 1 locked, 2 locked with
 * waiters), which zt_lock/zt_unlock in prim.h implement inline.
 * os_unfair_lock cannot back it: it stores the owner's thread port in the
 * word and traps on an unlock by a non-owner. Contention sleeps on
 * os_sync_wait_on_address where the OS has it (macOS 14.4 / iOS 17.4);
 * otherwise waiters poll with a priority-depressing yield and then short
 * sleeps, and unlock wakes nobody. Availability is fixed for the life of the
 * process, so waiters and wakers always agree on the scheme. Neither scheme
 * donates priority to the owner as os_unfair_lock does. */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__arm64__) || defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Without a wait primitive: the first rounds depress our priority for 1 ms
 * while yielding (OSSpinLock's old slow path), so a lower-QoS owner gets
 * the CPU; later rounds sleep 1 us doubling to 1 ms. */
static void backoff(unsigned round)
{
    if (round < 16) {
        thread_switch(MACH_PORT_NULL, SWITCH_OPTION_DEPRESS, 1);
        return;
    }
    unsigned shift = round - 16 < 10 ? round - 16 : 10;
    struct timespec ts = {0, (long)(1000u << shift)};
    nanosleep(&ts, NULL);
}

static void wait_while_contended(zt_lock_t *l, unsigned round)
{
#if ZT_HAVE_OS_SYNC
    if (zt_darwin_wait_on_address != NULL) {
        /* Returns at once if the word is no longer 2; EINTR and spurious
         * wake-ups cost one more exchange. Any other error: back off. */
        if (zt_darwin_wait_on_address(&l->word, 2, sizeof l->word, 0) >= 0 || errno == EINTR)
            return;
    }
#endif
    (void)l;
    backoff(round);
}

void zt_prim_lock_slow(zt_lock_t *l)
{
    int saved_errno = errno; /* malloc and free must not change errno */
    /* Critical sections are short: spin a little before going to the kernel.
     * Taking the lock as 1 here is safe even with sleepers: a woken sleeper
     * that finds it taken stores 2 again before sleeping. */
    for (unsigned i = 0; i < 64; i++) {
        cpu_relax();
        uint32_t expected = 0;
        if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            errno = saved_errno;
            return;
        }
    }
    unsigned round = 0;
    uint32_t c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        wait_while_contended(l, round);
        if (round < UINT32_MAX) round++;
        c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    }
    errno = saved_errno;
}

void zt_prim_unlock_wake(zt_lock_t *l)
{
#if ZT_HAVE_OS_SYNC
    if (zt_darwin_wake_by_address_any != NULL) {
        int saved_errno = errno; /* ENOENT when nobody was waiting */
        zt_darwin_wake_by_address_any(&l->word, sizeof l->word, 0);
        errno = saved_errno;
    }
#endif
    (void)l;
}

/* ---- time, environment, output ------------------------------------------ */

/* mach_absolute_time stops while the machine sleeps, like Linux's
 * CLOCK_MONOTONIC. Ticks are 1 ns on Intel and 125/3 ns on Apple Silicon;
 * numer and denom are packed in one word so a reader never sees half. */
uint64_t zt_prim_now_ns(void)
{
    static uint64_t timebase; /* numer << 32 | denom, 0 = not read yet */
    uint64_t tb = __atomic_load_n(&timebase, __ATOMIC_RELAXED);
    if (tb == 0) {
        mach_timebase_info_data_t info = {0, 0};
        if (mach_timebase_info(&info) != KERN_SUCCESS || info.numer == 0 || info.denom == 0)
            info.numer = info.denom = 1;
        tb = (uint64_t)info.numer << 32 | info.denom;
        __atomic_store_n(&timebase, tb, __ATOMIC_RELAXED);
    }
    uint64_t numer = tb >> 32, denom = tb & 0xffffffffu;
    uint64_t t = mach_absolute_time();
    if (numer == denom) return t;
    /* Split so that t * numer cannot overflow. */
    return t / denom * numer + t % denom * numer / denom;
}

uint64_t zt_prim_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* macOS 10.12, iOS 10 */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *zt_prim_getenv(const char *name)
{
#if ZT_HAVE_NSGETENVIRON
    char ***envp = _NSGetEnviron();
    char **env = envp ? *envp : NULL;
    if (env == NULL) return NULL;
    size_t n = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
#else
    (void)name;
#endif
    return NULL;
}

/* Apple's own accounting: phys_footprint is what jetsam compares with the
 * process limit and what Xcode's memory gauge shows (dirty anonymous and
 * compressed pages, IOKit and graphics memory, minus purgeable-volatile). It
 * is reported as anon_bytes; it may exceed rss_bytes, since compressed pages
 * are not resident. */
bool zt_prim_footprint(uint64_t *rss_bytes, uint64_t *anon_bytes)
{
    task_vm_info_data_t vmi;
    memset(&vmi, 0, sizeof vmi);
    mach_msg_type_number_t count = TASK_VM_INFO_COUNT;
    if (task_info(mach_task_self(), TASK_VM_INFO, (task_info_t)&vmi, &count) != KERN_SUCCESS)
        return false;
    uint64_t footprint = (uint64_t)vmi.internal + (uint64_t)vmi.compressed; /* rev0 kernels */
#ifdef TASK_VM_INFO_REV1_COUNT
    if (count >= TASK_VM_INFO_REV1_COUNT) footprint = (uint64_t)vmi.phys_footprint;
#endif
    *rss_bytes = (uint64_t)vmi.resident_size;
    *anon_bytes = footprint;
    return vmi.resident_size != 0;
}

/* The number jetsam itself compares with the limit. */
bool zt_prim_phys_footprint(uint64_t *bytes)
{
    uint64_t rss = 0;
    return zt_prim_footprint(&rss, bytes);
}

/* zt_prim_snprintf and zt_prim_message: pure C, in format.c. */

/* ---- files, threads, signals, modules (used by the profiler) ------------ */

/* Darwin has no fallocate: F_PREALLOCATE reserves blocks past the physical
 * end of file, then ftruncate makes them part of the file. Only the growth
 * is requested; a file system that cannot preallocate (ENOTSUP, some network
 * file systems) falls back to ftruncate alone, as linux.c does. */
int zt_prim_file_reserve(int fd, uint64_t bytes)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return errno;
    if (st.st_size >= 0 && (uint64_t)st.st_size >= bytes) return 0;
    uint64_t grow = bytes - (st.st_size > 0 ? (uint64_t)st.st_size : 0);
    fstore_t fs;
    memset(&fs, 0, sizeof fs);
    fs.fst_flags = F_ALLOCATEALL;
    fs.fst_posmode = F_PEOFPOSMODE;
    fs.fst_offset = 0;
    fs.fst_length = (off_t)grow;
    if (fcntl(fd, F_PREALLOCATE, &fs) == -1) {
        int e = errno;
        if (e != ENOTSUP && e != EOPNOTSUPP && e != EINVAL && e != ENOTTY)
            return e; /* ENOSPC above all: exactly what this call is for */
    }
    return ftruncate(fd, (off_t)bytes) == 0 ? 0 : errno;
}

void *zt_prim_file_map(int fd, uint64_t off, size_t bytes, void *addr)
{
    void *p = mmap(addr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | (addr ? MAP_FIXED : 0), fd,
                   (off_t)off);
    return p == MAP_FAILED ? NULL : p;
}

/* Darwin has no /proc or /sys: callers asking for those get false. */
bool zt_prim_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    bool ok = false;
    if (cap > 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            while (n + 1 < cap) {
                ssize_t r = read(fd, buf + n, cap - 1 - n);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;
                n += (size_t)r;
            }
            close(fd);
            buf[n] = 0;
            ok = n > 0;
        }
    }
    if (len) *len = ok ? n : 0;
    return ok;
}

int zt_prim_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u << 10); /* a multiple of 16 KiB pages */
    int r = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return r;
}

/* ---- on_exit emulation ----------------------------------------------------
 * Darwin has no on_exit and no way for an atexit handler to learn the exit
 * status, so fn always receives 0. Each registration adds one atexit call of
 * the same trampoline, which runs the newest live entry: handlers keep
 * on_exit's LIFO order, interleaved correctly with other atexit handlers. */

#define ON_EXIT_SLOTS 8

static struct {
    void (*fn)(int status, void *arg);
    void *arg;
} on_exit_slot[ON_EXIT_SLOTS];
static unsigned on_exit_count;
static zt_lock_t on_exit_lock = ZT_LOCK_INIT;

static void on_exit_trampoline(void)
{
    void (*fn)(int, void *) = NULL;
    void *arg = NULL;
    zt_lock(&on_exit_lock);
    while (on_exit_count && fn == NULL) { /* skip entries whose atexit failed */
        on_exit_count--;
        fn = on_exit_slot[on_exit_count].fn;
        arg = on_exit_slot[on_exit_count].arg;
    }
    zt_unlock(&on_exit_lock);
    if (fn) fn(0, arg);
}

int zt_prim_on_exit(void (*fn)(int status, void *arg), void *arg)
{
    zt_lock(&on_exit_lock);
    unsigned i = on_exit_count;
    if (i == ON_EXIT_SLOTS) {
        zt_unlock(&on_exit_lock);
        return ENOMEM;
    }
    on_exit_slot[i].fn = fn;
    on_exit_slot[i].arg = arg;
    on_exit_count = i + 1;
    zt_unlock(&on_exit_lock);
    if (atexit(on_exit_trampoline) != 0) {
        /* Leave the slot, dead: removing it could pop a newer registration. */
        zt_lock(&on_exit_lock);
        on_exit_slot[i].fn = NULL;
        zt_unlock(&on_exit_lock);
        return ENOMEM;
    }
    return 0;
}

/* ---- fatal signals --------------------------------------------------------
 * Same shape as linux.c. Hardware faults reach us only if no Mach exception
 * handler (a debugger, an in-process crash reporter) consumed them first. */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define FATAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction fatal_previous[FATAL_COUNT];
static void (*fatal_fn)(const zt_prim_fault_t *f);
static int fatal_installed;

/* xnu fills si_code with a small positive code (SEGV_MAPERR, BUS_ADRALN,
 * ILL_*, FPE_*) only for hardware faults; kill, raise and abort leave 0 or
 * SI_USER (0x10001). A sent signal must be raised again; a real fault must
 * not, so the crash report keeps EXC_BAD_ACCESS rather than EXC_CRASH. */
static bool signal_was_sent(int sig, const siginfo_t *si)
{
    if (sig == SIGABRT || si == NULL) return true;
    return si->si_code <= 0 || si->si_code >= SI_USER;
}

static void fatal_handler(int sig, siginfo_t *si, void *uc_raw)
{
    int saved_errno = errno;
    zt_prim_fault_t f = {sig,   si ? si->si_code : 0, si ? (uintptr_t)si->si_addr : 0, 0, 0, 0,
                         uc_raw};
    const ucontext_t *uc = uc_raw;
    if (uc && uc->uc_mcontext) { /* uc_mcontext is a pointer on Darwin */
#if defined(__x86_64__)
        f.pc = (uintptr_t)uc->uc_mcontext->__ss.__rip;
        f.fp = (uintptr_t)uc->uc_mcontext->__ss.__rbp;
        f.sp = (uintptr_t)uc->uc_mcontext->__ss.__rsp;
#elif defined(__arm64__) || defined(__aarch64__)
#if defined(arm_thread_state64_get_pc)
        /* The accessors see through arm64e's opaque, signed thread state. */
        f.pc = (uintptr_t)arm_thread_state64_get_pc(uc->uc_mcontext->__ss);
        f.fp = (uintptr_t)arm_thread_state64_get_fp(uc->uc_mcontext->__ss);
        f.sp = (uintptr_t)arm_thread_state64_get_sp(uc->uc_mcontext->__ss);
#else
        f.pc = (uintptr_t)uc->uc_mcontext->__ss.__pc;
        f.fp = (uintptr_t)uc->uc_mcontext->__ss.__fp;
        f.sp = (uintptr_t)uc->uc_mcontext->__ss.__sp;
#endif
#endif
    }
    void (*fn)(const zt_prim_fault_t *) = __atomic_load_n(&fatal_fn, __ATOMIC_ACQUIRE);
    if (fn) fn(&f);
    for (unsigned i = 0; i < FATAL_COUNT; i++)
        if (fatal_signals[i] == sig) {
            struct sigaction prev = fatal_previous[i];
            if (prev.sa_handler == SIG_IGN && sig != SIGABRT)
                prev.sa_handler = SIG_DFL; /* a fault cannot be ignored: it would loop */
            sigaction(sig, &prev, NULL);
        }
    /* Sent: deliver again to the previous disposition once we return. A
     * hardware fault re-executes and faults again. */
    if (signal_was_sent(sig, si)) raise(sig);
    errno = saved_errno;
}

bool zt_prim_fatal_handlers(void (*fn)(const zt_prim_fault_t *f))
{
    __atomic_store_n(&fatal_fn, fn, __ATOMIC_RELEASE);
    if (__atomic_exchange_n(&fatal_installed, 1, __ATOMIC_ACQ_REL)) return true;
    /* Darwin's SIGSTKSZ is 128 KiB; never go below it. */
    size_t alt_bytes = SIGSTKSZ > (64u << 10) ? (size_t)SIGSTKSZ : (size_t)(64u << 10);
    void *alt = zt_prim_map(alt_bytes);
    if (alt) {
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_sp = alt;
        ss.ss_size = alt_bytes;
        ss.ss_flags = 0;
        sigaltstack(&ss, NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fatal_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    bool ok = true;
    for (unsigned i = 0; i < FATAL_COUNT; i++)
        if (sigaction(fatal_signals[i], &sa, &fatal_previous[i]) != 0) ok = false;
    return ok;
}

/* ---- modules --------------------------------------------------------------
 * dyld's image list read through the public _dyld_* calls. The main program
 * (MH_EXECUTE) is reported first with path "" as dl_iterate_phdr does; the
 * build id is LC_UUID (16 bytes); the slide is recomputed from the header
 * (the header opens __TEXT, so slide = header address - __TEXT's vmaddr), so
 * it cannot belong to another image if the list shifts during the walk.
 *
 * Unlike dl_iterate_phdr nothing holds dyld's lock across the walk: a
 * concurrent dlclose of a non-cache image could unmap a header being read.
 * Shared-cache images are never unmapped, and most others cannot be
 * unloaded (Objective-C / Swift metadata pins them). */

#if defined(__LP64__)
typedef struct mach_header_64 mach_header_t;
typedef struct segment_command_64 segment_command_t;
#define ZT_MH_MAGIC   MH_MAGIC_64
#define ZT_LC_SEGMENT LC_SEGMENT_64
#else
typedef struct mach_header mach_header_t;
typedef struct segment_command segment_command_t;
#define ZT_MH_MAGIC   MH_MAGIC
#define ZT_LC_SEGMENT LC_SEGMENT
#endif

static int visit_image(uint32_t index, bool want_main,
                       int (*cb)(void *ctx, const zt_prim_module_t *m), void *ctx)
{
    const mach_header_t *h = (const mach_header_t *)_dyld_get_image_header(index);
    if (h == NULL || h->magic != ZT_MH_MAGIC) return 0;
    bool is_main = h->filetype == MH_EXECUTE;
    if (is_main != want_main) return 0;
    const char *name = is_main ? "" : _dyld_get_image_name(index);
    zt_prim_module_t m = {name ? name : "", 0, 0, 0, 0, 0, NULL, 0};

    /* Unslid extents: every segment (no __PAGEZERO), the executable ones. */
    uint64_t lo = UINT64_MAX, hi = 0, tlo = UINT64_MAX, thi = 0, sum = 0;
    uint64_t text_vmaddr = 0;
    bool have_text = false;
    const uint8_t *p = (const uint8_t *)(h + 1);
    const uint8_t *end = p + h->sizeofcmds;
    for (uint32_t c = 0; c < h->ncmds; c++) {
        if ((size_t)(end - p) < sizeof(struct load_command)) break;
        const struct load_command *lc = (const struct load_command *)p;
        if (lc->cmdsize < sizeof *lc || lc->cmdsize > (size_t)(end - p)) break;
        if (lc->cmd == ZT_LC_SEGMENT && lc->cmdsize >= sizeof(segment_command_t)) {
            const segment_command_t *sg = (const segment_command_t *)p;
            bool pagezero = sg->initprot == VM_PROT_NONE && sg->filesize == 0;
            if (sg->vmsize != 0 && !pagezero) {
                uint64_t a = sg->vmaddr, b = a + sg->vmsize;
                lo = a < lo ? a : lo;
                hi = b > hi ? b : hi;
                sum += sg->vmsize;
                if (sg->initprot & VM_PROT_EXECUTE) {
                    tlo = a < tlo ? a : tlo;
                    thi = b > thi ? b : thi;
                }
                if (!have_text && strncmp(sg->segname, SEG_TEXT, sizeof sg->segname) == 0) {
                    text_vmaddr = a;
                    have_text = true;
                }
            }
        } else if (lc->cmd == LC_UUID && lc->cmdsize >= sizeof(struct uuid_command)) {
            m.build_id = ((const struct uuid_command *)p)->uuid;
            m.build_id_len = 16;
        }
        p += lc->cmdsize;
    }
    if (hi == 0) return 0;
    uintptr_t slide = have_text ? (uintptr_t)h - (uintptr_t)text_vmaddr
                                : (uintptr_t)_dyld_get_image_vmaddr_slide(index);
    /* A shared-cache image's __DATA and __LINKEDIT lie in other parts of the
     * cache, gigabytes from its __TEXT: its full extent would cover hundreds
     * of neighbours and make pc lookups pick the wrong image. Report only
     * the executable extent for those (flag, or segments far from dense). */
    bool scattered = (h->flags & MH_DYLIB_IN_CACHE) != 0 || hi - lo > 2 * sum + (1u << 20);
    if (scattered && thi != 0) {
        lo = tlo;
        hi = thi;
    }
    m.bias = slide;
    m.base = (uintptr_t)lo + slide;
    m.bytes = (uintptr_t)(hi - lo);
    m.text_lo = thi ? (uintptr_t)tlo + slide : 0;
    m.text_hi = thi ? (uintptr_t)thi + slide : 0;
    return cb(ctx, &m);
}

void zt_prim_modules(int (*cb)(void *ctx, const zt_prim_module_t *m), void *ctx)
{
    uint32_t n = _dyld_image_count();
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < n; i++)
            if (visit_image(i, pass == 0, cb, ctx) != 0) return;
}

/* dyld calls these for every image already loaded at registration, then for
 * each later load and unload: the sum plays dlpi_adds + dlpi_subs. Never
 * unregistered (dyld has no such call); zonetrace is never unloaded. */
static uint64_t modules_changes;
static int modules_hooked;

static void image_changed(const struct mach_header *mh, intptr_t slide)
{
    (void)mh;
    (void)slide;
    __atomic_add_fetch(&modules_changes, 1, __ATOMIC_RELAXED);
}

uint64_t zt_prim_modules_generation(void)
{
    if (!__atomic_exchange_n(&modules_hooked, 1, __ATOMIC_ACQ_REL)) {
        _dyld_register_func_for_add_image(image_changed);
        _dyld_register_func_for_remove_image(image_changed);
    }
    return __atomic_load_n(&modules_changes, __ATOMIC_RELAXED);
}

/* From the SDK's TargetConditionals.h: the platform is the build target's
 * (a simulator build runs on a Mac but links the simulator's libraries). */
void zt_prim_platform(zt_prim_platform_t *out)
{
#if TARGET_OS_SIMULATOR
    out->os = ZT_PRIM_OS_IOS_SIMULATOR;
#elif TARGET_OS_MACCATALYST
    out->os = ZT_PRIM_OS_DARWIN_OTHER;
#elif TARGET_OS_IOS
    out->os = ZT_PRIM_OS_IOS;
#elif TARGET_OS_OSX
    out->os = ZT_PRIM_OS_MACOS;
#else
    out->os = ZT_PRIM_OS_DARWIN_OTHER;
#endif
    out->image_format = ZT_PRIM_IMAGE_MACHO;
#if defined(__arm64e__)
    out->arch = "arm64e"; /* atos -arch takes these names */
#elif defined(__aarch64__)
    out->arch = "arm64";
#elif defined(__x86_64__)
    out->arch = "x86_64";
#else
    out->arch = "unknown";
#endif
}

/* proc_pidpath asks the kernel for the executable's vnode path (absolute,
 * symlinks resolved); it wants a buffer of PROC_PIDPATHINFO_SIZE to
 * PROC_PIDPATHINFO_MAXSIZE bytes. iOS has only _NSGetExecutablePath, the
 * path dyld was given, absolute for anything launched by the system. */
bool zt_prim_exe_path(char *buf, size_t cap)
{
    if (cap == 0) return false;
    buf[0] = 0;
#if ZT_HAVE_PROC_PIDPATH
    char tmp[PROC_PIDPATHINFO_MAXSIZE];
    int n = proc_pidpath(getpid(), tmp, (uint32_t)sizeof tmp);
    if (n > 0 && (size_t)n < cap && tmp[0] == '/') {
        memcpy(buf, tmp, (size_t)n);
        buf[n] = 0;
        return true;
    }
#endif
    uint32_t size = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    if (_NSGetExecutablePath(buf, &size) == 0 && buf[0] == '/') return true;
    buf[0] = 0;
    return false;
}

#endif /* __APPLE__ */

void zt_prim_exit_now(int status)
{
    _exit(status);
}

int zt_prim_execve(const char *path, char *const argv[], char *const envp[])
{
    return execve(path, argv, envp);
}

int zt_prim_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    (void)dirfd, (void)path, (void)argv, (void)envp, (void)flags;
    errno = ENOSYS;
    return -1;
}
