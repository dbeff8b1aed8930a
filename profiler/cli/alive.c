/* ----------------------------------------------------------------------------
 * alive.c — is the process that wrote a record still there? A record that
 * says "running" and carries no wait status from `zonetrace run` cannot
 * answer that from its bytes: the runtime cannot see its own SIGKILL. So
 * the commands ask here, after the reader (a pure function of the file) has
 * built the model: the pid looked up on this host (/proc on Linux, kill(0)
 * elsewhere) and the heartbeat's age decide between killed and still
 * running.
 * -------------------------------------------------------------------------- */
#include "model.h"
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Slack when comparing a process's start time from /proc with the record's
 * wall clock: btime is whole seconds and the wall clock may have been
 * stepped since boot. */
#define PID_REUSE_SLACK_NS 2000000000ull

/* Wall time (Unix epoch, ns) when the process holding `pid` started, from
 * its /proc/<pid>/stat line (field 22, clock ticks after boot) and the
 * boot time in /proc/stat; false when unknown. */
static bool proc_start_wall_ns(const char *after_comm, uint64_t *out)
{
    /* after_comm points past "pid (comm)": " S ppid ..."; starttime is the
     * 20th field from the state. */
    const char *p = after_comm;
    for (unsigned field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p) return false;
    }
    unsigned long long ticks = strtoull(p, NULL, 10);
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return false;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (!btime || hz <= 0) return false;
    *out = btime * 1000000000ull + ticks * (1000000000ull / (unsigned long long)hz);
    return true;
}

/* Is the process that wrote a record still marked running actually there?
 * kill(pid, 0) alone says yes for a zombie (SIGKILLed but not yet reaped by
 * its parent) and for an unrelated process that got the pid later. So on
 * Linux /proc/<pid>/stat decides: state Z or X is dead, and a process that
 * started after the record's last sign of life (`last_seen_wall_ns`, the
 * heartbeat or the start) plus some slack holds a recycled pid. Best
 * effort: a pid reused within the slack is not caught, and without /proc
 * only kill() is asked. */
static bool writer_alive(int pid, uint64_t last_seen_wall_ns)
{
    if (pid <= 0) return false;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && access("/proc/self/stat", R_OK) == 0)
            return false; /* /proc works and has no such process */
        return kill(pid, 0) == 0 || errno != ESRCH;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false; /* gone between open and read */
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!rp || rp[1] != ' ' || !rp[2]) return kill(pid, 0) == 0 || errno != ESRCH;
    char state = rp[2];
    if (state == 'Z' || state == 'X' || state == 'x') return false;
    uint64_t started;
    if (last_seen_wall_ns && proc_start_wall_ns(rp + 1, &started) &&
        started > last_seen_wall_ns + PID_REUSE_SLACK_NS)
        return false;
    return true;
}

void zt_model_liveness(zt_model_t *m)
{
    if (!m->term.ask_alive) return;
    uint64_t last_seen =
        m->term.last_heartbeat_ns > m->start_wall_ns ? m->term.last_heartbeat_ns : m->start_wall_ns;
    /* A record from another OS: its pid means nothing here; only a fresh
     * heartbeat says the process may still run. */
    bool alive = m->foreign ? m->monitor_ms != 0 : writer_alive(m->pid, last_seen);
    uint64_t now = zt_host_wall_ns();
    uint64_t stale_ns = (uint64_t)m->monitor_ms * 50 * 1000000u;
    if (stale_ns < 5000000000ull) stale_ns = 5000000000ull;
    bool stale = m->monitor_ms && now > m->term.last_heartbeat_ns &&
                 now - m->term.last_heartbeat_ns > stale_ns;
    m->term.killed = !alive || stale;
    m->term.still_running = !m->term.killed;
}

bool zt_model_load(const char *path, zt_model_t *m, char *err, size_t errcap)
{
    if (!zt_model_read(path, m, err, errcap)) return false;
    zt_model_liveness(m);
    return true;
}
