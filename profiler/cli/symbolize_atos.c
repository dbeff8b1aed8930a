/* ----------------------------------------------------------------------------
 * symbolize_atos.c — the symbolizer's macOS backend (symbolize_impl.h):
 * Apple's atos, the tool malloc_history users know, run once per image.
 *
 * On the first pc that falls in an image, every pc of the record's stacks
 * inside that image is collected, unslid (pc - 1 - slide: the file's own
 * vmaddr, so no -l is needed) and written to a file that one
 * `atos -o IMAGE -i -fullPath -d TAB -f FILE` process answers, one output
 * line per address: the inlined frames innermost first, TAB-separated. An
 * address that was not in the batch (the faulting pc of a crash) costs one
 * more atos process. Each frame reads
 *   "func (in image) (file.c:12)"   with debug information (dSYM or .o)
 *   "func (in image) + 24"          symbol table only
 *   "0x100003f00 (in image)"        nothing: module+offset is kept.
 * Images that are not files (the dyld shared cache's system libraries on
 * macOS 11 and later) stay module+offset, with one warning line.
 * -------------------------------------------------------------------------- */
#include "symbolize_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct atos_hit {
    uint64_t addr; /* unslid */
    unsigned first, n;
} atos_hit_t;

typedef struct atos_image {
    atos_hit_t *hits; /* sorted by addr */
    unsigned nhits, caphits;
    zt_sym_frames_t frames;
} atos_image_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Run atos on n unslid addresses; returns its whole stdout (malloc'd) or
 * NULL. posix_spawn, no shell: the path is passed as one argument. */
static char *run_atos(const char *path, const uint64_t *addrs, unsigned n)
{
    const char *tmpdir = getenv("TMPDIR");
    char list[1024];
    snprintf(list, sizeof list, "%s/zonetrace-atos-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int lfd = mkstemp(list);
    if (lfd < 0) return NULL;
    FILE *lf = fdopen(lfd, "w");
    if (!lf) {
        close(lfd);
        unlink(list);
        return NULL;
    }
    for (unsigned i = 0; i < n; i++)
        fprintf(lf, "0x%llx\n", (unsigned long long)addrs[i]);
    if (fclose(lf) != 0) {
        unlink(list);
        return NULL;
    }
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        unlink(list);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_addclose(&fa, pipefd[1]);
    char *argv[] = {"atos", "-o", (char *)path, "-i", "-fullPath", "-d", "\t", "-f", list, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "atos", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    char *out = NULL;
    size_t len = 0, cap = 0;
    if (err == 0) {
        for (;;) {
            if (len + 4096 + 1 > cap) {
                cap = cap ? 2 * cap : 65536;
                out = realloc(out, cap);
                if (!out) abort();
            }
            ssize_t r = read(pipefd[0], out + len, cap - len - 1);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            len += (size_t)r;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            free(out);
            out = NULL;
        } else if (out) {
            out[len] = 0;
        }
    }
    close(pipefd[0]);
    unlink(list);
    return out;
}

/* One frame of an atos line (text, NUL-terminated) into f (already base). */
static void parse_frame(zt_symbolizer_t *s, char *text, zt_sym_frame_t *f)
{
    if (strncmp(text, "0x", 2) == 0) return; /* not symbolized */
    char *in = strstr(text, " (in ");
    if (!in) {
        char *plus = strstr(text, " + ");
        if (plus) *plus = 0;
        f->function = zt_sym_keep_copy(s, text);
        return;
    }
    *in = 0;
    f->function = zt_sym_keep_copy(s, text);
    char *rest = strchr(in + 5, ')');
    if (!rest) return;
    char *open = strrchr(rest, '(');
    char *close = open ? strrchr(open, ')') : NULL;
    if (!open || !close) return;
    *close = 0;
    char *colon = strrchr(open + 1, ':');
    if (!colon) return;
    *colon = 0;
    f->file = zt_sym_keep_copy(s, open + 1);
    f->line = atoi(colon + 1);
}

/* Fill hits for addrs[0..n) from one atos run (false: atos failed). */
static bool symbolize_batch(zt_symbolizer_t *s, atos_image_t *im, const char *path,
                            const zt_sym_frame_t *base, const uint64_t *addrs, unsigned n)
{
    char *out = run_atos(path, addrs, n);
    if (!out) return false;
    char *line = out;
    for (unsigned i = 0; i < n; i++) {
        if (!*line) break;
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (im->nhits == im->caphits) {
            im->caphits = im->caphits ? 2 * im->caphits : 64;
            im->hits = realloc(im->hits, im->caphits * sizeof *im->hits);
            if (!im->hits) abort();
        }
        atos_hit_t *h = &im->hits[im->nhits++];
        h->addr = addrs[i];
        h->first = im->frames.n;
        for (char *t = line; t;) {
            char *tab = strchr(t, '\t');
            if (tab) *tab = 0;
            zt_sym_frame_t *f = zt_sym_push(&im->frames);
            *f = *base;
            parse_frame(s, t, f);
            t = tab ? tab + 1 : NULL;
        }
        h->n = im->frames.n - h->first;
        for (unsigned k = h->first; k + 1 < im->frames.n; k++)
            im->frames.v[k].inlined = true;
        line = nl ? nl + 1 : line + strlen(line);
    }
    free(out);
    return true;
}

static void load_image(zt_symbolizer_t *s, int mi, const zt_sym_frame_t *base)
{
    zt_sym_module_t *sm = &s->mods[mi];
    const zt_m_module_t *mm = &s->m->modules[mi];
    const char *path = zt_sym_module_path(s->m, (unsigned)mi);
    sm->state = ZT_SYM_MOD_FAILED;
    if (path[0] != '/') return;
    if (access(path, R_OK) != 0) {
        zt_sym_warn(s,
                    "%s: not a file here (a dyld shared cache image, or gone); its frames are "
                    "shown as module+offset",
                    path);
        return;
    }
    /* Every return address of the record in this image, unslid, once. */
    size_t n = 0, cap = 256;
    uint64_t *addrs = malloc(cap * sizeof *addrs);
    if (!addrs) abort();
    for (unsigned i = 0; i < s->m->nstacks; i++) {
        const zt_m_stack_t *st = &s->m->stacks[i];
        for (unsigned k = 0; k < st->nframes; k++) {
            uint64_t a = st->pcs[k] ? st->pcs[k] - 1 : 0;
            if (a < mm->base || a - mm->base >= mm->bytes) continue;
            if (n == cap) {
                cap *= 2;
                addrs = realloc(addrs, cap * sizeof *addrs);
                if (!addrs) abort();
            }
            addrs[n++] = a - mm->bias;
        }
    }
    qsort(addrs, n, sizeof *addrs, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || addrs[u - 1] != addrs[i]) addrs[u++] = addrs[i];
    atos_image_t *im = calloc(1, sizeof *im);
    if (!im) abort();
    sm->handle = im;
    if (u > 0 && !symbolize_batch(s, im, path, base, addrs, (unsigned)u)) {
        zt_sym_warn(s, "%s: atos could not read it; its frames are shown as module+offset", path);
        free(addrs);
        return;
    }
    free(addrs);
    sm->state = ZT_SYM_MOD_OK;
}

static const atos_hit_t *find_hit(const atos_image_t *im, uint64_t addr)
{
    unsigned lo = 0, hi = im->nhits;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (im->hits[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < im->nhits && im->hits[lo].addr == addr ? &im->hits[lo] : NULL;
}

bool zt_sym_backend_resolve(zt_symbolizer_t *s, int mi, uint64_t addr, const zt_sym_frame_t *base,
                            zt_sym_frames_t *out)
{
    if (s->mods[mi].state == ZT_SYM_MOD_UNTRIED) load_image(s, mi, base);
    if (s->mods[mi].state != ZT_SYM_MOD_OK) return false;
    atos_image_t *im = s->mods[mi].handle;
    uint64_t unslid = addr - s->m->modules[mi].bias;
    const atos_hit_t *h = find_hit(im, unslid);
    if (!h) {
        /* Not in the batch: one more atos run, kept in order. */
        unsigned before = im->nhits;
        if (!symbolize_batch(s, im, zt_sym_module_path(s->m, (unsigned)mi), base, &unslid, 1) ||
            im->nhits == before)
            return false;
        atos_hit_t added = im->hits[before];
        unsigned at = before;
        while (at > 0 && im->hits[at - 1].addr > added.addr) {
            im->hits[at] = im->hits[at - 1];
            at--;
        }
        im->hits[at] = added;
        h = &im->hits[at];
    }
    for (unsigned k = 0; k < h->n; k++) {
        zt_sym_frame_t *f = zt_sym_push(out);
        *f = im->frames.v[h->first + k];
        /* The batch was made with the first pc's base: this pc's own. */
        f->pc = base->pc;
        f->offset = base->offset;
    }
    return h->n > 0;
}

void zt_sym_backend_close(zt_symbolizer_t *s)
{
    for (unsigned i = 0; i < s->m->nmodules; i++) {
        atos_image_t *im = s->mods[i].handle;
        if (!im) continue;
        free(im->hits);
        free(im->frames.v);
        free(im);
        s->mods[i].handle = NULL;
    }
}
