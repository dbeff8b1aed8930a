/* ----------------------------------------------------------------------------
 * symbolize.c — pcs to functions, file:line and inline chains with libdwfl,
 * offline, from the module list of the record (symbolize.h).
 *
 * Modules are reported lazily, on the first pc that falls in them, so a
 * report only opens the files its stacks touch. A return address is looked
 * up at pc - 1: the call instruction, not the one after it, which may belong
 * to the next line or even the next function.
 * -------------------------------------------------------------------------- */
#include "symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MOD_UNTRIED, MOD_OK, MOD_FAILED };

typedef struct sym_module {
    int state;
    Dwfl_Module *mod;
    const char *name; /* basename */
} sym_module_t;

typedef struct sym_entry {
    uint64_t key; /* pc << 1 | return_address; 0 = empty slot */
    unsigned n;
    zt_sym_frame_t *frames;
} sym_entry_t;

struct zt_symbolizer {
    const zt_model_t *m;
    bool quiet;
    Dwfl *dwfl;
    sym_module_t *mods;
    sym_entry_t *table;
    size_t cap, used;
    char **strings; /* everything we allocated for frames, freed at close */
    size_t nstrings, capstrings;
    char *(*demangle)(const char *, char *, size_t *, int *);
    bool demangle_tried;
    bool macho_warned;
};

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static const char *keep(zt_symbolizer_t *s, char *str)
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

static const char *keep_copy(zt_symbolizer_t *s, const char *str)
{
    return str ? keep(s, strdup(str)) : NULL;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* C++ names through libstdc++'s __cxa_demangle when it can be loaded: the
 * CLI itself is C and need not link libstdc++ for the C programs it mostly
 * reports on. */
static const char *demangled(zt_symbolizer_t *s, const char *name)
{
    if (!name) return NULL;
    if (strncmp(name, "_Z", 2) == 0) {
        if (!s->demangle_tried) {
            s->demangle_tried = true;
            void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
            if (h) *(void **)&s->demangle = dlsym(h, "__cxa_demangle");
        }
        if (s->demangle) {
            int status = -1;
            char *d = s->demangle(name, NULL, NULL, &status);
            if (d && status == 0) return keep(s, d);
            free(d);
        }
    }
    return keep_copy(s, name);
}

/* The main program is reported by dl_iterate_phdr with an empty name. */
static const char *module_path(const zt_model_t *m, unsigned i)
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

static void warn(zt_symbolizer_t *s, const char *fmt, const char *path)
{
    if (!s->quiet) {
        fprintf(stderr, "zonetrace: warning: ");
        fprintf(stderr, fmt, path);
        fputc('\n', stderr);
    }
}

static void load_module(zt_symbolizer_t *s, int i)
{
    sym_module_t *sm = &s->mods[i];
    const zt_m_module_t *mm = &s->m->modules[i];
    const char *path = module_path(s->m, (unsigned)i);
    sm->state = MOD_FAILED;
    if (mm->macho) {
        /* libdw reads no Mach-O: a record from macOS or iOS keeps image+offset,
         * with the UUID and load address in the report's image list. */
        if (!s->macho_warned) {
            s->macho_warned = true;
            warn(s,
                 "%s and the other images are Mach-O (recorded on macOS or iOS); frames are "
                 "shown as image+offset (atos -l LOAD, dSYM by UUID: see the image list)",
                 path);
        }
        return;
    }
    if (path[0] != '/') return; /* [vdso], anonymous code: nothing to read */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        warn(s, "%s: cannot open it now; its frames are shown as module+offset", path);
        return;
    }
    if (!s->dwfl) {
        s->dwfl = dwfl_begin(&offline_callbacks);
        if (!s->dwfl) {
            close(fd);
            return;
        }
    }
    /* Report it with all modules so far: dwfl_report_end drops modules not
     * reported again since dwfl_report_begin_add keeps the old ones. */
    dwfl_report_begin_add(s->dwfl);
    Dwfl_Module *mod = dwfl_report_elf(s->dwfl, sm->name, path, fd, mm->bias, true);
    dwfl_report_end(s->dwfl, NULL, NULL);
    if (!mod) {
        close(fd);
        warn(s, "%s: not an ELF file libdw can read; its frames are shown as module+offset", path);
        return;
    }
    if (mm->build_id_len) {
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len != (int)mm->build_id_len || memcmp(bits, mm->build_id, (size_t)len) != 0) {
            warn(s,
                 "%s changed since it was recorded (build id differs); its frames are "
                 "shown as module+offset",
                 path);
            return;
        }
    }
    sm->mod = mod;
    sm->state = MOD_OK;
}

