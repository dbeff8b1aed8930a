/* ----------------------------------------------------------------------------
 * prim/posix.c — the parts of the OS contract (prim.h) that are the same
 * POSIX calls on Linux and Darwin; linux.c and darwin.c hold the rest.
 * Raw, async-signal-safe calls only: no malloc, no stdio.
 * -------------------------------------------------------------------------- */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "prim.h"
#include "../str.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* mincore's vector is `unsigned char *` on Linux and `char *` on Darwin;
 * bit 0 is "resident" on both (Darwin: MINCORE_INCORE). A 512-byte vector
 * on the stack covers 2 MiB of 4 KiB pages per call. */
size_t zt_prim_resident(const void *addr, size_t bytes, void (*run)(void *ctx, void *a, size_t n),
                        void *ctx)
{
    size_t page = zt_prim_page_bytes(), total = 0;
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(page - 1);
    uintptr_t end = (uintptr_t)addr + bytes;
    uintptr_t run_lo = 0, run_hi = 0;
    while (a < end) {
        unsigned char vec[512];
        size_t n = (end - a + page - 1) / page;
        if (n > sizeof vec) n = sizeof vec;
        if (mincore((void *)a, n * page, (void *)vec) != 0) {
            /* unmapped or not ours: count nothing for this chunk */
            a += n * page;
            continue;
        }
        for (size_t i = 0; i < n; i++, a += page) {
            if (!(vec[i] & 1)) continue;
            total += page;
            if (run && a == run_hi) {
                run_hi += page;
                continue;
            }
            if (run && run_hi > run_lo) run(ctx, (void *)run_lo, run_hi - run_lo);
            run_lo = a;
            run_hi = a + page;
        }
    }
    if (run && run_hi > run_lo) run(ctx, (void *)run_lo, run_hi - run_lo);
    return total;
}

int zt_prim_protect(void *addr, size_t bytes, int prot)
{
    int p = (prot & ZT_PROT_READ ? PROT_READ : 0) | (prot & ZT_PROT_WRITE ? PROT_WRITE : 0);
    return mprotect(addr, bytes, p) == 0 ? 0 : errno;
}

int zt_prim_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child);
}

int zt_prim_thread_key_create(zt_thread_key_t *key, void (*on_exit)(void *value))
{
    pthread_key_t k;
    int err = pthread_key_create(&k, on_exit);
    if (err == 0) *key = (zt_thread_key_t)k;
    return err;
}

int zt_prim_thread_key_set(zt_thread_key_t key, void *value)
{
    return pthread_setspecific((pthread_key_t)key, value);
}

void zt_prim_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

void zt_prim_abort(void)
{
    /* Unblock and restore SIGABRT so abort cannot be swallowed. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGABRT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGABRT);
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
    _exit(134);
}

void zt_prim_exit(int code)
{
    _exit(code);
}

int zt_prim_file_create(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

int zt_prim_sync(void *addr, size_t bytes, bool wait)
{
    return msync(addr, bytes, wait ? MS_SYNC : MS_ASYNC) == 0 ? 0 : errno;
}

void zt_prim_close(int fd)
{
    if (fd >= 0) close(fd);
}

void zt_prim_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void *zt_prim_thread_self(void)
{
    return (void *)(uintptr_t)pthread_self();
}

bool zt_prim_pid_alive(int pid)
{
    if (pid <= 0) return false;
    return kill(pid, 0) == 0 || errno != ESRCH;
}

int zt_prim_signal_number(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        {"HUP", SIGHUP},     {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"TSTP", SIGTSTP}, {"URG", SIGURG},
        {"WINCH", SIGWINCH}, {"KILL", SIGKILL}, {"ABRT", SIGABRT},
    };
    if (!name || !name[0]) return 0;
    if (name[0] >= '0' && name[0] <= '9') {
        int v = 0;
        for (; *name >= '0' && *name <= '9' && v < 1000; name++)
            v = v * 10 + (*name - '0');
        return *name == 0 && v > 0 && v < 65 ? v : 0;
    }
    if (zt_str_ncmp(name, "SIG", 3) == 0) name += 3;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (zt_str_cmp(name, names[i].name) == 0) return names[i].sig;
    return 0;
}

int zt_prim_signal_self(int sig)
{
    return kill(getpid(), sig) == 0 ? 0 : errno;
}

bool zt_prim_isatty(int fd)
{
    int saved = errno; /* isatty sets ENOTTY, which a caller's errno must not see */
    bool tty = isatty(fd) == 1;
    errno = saved;
    return tty;
}

extern char **environ;

char **zt_prim_environ(void)
{
    return environ;
}

void *zt_prim_library_symbol(const char *library, const char *symbol)
{
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    return lib ? dlsym(lib, symbol) : NULL;
}
