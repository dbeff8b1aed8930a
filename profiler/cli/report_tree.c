/* ----------------------------------------------------------------------------
 * report_tree.c — several records read together: the processes of one run
 * as a tree, one summary line each, then the usual report of one of them.
 *
 * Which records belong to a run (hooks.c names them): the program's own is
 * FILE; a fork child writes FILE.<pid>.zt (a grandchild too: the base name
 * is inherited), an image that exec replaced keeps its record and the new
 * image writes <its record>.exec.zt. So the records of a run are FILE and
 * every FILE.*.zt next to it (zt_tree_collect). A record that started
 * before FILE's process is left from an earlier run with the same -o (run
 * removes only FILE itself) and is not this run's.
 *
 * Parent links come from the records' pid and ppid: a record's parent is
 * the image of its ppid that was running when it started (the latest one
 * that started no later: a fork child's header keeps its parent's start
 * time). Siblings go by pid, then start, so an exec'd image follows the
 * image it replaced. `zonetrace run` prints the same tree (run_after.c).
 *
 * The report shown in full is the process whose trouble came first — the
 * earliest first allocation failure, or end by a signal or a kill — else
 * the first root's last image (the program itself, after any exec: env or a
 * shim script that execs the real program is not it); --pid N picks the
 * last image of N.
 * The trouble is what a run of many processes is profiled for: a wrapper
 * (sh, python's launcher) is rarely the one that fails. With no trouble, the
 * line under the tree names the process with the largest peak heap when it
 * is not the one shown (gcc's cc1).
 *
 * The formats: text puts the tree table before the report; JSON adds a
 * "processes" array (and "unreadable") to the report object; HTML adds the
 * table under the summary; folded merges every process's stacks, each line
 * prefixed by "command;pid N;". A damaged record is one error line naming
 * it; the others are still reported and the exit status is non-zero.
 * -------------------------------------------------------------------------- */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- finding and reading ------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **zt_tree_find(const char *record, unsigned *count)
{
    *count = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", record);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? record + (slash - dir) + 1 : record;
    if (slash)
        slash[slash == dir ? 1 : 0] = 0; /* "/r.zt" is in "/" */
    else
        dir[0] = 0; /* the paths as bare names, like `record` */
    size_t blen = strlen(base);
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) return NULL;
    char **v = NULL;
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
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        size_t plen = strlen(dir) + len + 2;
        if (!(v[n] = malloc(plen))) break;
        snprintf(v[n], plen, "%s%s%s", dir, !dir[0] || dir[strlen(dir) - 1] == '/' ? "" : "/",
                 e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *count = n;
    return v;
}

void zt_tree_free_paths(char **paths, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
}

/* "NULL for 1.0 GiB (large) at 0.002 s": the failure the report explains
 * (zt_report_cause), else the first failure's event. */
static void first_failure(const zt_model_t *m, char *buf, size_t cap)
{
    const zt_m_moment_t *ff = &m->moments[0]; /* ZT_REC_MOMENT_FIRST_FAILURE */
    const zt_m_event_t *nul, *map;
    char b1[32], b2[32];
    buf[0] = 0;
    if (zt_report_cause(m, &nul, &map) && nul)
        snprintf(buf, cap, "NULL for %s (%s) at %s", zt_fmt_bytes(nul->size, b1),
                 nul->cls < ZT_CLASS_COUNT ? zt_class_name(nul->cls)
                                           : zt_report_kind_name(nul->kind),
                 zt_fmt_secs(nul->time_ns, b2));
    else if (ff->present && ff->has_event)
        snprintf(buf, cap, "%s at %s", zt_event_name(ff->event.type), zt_fmt_secs(ff->time_ns, b2));
    else if (ff->present || m->failures)
        snprintf(buf, cap, "%llu allocation failure%s", (unsigned long long)m->failures,
                 m->failures == 1 ? "" : "s");
}

