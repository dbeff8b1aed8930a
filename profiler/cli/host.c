/* ----------------------------------------------------------------------------
 * host.c — the reading machine, for the CLI (host.h): its clock and its OS
 * family. The library asks zone/prim/ the same things; the CLI keeps its
 * own few calls here so it links no allocator or prim code
 * (tests/style/test_cli_independence.sh).
 * -------------------------------------------------------------------------- */
#include "host.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t zt_host_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool zt_host_darwin(void)
{
#ifdef __APPLE__
    return true;
#else
    return false;
#endif
}

int zt_host_signal_named(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } host[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
        {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
        {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
        {"PROF", SIGPROF}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
        {"SYS", SIGSYS},
    };
    for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++)
        if (strcmp(host[i].name, name) == 0) return host[i].sig;
    return 0;
}

/* ---- the tables' needs (host_tables.h) ------------------------------------- */

const char *zt_host_getenv(const char *name)
{
    return getenv(name);
}

int zt_host_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n < 0 ? 0 : (size_t)n >= cap && cap ? (int)cap - 1 : n; /* as zt_prim_snprintf */
}

void zt_host_vmessage(const char *fmt, va_list ap)
{
    fputs("zonetrace: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void zt_host_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_host_vmessage(fmt, ap);
    va_end(ap);
}

int zt_host_signal_number(const char *name)
{
    if (!name || !name[0]) return 0;
    if (name[0] >= '0' && name[0] <= '9') {
        char *end;
        long v = strtol(name, &end, 10);
        return *end == 0 && v > 0 && v < 65 ? (int)v : 0;
    }
    return zt_host_signal_named(strncmp(name, "SIG", 3) == 0 ? name + 3 : name);
}

size_t zt_host_page_bytes(void)
{
    long v = sysconf(_SC_PAGESIZE);
    return v > 0 ? (size_t)v : 4096;
}
