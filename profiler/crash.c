/* ----------------------------------------------------------------------------
 * crash.c — how a run ends, written into the record before the process is
 * gone: exit (on_exit: the exit status), or a fatal signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT: signal, si_code, fault address and the faulting
 * thread's stack, interned without allocating). Both refresh the snapshot
 * and msync the file; a crash's zone walk is done by the monitor thread
 * with a bounded wait, so a lock held by the crashed thread cannot hang
 * the handler. SIGTERM, SIGHUP and SIGQUIT are caught the same way while
 * the program leaves them at SIG_DFL. _exit/_Exit and exec (execve and the
 * exec* family, Linux) are interposed and recorded without allocating.
 * SIGKILL cannot be caught: the record then still says
 * "running" and the reader reports "killed" once the pid is gone, except
 * for zonetrace's own jetsam kill, recorded before it is sent.
 * -------------------------------------------------------------------------- */
#include "hooks.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

extern int zt_rec_forked;

static int ended; /* first ending wins (exit from a crash handler, ...) */

#define CRASH_WALK_WAIT_NS (500u * 1000000u)

/* The record is this process's own: not a fork child's before it reopened,
 * nor a vfork child's (it shares our memory, so it must not write). Used by
 * the _exit and exec interposers, which are Linux-only. */
static __attribute__((unused)) bool own_record(void)
{
    return zt_rec_open && !__atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE) &&
           zt_rec.hdr->pid == zt_prim_pid();
}

static void set_how(uint32_t how)
{
    __atomic_store_n(&zt_rec.hdr->end_how, how, __ATOMIC_RELEASE);
}

static void end_event(int32_t kind, uint64_t value)
{
    zt_rec_event_t ev = {.time_ns = zt_record_now_ns(),
                         .type = ZT_EV_PROCESS_END,
                         .kind = kind,
                         .zone = -1,
                         .value = value};
    zt_record_event(&ev);
}

/* A second fatal signal on another thread (timeout signals the process
 * group and zonetrace run forwards it too: two SIGTERMs) must not end the
 * process while the first handler is still writing the ending: wait for
 * it, at most 1 s longer than a crash walk may take. */
static int ending_tid;

static void wait_for_ending(void)
{
    if (__atomic_load_n(&ending_tid, __ATOMIC_ACQUIRE) == zt_prim_tid()) return;
    for (unsigned i = 0; i < 1500; i++) {
        if (__atomic_load_n(&zt_rec.hdr->term.state, __ATOMIC_ACQUIRE) != ZT_REC_RUNNING) return;
        zt_prim_sleep_ns(1000000u);
    }
}

static void on_fault(const zt_prim_fault_t *f)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) {
        wait_for_ending();
        return;
    }
    __atomic_store_n(&ending_tid, zt_prim_tid(), __ATOMIC_RELEASE);
    uint64_t pcs[ZT_REC_MAX_FRAMES];
    unsigned depth = zt_rec.hdr->depth ? zt_rec.hdr->depth : ZT_OPT_DEPTH_DEFAULT;
    unsigned n = zt_capture_fault(f, pcs, depth);
    /* A fault inside the allocator may hold a zone lock: no walk then. */
    bool in_allocator = zt_capture_pc_is_own(f->pc);
    for (unsigned i = 0; i < n && !in_allocator; i++)
        in_allocator = zt_capture_pc_is_own((uintptr_t)pcs[i]);
    uint32_t id = n ? zt_stacktab_intern(pcs, n, false) : 0;
    zt_rec_term_t t = {ZT_REC_SIGNALED, 0, f->signal, f->si_code, f->addr, id, zt_prim_tid(), 0};
    set_how(ZT_REC_END_SIGNAL);
    end_event(ZT_REC_SIGNALED, (uint64_t)f->signal);
    /* The zone walk takes allocator locks, one of which this thread may
     * hold (a fault inside the allocator, or in code it called). Let the
     * monitor walk, for at most CRASH_WALK_WAIT_NS; without a monitor, walk
     * here only when no frame is in the allocator. Then the header-only
     * refresh (no locks, skipped if a snapshot is stuck). */
    bool walked = zt_monitor_crash_snapshot(CRASH_WALK_WAIT_NS);
    zt_snapshot(walked || in_allocator ? 0 : ZT_SNAP_WALK);
    zt_record_terminate(&t);
}