/* Read one record's summary; false (p->err set) when it cannot be read. */
static bool summarize(zt_tree_proc_t *p, const char *path)
{
    memset(p, 0, sizeof *p);
    p->path = dup_str(path);
    p->pid = p->ppid = -1;
    p->parent = -1;
    char err[1024];
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
        p->err = dup_str(err);
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, sizeof err, "%s: is a directory, not a record file", path);
        p->err = dup_str(err);
        return false;
    }
    zt_model_t m;
    memset(&m, 0, sizeof m);
    if (!zt_model_load(path, &m, err, sizeof err)) {
        for (char *c = err; *c; c++)
            if (*c == '\n') *c = ' ';
        p->err = dup_str(err[0] ? err : "cannot read the record");
        return false;
    }
    p->pid = m.pid;
    p->ppid = m.ppid;
    p->exe = dup_str(m.exe);
    /* the short name: argv[0]'s last part (what the user typed), else the
     * executable's; the command is that name and the arguments (the full
     * path is exe) */
    const char *name = m.argc && m.argv[0] && m.argv[0][0] ? m.argv[0] : m.exe ? m.exe : "?";
    const char *sl = strrchr(name, '/');
    p->name = dup_str(sl && sl[1] ? sl + 1 : name);
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", p->name ? p->name : "?");
    if (m.argc > 1 && n + 1 < sizeof line) {
        line[n++] = ' ';
        zt_report_command(&m, 1, line + n, sizeof line - n);
    }
    p->command = dup_str(line);
    zt_report_ending(&m, p->ending, sizeof p->ending);
    first_failure(&m, p->first_failure, sizeof p->first_failure);
    p->start_wall_ns = m.start_wall_ns;
    p->peak_live_bytes = m.heap.peak_bytes;
    p->peak_va_bytes = m.va_peak_bytes;
    const zt_m_termination_t *t = &m.term;
    bool crashed = t->state == ZT_TERM_SIGNALED || t->killed;
    if (m.moments[0].present) {
        p->trouble = true;
        p->trouble_wall_ns = m.start_wall_ns + m.moments[0].time_ns;
    } else if (crashed) {
        p->trouble = true;
        p->trouble_wall_ns = t->end_wall_ns         ? t->end_wall_ns
                             : t->last_heartbeat_ns ? t->last_heartbeat_ns
                                                    : m.start_wall_ns + m.duration_ns;
    }
    zt_model_free(&m);
    return true;
}

void zt_tree_add(zt_tree_t *t, const char *path)
{
    if (t->n == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 8;
        zt_tree_proc_t *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv) return;
        t->v = nv;
        t->cap = cap;
    }
    summarize(&t->v[t->n++], path);
}

/* ---- arranging ------------------------------------------------------------ */

/* Siblings by pid, then start (an exec'd image after the one it replaced),
 * then path; unreadable records after every readable one. */
static int cmp_proc(const zt_tree_proc_t *a, const zt_tree_proc_t *b)
{
    if (!a->err != !b->err) return a->err ? 1 : -1;
    if (a->pid != b->pid) return a->pid < b->pid ? -1 : 1;
    if (a->start_wall_ns != b->start_wall_ns) return a->start_wall_ns < b->start_wall_ns ? -1 : 1;
    return strcmp(a->path, b->path);
}

static int cmp_proc_q(const void *a, const void *b)
{
    return cmp_proc(a, b);
}

static void place(zt_tree_t *t, const zt_tree_proc_t *src, unsigned i, unsigned depth,
                  zt_tree_proc_t *dst, unsigned *k, bool *done, int *newidx)
{
    done[i] = true;
    newidx[i] = (int)*k;
    dst[*k] = src[i];
    dst[*k].depth = depth;
    (*k)++;
    for (unsigned j = 0; j < t->n; j++) /* src is sorted: children in sibling order */
        if (!done[j] && src[j].parent == (int)i) place(t, src, j, depth + 1, dst, k, done, newidx);
}