static const char *die_function_name(zt_symbolizer_t *s, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!n) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (!n) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    return n ? demangled(s, n) : NULL;
}

typedef struct frame_list {
    zt_sym_frame_t *v;
    unsigned n, cap;
} frame_list_t;

static zt_sym_frame_t *push(frame_list_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) abort();
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    return &l->v[l->n++];
}

static void resolve(zt_symbolizer_t *s, uint64_t pc, bool ret, frame_list_t *out)
{
    uint64_t addr = ret && pc > 0 ? pc - 1 : pc;
    int mi = find_module(s->m, addr);
    zt_sym_frame_t base = {.pc = pc, .module = "?", .module_path = NULL, .offset = pc};
    if (mi >= 0) {
        const zt_m_module_t *mm = &s->m->modules[mi];
        base.module = s->mods[mi].name;
        base.module_path = module_path(s->m, (unsigned)mi);
        /* ELF: the file address (addr2line -e). Mach-O: from the load address, as
         * crash reports' "image + offset" (atos -l LOAD takes LOAD + offset). */
        base.offset = mm->macho ? pc - mm->base : pc - mm->bias;
        if (s->mods[mi].state == MOD_UNTRIED) load_module(s, mi);
    }
    if (mi < 0 || s->mods[mi].state != MOD_OK) {
        *push(out) = base;
        return;
    }
    Dwfl_Module *mod = s->mods[mi].mod;

    const char *src_file = NULL;
    int src_line = 0;
    Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
    if (line) src_file = dwfl_lineinfo(line, NULL, &src_line, NULL, NULL, NULL);

    Dwarf_Addr cu_bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &cu_bias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cu ? dwarf_getscopes(cu, addr - cu_bias, &scopes) : 0;
    if (nscopes > 0) {
        /* dwarf_getscopes continues an inlined instance with the scopes of
         * its abstract origin; the callers are the concrete DIE parents. */
        Dwarf_Die inner = scopes[0];
        free(scopes);
        scopes = NULL;
        nscopes = dwarf_getscopes_die(&inner, &scopes);
    }
    const char *file = src_file;
    int lineno = src_line;
    for (int i = 0; i < nscopes; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
        zt_sym_frame_t *f = push(out);
        *f = base;
        f->function = die_function_name(s, &scopes[i]);
        f->file = keep_copy(s, file);
        f->line = lineno;
        f->inlined = tag == DW_TAG_inlined_subroutine;
        if (tag == DW_TAG_subprogram) break;
        /* The caller's location is the inlined call site. */
        Dwarf_Attribute attr;
        Dwarf_Word idx = 0, cl = 0;
        file = NULL;
        lineno = 0;
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &idx) == 0) {
            Dwarf_Files *files;
            size_t nfiles;
            if (dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
                file = dwarf_filesrc(files, idx, NULL, NULL);
        }
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &cl) == 0)
            lineno = (int)cl;
    }
    free(scopes);
    /* Without DWARF scopes the ELF symbol table still names the function. */
    const char *sym = NULL;
    if (out->n == 0 || !out->v[out->n - 1].function) {
        GElf_Off off;
        GElf_Sym elfsym;
        sym = dwfl_module_addrinfo(mod, addr, &off, &elfsym, NULL, NULL, NULL);
    }
    if (out->n == 0) {
        zt_sym_frame_t *f = push(out);
        *f = base;
        f->function = sym ? demangled(s, sym) : NULL;
        f->file = keep_copy(s, src_file);
        f->line = src_line;
    } else if (!out->v[out->n - 1].function && sym) {
        out->v[out->n - 1].function = demangled(s, sym);
    }
}

bool zt_sym_module_fell_back(const zt_symbolizer_t *s, unsigned i)
{
    return i < s->m->nmodules && s->mods[i].state == MOD_FAILED;
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
        s->mods[i].name = base_name(module_path(m, i));
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
    sym_entry_t *nt = calloc(ncap, sizeof *nt);
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
    frame_list_t l = {0};
    resolve(s, pc, return_address, &l);
    if (2 * (s->used + 1) > s->cap) {
        grow(s);
        j = mix(key) & (s->cap - 1);
        while (s->table[j].key)
            j = (j + 1) & (s->cap - 1);
    }
    s->table[j] = (sym_entry_t){key, l.n, l.v};
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
    if (s->dwfl) dwfl_end(s->dwfl);
    free(s->strings);
    free(s->table);
    free(s->mods);
    free(s);
}
