/* ----------------------------------------------------------------------------
 * symbolize.c — pcs to frames (symbolize.h): the part every platform shares.
 * The per-pc cache, the module a pc falls in, the module+offset fallback,
 * demangling and the text of a frame are here; the file reading is the
 * backend's (symbolize_impl.h): libdw on Linux (symbolize_dw.c), atos on
 * macOS (symbolize_atos.c).
 *
 * A return address is looked up at pc - 1: the call instruction, not the
 * one after it, which may belong to the next line or even the next function.
 * -------------------------------------------------------------------------- */
#include "symbolize_impl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *zt_sym_keep(zt_symbolizer_t *s, char *str)
{
    if (!str) return NULL;
    if (s->nstrings == s->capstrings) {
        s->capstrings = s->capstrings ? 2 * s->capstrings : 256;
        s->strings = realloc(s->strings, s->capstrings * sizeof *s->strings);
        if (!s->strings) abort();
    }
    s->strings[s->nstrings++] = str;
    return str;
}

const char *zt_sym_keep_copy(zt_symbolizer_t *s, const char *str)
{
    return str ? zt_sym_keep(s, strdup(str)) : NULL;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* C++ names through the C++ runtime's __cxa_demangle when it can be loaded
 * (libstdc++ on Linux, libc++abi on macOS): the CLI itself is C and need
 * not link a C++ runtime for the C programs it mostly reports on. */
const char *zt_sym_demangled(zt_symbolizer_t *s, const char *name)
{
    if (!name) return NULL;
    if (strncmp(name, "_Z", 2) == 0) {
        if (!s->demangle_tried) {
            s->demangle_tried = true;
            static const char *const runtimes[] = {"libstdc++.so.6", "/usr/lib/libc++abi.dylib"};
            for (unsigned i = 0; i < sizeof runtimes / sizeof runtimes[0] && !s->demangle; i++) {
                void *h = dlopen(runtimes[i], RTLD_LAZY | RTLD_LOCAL);
                if (h) *(void **)&s->demangle = dlsym(h, "__cxa_demangle");
            }
        }
        if (s->demangle) {
            int status = -1;
            char *d = s->demangle(name, NULL, NULL, &status);
            if (d && status == 0) return zt_sym_keep(s, d);
            free(d);
        }
    }
    return zt_sym_keep_copy(s, name);
}

/* The main program is reported by dl_iterate_phdr with an empty name. */
const char *zt_sym_module_path(const zt_model_t *m, unsigned i)
{
    const char *p = m->modules[i].path;
    if (p && *p) return p;
    return m->exe && *m->exe ? m->exe : "?";
}

static int find_module(const zt_model_t *m, uint64_t addr)
{
    for (unsigned i = 0; i < m->nmodules; i++)
        if (addr >= m->modules[i].base && addr - m->modules[i].base < m->modules[i].bytes)
            return (int)i;
    return -1;
}

void zt_sym_warn(zt_symbolizer_t *s, const char *fmt, const char *path)
{
    if (!s->quiet) {
        fprintf(stderr, "zonetrace: warning: ");
        fprintf(stderr, fmt, path);
        fputc('\n', stderr);
    }
}

zt_sym_frame_t *zt_sym_push(zt_sym_frames_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) abort();
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    return &l->v[l->n++];
}

static void resolve(zt_symbolizer_t *s, uint64_t pc, bool ret, zt_sym_frames_t *out)
{
    uint64_t addr = ret && pc > 0 ? pc - 1 : pc;
    int mi = find_module(s->m, addr);
    zt_sym_frame_t base = {.pc = pc, .module = "?", .module_path = NULL, .offset = pc};
    if (mi >= 0) {
        const zt_m_module_t *mm = &s->m->modules[mi];
        base.module = s->mods[mi].name;
        base.module_path = zt_sym_module_path(s->m, (unsigned)mi);
        /* ELF: the file address (addr2line -e). Mach-O: from the load address, as
         * crash reports' "image + offset" (atos -l LOAD takes LOAD + offset). */
        base.offset = mm->macho ? pc - mm->base : pc - mm->bias;
    }
    if (mi < 0 || !zt_sym_backend_resolve(s, mi, addr, &base, out)) *zt_sym_push(out) = base;
}

bool zt_sym_module_fell_back(const zt_symbolizer_t *s, unsigned i)
{
    return i < s->m->nmodules && s->mods[i].state == ZT_SYM_MOD_FAILED;
}

zt_symbolizer_t *zt_sym_open(const zt_model_t *m, bool quiet)
{
    zt_symbolizer_t *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->m = m;
    s->quiet = quiet;
    s->mods = calloc(m->nmodules + 1, sizeof *s->mods);
    s->cap = 1024;
    s->table = calloc(s->cap, sizeof *s->table);
    if (!s->mods || !s->table) abort();
    for (unsigned i = 0; i < m->nmodules; i++)
        s->mods[i].name = base_name(zt_sym_module_path(m, i));
    return s;
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static void grow(zt_symbolizer_t *s)
{
    size_t ncap = s->cap * 2;
    zt_sym_entry_t *nt = calloc(ncap, sizeof *nt);
    if (!nt) abort();
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->table[i].key) continue;
        size_t j = mix(s->table[i].key) & (ncap - 1);
        while (nt[j].key)
            j = (j + 1) & (ncap - 1);
        nt[j] = s->table[i];
    }
    free(s->table);
    s->table = nt;
    s->cap = ncap;
}

unsigned zt_sym_lookup(zt_symbolizer_t *s, uint64_t pc, bool return_address,
                       const zt_sym_frame_t **out)
{
    /* pc 0 and pc 1 are never real; shifting keeps key 0 free as "empty". */
    uint64_t key = (pc << 1 | (return_address ? 1 : 0)) + 2;
    size_t j = mix(key) & (s->cap - 1);
    while (s->table[j].key) {
        if (s->table[j].key == key) {
            *out = s->table[j].frames;
            return s->table[j].n;
        }
        j = (j + 1) & (s->cap - 1);
    }
    zt_sym_frames_t l = {0};
    resolve(s, pc, return_address, &l);
    if (2 * (s->used + 1) > s->cap) {
        grow(s);
        j = mix(key) & (s->cap - 1);
        while (s->table[j].key)
            j = (j + 1) & (s->cap - 1);
    }
    s->table[j] = (zt_sym_entry_t){key, l.n, l.v};
    s->used++;
    *out = l.v;
    return l.n;
}

const char *zt_sym_describe(const zt_sym_frame_t *f)
{
    static char buf[1024];
    if (!f->function) {
        snprintf(buf, sizeof buf, "%s+0x%llx", f->module, (unsigned long long)f->offset);
    } else if (f->file && f->line) {
        snprintf(buf, sizeof buf, "%s (%s:%d)%s", f->function, base_name(f->file), f->line,
                 f->inlined ? " [inlined]" : "");
    } else {
        snprintf(buf, sizeof buf, "%s (%s)%s", f->function, f->module,
                 f->inlined ? " [inlined]" : "");
    }
    return buf;
}

const char *zt_sym_short(const zt_sym_frame_t *f)
{
    static char buf[1024];
    if (f->function) return f->function;
    snprintf(buf, sizeof buf, "%s+0x%llx", f->module, (unsigned long long)f->offset);
    return buf;
}

void zt_sym_close(zt_symbolizer_t *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->table[i].frames);
    for (size_t i = 0; i < s->nstrings; i++)
        free(s->strings[i]);
    zt_sym_backend_close(s);
    free(s->strings);
    free(s->table);
    free(s->mods);
    free(s);
}