void zt_crash_exit(int status)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    zt_rec_term_t t = {ZT_REC_EXITED, status, 0, 0, 0, 0, zt_prim_tid(), 0};
    set_how(ZT_REC_END_EXIT);
    end_event(ZT_REC_EXITED, (uint64_t)(uint32_t)status);
    zt_snapshot_wait(ZT_SNAP_WALK | ZT_SNAP_MODULES, 2000000000u);
    zt_monitor_tick(); /* a last timeline sample */
    zt_record_terminate(&t);
}

/* Jetsam's kill (jetsam.c, on the monitor thread, which holds no allocator
 * lock, so it walks the zones itself): the record as a SIGKILL with the
 * footprint that passed the limit, the heap snapshot of this moment, then
 * the SIGKILL itself, which no handler sees. */
void zt_crash_jetsam(uint64_t footprint_bytes, uint64_t limit_bytes)
{
    if (!zt_rec_open || __atomic_load_n(&zt_rec_forked, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    zt_rec.hdr->jetsam_footprint_bytes = footprint_bytes;
    zt_rec.hdr->jetsam_limit_bytes = limit_bytes;
    zt_rec_term_t t = {ZT_REC_SIGNALED, 0, 9 /* SIGKILL */, 0, 0, 0, zt_prim_tid(), 0};
    set_how(ZT_REC_END_JETSAM);
    end_event(ZT_REC_SIGNALED, 9);
    zt_snapshot(ZT_SNAP_WALK | ZT_SNAP_MODULES);
    zt_monitor_tick(); /* a last timeline sample */
    zt_record_terminate(&t);
    zt_prim_signal_self(9);
    for (;;)
        zt_prim_sleep_ns(1000000000u); /* SIGKILL is on its way */
}

#if defined(__linux__)
/* _exit / _Exit: async-signal-safe, so no zone walk (it takes locks) and
 * no allocation: the header-only refresh, the ending, msync. Linux only:
 * on Darwin an exported _exit would not interpose (two-level namespace). */
static void crash__exit(int status)
{
    if (!own_record()) return;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return;
    zt_rec_term_t t = {ZT_REC_EXITED, status & 0xff, 0, 0, 0, 0, zt_prim_tid(), 0};
    set_how(ZT_REC_END__EXIT);
    end_event(ZT_REC_EXITED, (uint64_t)(uint32_t)(status & 0xff));
    zt_snapshot(0);
    zt_record_terminate(&t);
}

ZT_EXPORT void _exit(int status)
{
    crash__exit(status);
    zt_prim_exit_now(status);
}

ZT_EXPORT void _Exit(int status)
{
    crash__exit(status);
    zt_prim_exit_now(status);
}

/* exec: the record says EXECED before the image goes; if exec fails it
 * says running again. The new image, if it is profiled too, writes its
 * own record (hooks.c: a record of ours that says EXECED is not reused). */
static bool exec_begin(void)
{
    if (!own_record()) return false;
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL)) return false;
    zt_rec_term_t t = {ZT_REC_EXECED, 0, 0, 0, 0, 0, zt_prim_tid(), 0};
    set_how(ZT_REC_END_EXEC);
    end_event(ZT_REC_EXECED, 0);
    zt_snapshot(0);
    zt_record_terminate(&t);
    return true;
}

static void exec_failed(bool began)
{
    if (!began) return;
    int saved = errno;
    set_how(ZT_REC_END_UNKNOWN);
    zt_rec.hdr->term.end_wall_ns = 0;
    __atomic_store_n(&zt_rec.hdr->term.state, ZT_REC_RUNNING, __ATOMIC_RELEASE);
    __atomic_store_n(&ended, 0, __ATOMIC_RELEASE);
    errno = saved;
}

ZT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    bool began = exec_begin();
    int r = zt_prim_execve(path, argv, envp);
    exec_failed(began);
    return r;
}

/* execveat and fexecve reach the kernel from inside glibc, past the
 * interposed execve, so they are noted here too. fexecve as glibc's
 * (posix/fexecve.c): execveat(fd, "", AT_EMPTY_PATH), then the
 * /proc/self/fd path on kernels without execveat. */
ZT_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    bool began = exec_begin();
    int r = zt_prim_execveat(dirfd, path, argv, envp, flags);
    exec_failed(began);
    return r;
}

