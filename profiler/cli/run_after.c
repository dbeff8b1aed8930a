/* ----------------------------------------------------------------------------
 * run_after.c — what `zonetrace run` says once the program has ended: every
 * record the run produced (children of the program write FILE.<pid>.zt,
 * an exec'd image FILE.exec.zt; hooks.c), as a process tree with one line
 * per process (found and arranged by report_tree.c, which `report` uses); and, when no record was
 * written, why (a static binary, which LD_PRELOAD cannot enter).
 * -------------------------------------------------------------------------- */
#include "cli.h"

#if defined(__linux__)
#include <elf.h>
#endif
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The run's records (report_tree.c finds and arranges them, as `zonetrace
 * report` shows them): every one but the program's own, its children one
 * level in. */
void zt_run_list_records(const char *record)
{
    zt_tree_t t;
    zt_tree_collect(&t, record, 0);
    unsigned more = 0;
    int root_pid = -1;
    for (unsigned i = 0; i < t.n; i++)
        if (strcmp(t.v[i].path, record) != 0)
            more++;
        else
            root_pid = t.v[i].pid;
    if (more) {
        fprintf(stderr, "zonetrace: %u more record%s from processes the program started:\n", more,
                more == 1 ? "" : "s");
        for (unsigned i = 0; i < t.n; i++) {
            const zt_tree_proc_t *p = &t.v[i];
            if (strcmp(p->path, record) == 0) continue;
            /* the program's (and its exec'd images') children first */
            int top = (int)i;
            while (t.v[top].parent >= 0)
                top = t.v[top].parent;
            unsigned d = p->depth && t.v[top].pid == root_pid ? p->depth - 1 : p->depth;
            if (d > 32) d = 32;
            if (p->err)
                fprintf(stderr, "  pid -1 ?: unreadable: %.140s  %s\n", p->err, p->path);
            else
                fprintf(stderr, "  %*spid %d %s: %s  %s\n", (int)(2 * d), "", p->pid,
                        p->exe ? p->exe : "?", p->ending, p->path);
        }
    }
    zt_tree_free(&t);
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