void zt_tree_arrange(zt_tree_t *t, int pid)
{
    unsigned n = t->n;
    if (!n) return;
    qsort(t->v, n, sizeof *t->v, cmp_proc_q);
    zt_tree_proc_t *src = t->v;
    for (unsigned i = 0; i < n; i++) {
        src[i].parent = -1;
        if (src[i].err) continue;
        for (unsigned j = 0; j < n; j++) {
            if (j == i || src[j].err || src[j].pid != src[i].ppid) continue;
            if (src[j].start_wall_ns > src[i].start_wall_ns) continue;
            if (src[i].parent < 0 || src[j].start_wall_ns >= src[src[i].parent].start_wall_ns)
                src[i].parent = (int)j;
        }
    }
    zt_tree_proc_t *dst = calloc(n, sizeof *dst);
    bool *done = calloc(n, sizeof *done);
    int *newidx = calloc(n, sizeof *newidx);
    if (!dst || !done || !newidx) {
        free(dst);
        free(done);
        free(newidx);
        return; /* left sorted, flat */
    }
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) /* roots: no parent among the records */
        if (!done[i] && src[i].parent < 0) place(t, src, i, 0, dst, &k, done, newidx);
    for (unsigned i = 0; i < n; i++) /* a loop of parents (pids reused): flat */
        if (!done[i]) place(t, src, i, 0, dst, &k, done, newidx);
    for (unsigned i = 0; i < n; i++)
        if (dst[i].parent >= 0) dst[i].parent = newidx[dst[i].parent];
    free(t->v);
    t->v = dst;
    t->cap = n;
    free(done);
    free(newidx);

    /* the one reported in full */
    t->chosen = -1;
    if (pid > 0) {
        for (unsigned i = 0; i < n; i++)
            if (!t->v[i].err && t->v[i].pid == pid &&
                (t->chosen < 0 || t->v[i].start_wall_ns >= t->v[t->chosen].start_wall_ns))
                t->chosen = (int)i;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        if (!t->v[i].err && t->v[i].trouble &&
            (t->chosen < 0 || t->v[i].trouble_wall_ns < t->v[t->chosen].trouble_wall_ns))
            t->chosen = (int)i;
    if (t->chosen >= 0) {
        t->chosen_why = "the first process that failed an allocation or was killed";
        return;
    }
    for (unsigned i = 0; i < n && t->chosen < 0; i++)
        if (!t->v[i].err) t->chosen = (int)i;
    t->chosen_why = "the first process (no process failed an allocation or was killed)";
    /* A root that ran exec became the program the user meant: `run --
     * python3` goes through env and pyenv's bash shims before python3 runs
     * in the same pid, so its last image is the one to show, not env. */
    int root = t->chosen, last = root;
    for (unsigned i = 0; root >= 0 && i < n; i++)
        if (!t->v[i].err && t->v[i].depth == 0 && t->v[i].pid == t->v[root].pid &&
            t->v[i].start_wall_ns >= t->v[last].start_wall_ns)
            last = (int)i;
    if (last != root) {
        t->chosen = last;
        t->chosen_why = "the program, the last image of the first process after exec "
                        "(no process failed an allocation or was killed)";
    }
}

void zt_tree_free(zt_tree_t *t)
{
    for (unsigned i = 0; i < t->n; i++) {
        zt_tree_proc_t *p = &t->v[i];
        free(p->path);
        free(p->err);
        free(p->exe);
        free(p->command);
        free(p->name);
    }
    free(t->v);
    memset(t, 0, sizeof *t);
}

void zt_tree_collect(zt_tree_t *t, const char *record, int pid)
{
    memset(t, 0, sizeof *t);
    zt_tree_add(t, record);
    unsigned n;
    char **paths = zt_tree_find(record, &n);
    for (unsigned i = 0; i < n; i++) {
        zt_tree_add(t, paths[i]);
        zt_tree_proc_t *p = &t->v[t->n - 1];
        /* started before the run's program: an earlier run's (same -o) */
        if (!t->v[0].err && !p->err && p->start_wall_ns < t->v[0].start_wall_ns) {
            t->older++;
            free(p->path);
            free(p->exe);
            free(p->command);
            free(p->name);
            t->n--;
        }
    }
    zt_tree_free_paths(paths, n);
    zt_tree_arrange(t, pid);
}