ZT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    if (fd < 0 || !argv || !envp) {
        errno = EINVAL;
        return -1;
    }
    bool began = exec_begin();
    zt_prim_execveat(fd, "", argv, envp, AT_EMPTY_PATH);
    if (errno == ENOSYS) {
        char proc[32] = "/proc/self/fd/", digits[12];
        unsigned n = 0, at = 14;
        for (unsigned v = (unsigned)fd; n == 0 || v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        while (n)
            proc[at++] = digits[--n];
        proc[at] = 0;
        zt_prim_execve(proc, argv, envp);
        if (errno == ENOENT) errno = EBADF; /* no /proc: glibc says EBADF too */
    }
    exec_failed(began);
    return -1;
}

ZT_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, zt_prim_environ());
}

/* execve, and for a file without "#!" that the kernel will not run
 * (ENOEXEC), /bin/sh FILE ARGS..., as glibc's execvpe does. */
static void exec_or_script(const char *path, char *const argv[], char *const envp[])
{
    zt_prim_execve(path, argv, envp);
    if (errno != ENOEXEC) return;
    unsigned argc = 0;
    while (argv[argc] && argc < 1024)
        argc++;
    if (argv[argc]) return;
    char *sh_argv[1024 + 2];
    sh_argv[0] = (char *)"/bin/sh";
    sh_argv[1] = (char *)path;
    for (unsigned i = 1; i <= argc; i++)
        sh_argv[i + 1] = argv[i]; /* argv[argc] is the NULL */
    if (argc == 0) sh_argv[2] = NULL;
    zt_prim_execve("/bin/sh", sh_argv, envp);
    errno = ENOEXEC;
}

/* PATH search as glibc's execvpe does. */
ZT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    if (!file || !*file) {
        errno = ENOENT;
        return -1;
    }
    if (strchr(file, '/')) {
        bool began = exec_begin();
        exec_or_script(file, argv, envp);
        exec_failed(began);
        return -1;
    }
    const char *path = NULL;
    for (char **e = zt_prim_environ(); e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    if (!path) path = "/bin:/usr/bin";
    bool began = exec_begin(), eacces = false;
    size_t flen = strlen(file);
    for (const char *p = path;; p++) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        char full[4096];
        if (dlen + 1 + flen + 1 <= sizeof full) {
            size_t n = 0;
            if (dlen == 0) full[n++] = '.';
            memcpy(full + n, p, dlen);
            n += dlen;
            full[n++] = '/';
            memcpy(full + n, file, flen + 1);
            exec_or_script(full, argv, envp);
            if (errno == EACCES)
                eacces = true;
            else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
                     errno != ETIMEDOUT && errno != ELOOP && errno != ENAMETOOLONG)
                break;
        }
        if (!colon) {
            if (eacces) errno = EACCES;
            break;
        }
        p = colon;
    }
    exec_failed(began);
    return -1;
}

ZT_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, zt_prim_environ());
}

/* execl*: the arguments into an array on the stack. */
#define EXEC_MAX_ARGS 4096
#define COLLECT_ARGS(arg0, ap, argv, argc)                                                         \
    do {                                                                                           \
        argv[0] = (char *)(arg0);                                                                  \
        argc = 1;                                                                                  \
        while (argv[argc - 1] && argc < EXEC_MAX_ARGS)                                             \
            argv[argc++] = va_arg(ap, char *);                                                     \
        if (argv[argc - 1]) {                                                                      \
            va_end(ap);                                                                            \
            errno = E2BIG;                                                                         \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

ZT_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *argv[EXEC_MAX_ARGS];
    unsigned argc;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv, argc);
    va_end(ap);
    return execve(path, argv, zt_prim_environ());
}

ZT_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *argv[EXEC_MAX_ARGS];
    unsigned argc;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv, argc);
    va_end(ap);
    return execvp(file, argv);
}

ZT_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *argv[EXEC_MAX_ARGS];
    unsigned argc;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(arg, ap, argv, argc);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}
#endif

static void on_exit_cb(int status, void *arg)
{
    zt_crash_exit(status);
}

void zt_crash_install(void)
{
    static int installed;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL)) return;
    zt_prim_fatal_handlers(on_fault);
    zt_prim_on_exit(on_exit_cb, NULL);
}
