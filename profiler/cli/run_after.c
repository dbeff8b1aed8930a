/* ----------------------------------------------------------------------------
 * run_after.c — what `zonetrace run` says once the program has ended: every
 * record the run produced (children of the program write FILE.<pid>.zt,
 * an exec'd image FILE.exec.zt; hooks.c), as a process tree with one line
 * per process; and, when no record was written, why (a static binary,
 * which LD_PRELOAD cannot enter).
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include <dirent.h>
#if defined(__linux__)
#include <elf.h>
#endif
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct proc_rec {
    char *path;
    int pid, ppid;
    char *exe;
    char ending[160];
    bool shown;
} proc_rec_t;

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const proc_rec_t *)a)->path, ((const proc_rec_t *)b)->path);
}

static void print_tree(proc_rec_t *v, unsigned n, int parent, unsigned depth)
{
    for (unsigned i = 0; i < n; i++) {
        if (v[i].shown || v[i].ppid != parent) continue;
        v[i].shown = true;
        fprintf(stderr, "  %*spid %d %s: %s  %s\n", (int)(2 * depth), "", v[i].pid,
                v[i].exe ? v[i].exe : "?", v[i].ending, v[i].path);
        if (depth < 32) print_tree(v, n, v[i].pid, depth + 1);
    }
}

void zt_run_list_records(const char *record, int root_pid)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", record);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : record;
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    proc_rec_t *v = NULL;
    unsigned n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        /* FILE.<pid>.zt, FILE.exec.zt and what those spawn in turn */
        if (len <= blen + 4 || strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '.' ||
            strcmp(e->d_name + len - 3, ".zt") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            proc_rec_t *nv = realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        proc_rec_t *p = &v[n];
        memset(p, 0, sizeof *p);
        size_t plen = strlen(dir) + len + 2;
        p->path = malloc(plen);
        if (!p->path) break;
        snprintf(p->path, plen, "%s/%s", dir, e->d_name);
        zt_model_t m;
        char err[512];
        memset(&m, 0, sizeof m);
        if (zt_model_read(p->path, &m, err, sizeof err)) {
            p->pid = m.pid;
            p->ppid = m.ppid;
            p->exe = m.exe ? strdup(m.exe) : NULL;
            zt_report_ending(&m, p->ending, sizeof p->ending);
            zt_model_free(&m);
        } else {
            p->pid = p->ppid = -1;
            snprintf(p->ending, sizeof p->ending, "unreadable: %.140s", err);
        }
        n++;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, cmp_path); /* an exec'd image right after its process */
    if (n) {
        fprintf(stderr, "zonetrace: %u more record%s from processes the program started:\n", n,
                n == 1 ? "" : "s");
        print_tree(v, n, root_pid, 0);
        for (unsigned i = 0; i < n; i++) /* exec'd images and orphans: flat */
            if (!v[i].shown) {
                v[i].shown = true;
                fprintf(stderr, "  pid %d %s: %s  %s\n", v[i].pid, v[i].exe ? v[i].exe : "?",
                        v[i].ending, v[i].path);
            }
    }
    for (unsigned i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].exe);
    }
    free(v);
}

/* cmd as execvp would find it. */
static bool resolve(const char *cmd, char *buf, size_t cap)
{
    if (strchr(cmd, '/')) return (size_t)snprintf(buf, cap, "%s", cmd) < cap;
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        if ((size_t)snprintf(buf, cap, "%.*s/%s", (int)dlen, dlen ? p : ".", cmd) < cap &&
            access(buf, X_OK) == 0)
            return true;
        if (!colon) return false;
        p = colon + 1;
    }
}

/* An ELF executable with no PT_INTERP is static: no dynamic loader runs,
 * so nothing is preloaded. -1 = not ELF or unreadable. */
static int is_static_elf(const char *path)
{
#if !defined(__linux__)
    (void)path;
    return -1; /* Mach-O: every program is dynamic (dyld); DYLD_* is stripped by SIP instead */
#else
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    Elf64_Ehdr eh;
    int r = -1;
    if (read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_phentsize == sizeof(Elf64_Phdr)) {
        r = 1;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) !=
                (ssize_t)sizeof ph) {
                r = -1;
                break;
            }
            if (ph.p_type == PT_INTERP) r = 0;
        }
    }
    close(fd);
    return r;
#endif
}

void zt_run_explain_no_record(char **cmd, const char *record)
{
    char path[PATH_MAX];
    if (resolve(cmd[0], path, sizeof path) && is_static_elf(path) == 1) {
        zt_cli_error("no record was written to %s: %s is statically linked, and LD_PRELOAD "
                     "cannot enter a static binary (link it dynamically, or link libzonetrace.a "
                     "into it and set ZONETRACE_STACKS)",
                     record, path);
        return;
    }
    zt_cli_error("no record was written to %s: the program allocated nothing through "
                 "zonetrace, or removed LD_PRELOAD before it ran (a setuid program drops it)",
                 record);
}