/* ---- the views ------------------------------------------------------------ */

static unsigned command_width(const zt_tree_t *t)
{
    unsigned w = 7;
    for (unsigned i = 0; i < t->n; i++)
        if (!t->v[i].err && t->v[i].command && strlen(t->v[i].command) > w)
            w = (unsigned)strlen(t->v[i].command);
    return w > 32 ? 32 : w;
}

static void tree_text(FILE *out, const zt_tree_t *t)
{
    unsigned readable = 0, maxdepth = 0;
    for (unsigned i = 0; i < t->n; i++)
        if (!t->v[i].err) {
            readable++;
            if (t->v[i].depth > maxdepth) maxdepth = t->v[i].depth;
        }
    if (maxdepth > 16) maxdepth = 16;
    int pw = 8 + 2 * (int)maxdepth, cw = (int)command_width(t);
    fprintf(out, "processes: %u record%s as a process tree (* is reported in full below)\n",
            readable, readable == 1 ? "" : "s");
    fprintf(out, "  %-*s %10s %10s  %-*s  %s\n", pw, "pid", "peak heap", "peak VA", cw, "command",
            "ended; first failure");
    char b1[32], b2[32], pidcol[64];
    for (unsigned i = 0; i < t->n; i++) {
        const zt_tree_proc_t *p = &t->v[i];
        if (p->err) continue;
        unsigned d = p->depth > 16 ? 16 : p->depth;
        snprintf(pidcol, sizeof pidcol, "%*s%d", (int)(2 * d), "", p->pid);
        const char *cmd = p->command ? p->command : "?";
        int clen = (int)strlen(cmd);
        fprintf(out, "%c %-*s %10s %10s  %-*.*s%s  %s%s%s\n", (int)i == t->chosen ? '*' : ' ', pw,
                pidcol, zt_fmt_bytes(p->peak_live_bytes, b1), zt_fmt_bytes(p->peak_va_bytes, b2),
                clen > cw ? cw - 3 : cw, clen > cw ? cw - 3 : clen, cmd, clen > cw ? "..." : "",
                p->ending, p->first_failure[0] ? "; first failure: " : "", p->first_failure);
    }
    for (unsigned i = 0; i < t->n; i++)
        if (t->v[i].err) fprintf(out, "  unreadable: %s\n", t->v[i].err);
    if (t->older)
        fprintf(out, "  (%u older record%s next to it, from an earlier run, left out)\n", t->older,
                t->older == 1 ? "" : "s");
    if (t->chosen >= 0) {
        const zt_tree_proc_t *c = &t->v[t->chosen];
        /* The driver is often not where the memory went (gcc and its cc1):
         * name the process with the largest peak heap when it is another. */
        int big = t->chosen;
        for (unsigned i = 0; i < t->n; i++)
            if (!t->v[i].err && t->v[i].peak_live_bytes > t->v[big].peak_live_bytes) big = (int)i;
        fprintf(out, "reported below: pid %d (%s), %s\n", c->pid, c->name ? c->name : "?",
                t->chosen_why ? t->chosen_why : "chosen by --pid");
        if (big != t->chosen && t->chosen_why && !c->trouble)
            fprintf(out,
                    "                the largest peak heap is pid %d (%s, %s): zonetrace report "
                    "--pid %d\n\n",
                    t->v[big].pid, t->v[big].name ? t->v[big].name : "?",
                    zt_fmt_bytes(t->v[big].peak_live_bytes, b1), t->v[big].pid);
        else
            fputs("                another: zonetrace report --pid PID\n\n", out);
    }
}

static void tree_json(FILE *out, const zt_tree_t *t)
{
    fputs("  \"processes\": [", out);
    bool first = true;
    for (unsigned i = 0; i < t->n; i++) {
        const zt_tree_proc_t *p = &t->v[i];
        if (p->err) continue;
        fprintf(out, "%s\n    {\"record\":", first ? "" : ",");
        first = false;
        zt_json_string(out, p->path);
        fprintf(out, ",\"pid\":%d,\"ppid\":%d,\"parent_record\":", p->pid, p->ppid);
        zt_json_string(out, p->parent >= 0 ? t->v[p->parent].path : NULL);
        fprintf(out, ",\"depth\":%u,\"name\":", p->depth);
        zt_json_string(out, p->name);
        fprintf(out, ",\"exe\":");
        zt_json_string(out, p->exe);
        fprintf(out, ",\"command\":");
        zt_json_string(out, p->command);
        fprintf(out, ",\"ending\":");
        zt_json_string(out, p->ending);
        fprintf(out, ",\"peak_live_bytes\":%llu,\"peak_va_bytes\":%llu,\"first_failure\":",
                (unsigned long long)p->peak_live_bytes, (unsigned long long)p->peak_va_bytes);
        zt_json_string(out, p->first_failure[0] ? p->first_failure : NULL);
        fprintf(out, ",\"reported\":%s}", (int)i == t->chosen ? "true" : "false");
    }
    fputs("],\n  \"unreadable\": [", out);
    first = true;
    for (unsigned i = 0; i < t->n; i++) {
        const zt_tree_proc_t *p = &t->v[i];
        if (!p->err) continue;
        fprintf(out, "%s\n    {\"record\":", first ? "" : ",");
        first = false;
        zt_json_string(out, p->path);
        fprintf(out, ",\"error\":");
        zt_json_string(out, p->err);
        fputc('}', out);
    }
    fputs("]", out);
}

static void tree_html(FILE *out, const zt_tree_t *t)
{
    char b1[32], b2[32];
    /* A run through shims leaves dozens of records (79 for pyenv's python3):
     * folded past a dozen, so the flame graph stays on the first screen. */
    fprintf(out,
            "<details class=\"processes\"%s><summary><h2 style=\"display:inline\">Processes: %u "
            "(the one reported here is marked *)</h2></summary>\n<table class=\"processes\">\n"
            "<tr><th>pid</th><th>command</th><th>ended</th><th>peak heap</th><th>peak VA</th>"
            "<th>first failure</th><th>record</th></tr>\n",
            t->n <= 12 ? " open" : "", t->n);
    for (unsigned i = 0; i < t->n; i++) {
        const zt_tree_proc_t *p = &t->v[i];
        fprintf(out, "<tr><td style=\"padding-left:%.1fem\">%s",
                1.5 * (p->depth > 16 ? 16 : p->depth), (int)i == t->chosen ? "* " : "");
        if (p->err) {
            fputs("?</td><td></td><td>unreadable: ", out);
            zt_html_text(out, p->err);
            fputs("</td><td></td><td></td><td></td><td>", out);
        } else {
            fprintf(out, "%d</td><td>", p->pid);
            zt_html_text(out, p->command);
            fputs("</td><td>", out);
            zt_html_text(out, p->ending);
            fprintf(out, "</td><td>%s</td><td>%s</td><td>", zt_fmt_bytes(p->peak_live_bytes, b1),
                    zt_fmt_bytes(p->peak_va_bytes, b2));
            zt_html_text(out, p->first_failure);
            fputs("</td><td>", out);
        }
        zt_html_text(out, p->path);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n</details>\n", out);
}

/* The hook the report formats call (zt_report_opts_t.tree_out). */
static void tree_out(FILE *out, const zt_report_t *r, int format)
{
    const zt_tree_t *t = r->opt.tree;
    if (format == ZT_FMT_JSON)
        tree_json(out, t);
    else if (format == ZT_FMT_HTML)
        tree_html(out, t);
    else if (format == ZT_FMT_TEXT)
        tree_text(out, t);
}

/* Every readable process's stacks as folded lines, "name;pid N;" first. */
static int tree_folded(const zt_tree_t *t, const zt_report_opts_t *opt, const char *out_path)
{
    FILE *out = stdout;
    if (out_path && strcmp(out_path, "-") != 0 && !(out = fopen(out_path, "w"))) {
        zt_cli_error("%s: %s", out_path, strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    int rc = 0;
    for (unsigned i = 0; i < t->n; i++) {
        const zt_tree_proc_t *p = &t->v[i];
        if (p->err) continue;
        zt_model_t m;
        char err[1024], prefix[320];
        memset(&m, 0, sizeof m);
        if (!zt_model_load(p->path, &m, err, sizeof err)) { /* changed since the summary */
            for (char *c = err; *c; c++)
                if (*c == '\n') *c = ' ';
            zt_cli_error("%s", err);
            rc = ZT_CLI_EXIT_USAGE;
            continue;
        }
        int at = opt->at                             ? opt->at - 1
                 : zt_report_first_failure_leads(&m) ? ZT_AT_FIRST_FAILURE
                                                     : ZT_AT_END;
        if (!zt_model_at(&m, at, err, sizeof err)) {
            zt_cli_error("%s: --at %s: %s", p->path, zt_model_at_name(at), err);
            rc = ZT_CLI_EXIT_USAGE;
            zt_model_free(&m);
            continue;
        }
        size_t n = 0;
        for (const char *c = p->name ? p->name : "?"; *c && n < sizeof prefix - 32; c++)
            prefix[n++] = *c == ';' ? ':' : *c == '\n' ? ' ' : *c;
        snprintf(prefix + n, sizeof prefix - n, ";pid %d;", p->pid);
        zt_report_t r = {.m = &m, .opt = *opt};
        r.opt.path = p->path;
        r.opt.folded_prefix = prefix;
        r.sym = zt_sym_open(&m, false);
        zt_report_folded(out, &r);
        zt_sym_close(r.sym);
        zt_model_free(&m);
    }
    if (zt_cli_close_output(out, out_path) != 0) rc = ZT_CLI_EXIT_USAGE;
    return rc;
}

int zt_cli_report_records(char **files, unsigned nfiles, const zt_report_opts_t *opt,
                          const char *out_path, int pid, zt_report_one_fn *one)
{
    zt_tree_t t;
    if (nfiles == 1) {
        zt_tree_collect(&t, files[0], pid);
        if (t.n == 1 && !pid) { /* one process: the report as it always was */
            zt_tree_free(&t);
            return one(files[0], opt, out_path);
        }
    } else {
        memset(&t, 0, sizeof t);
        for (unsigned i = 0; i < nfiles; i++)
            zt_tree_add(&t, files[i]);
        zt_tree_arrange(&t, pid);
    }
    int rc = 0;
    for (unsigned i = 0; i < t.n; i++)
        if (t.v[i].err) {
            zt_cli_error("%s", t.v[i].err);
            rc = ZT_CLI_EXIT_USAGE;
        }
    if (t.chosen < 0) {
        if (pid > 0)
            zt_cli_error("report: --pid %d: no readable record of that process among the %u", pid,
                         t.n);
        else
            zt_cli_error("report: none of the %u records could be read", t.n);
        zt_tree_free(&t);
        return ZT_CLI_EXIT_USAGE;
    }
    int frc;
    if (opt->format == ZT_FMT_FOLDED) {
        frc = tree_folded(&t, opt, out_path);
    } else {
        zt_report_opts_t o = *opt;
        o.tree = &t;
        o.tree_out = tree_out;
        frc = one(t.v[t.chosen].path, &o, out_path);
    }
    zt_tree_free(&t);
    return frc ? frc : rc;
}
