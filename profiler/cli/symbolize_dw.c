/* ----------------------------------------------------------------------------
 * symbolize_dw.c — the symbolizer's libdw backend (Linux; symbolize_impl.h):
 * pcs to functions, file:line and inline chains with libdwfl, offline, from
 * the module list of the record.
 *
 * Modules are reported lazily, on the first pc that falls in them, so a
 * report only opens the files its stacks touch. A module whose build id
 * differs from the recorded one is not used (its frames stay module+offset).
 * -------------------------------------------------------------------------- */
#include "symbolize_impl.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void load_module(zt_symbolizer_t *s, int i)
{
    zt_sym_module_t *sm = &s->mods[i];
    const zt_m_module_t *mm = &s->m->modules[i];
    const char *path = zt_sym_module_path(s->m, (unsigned)i);
    sm->state = ZT_SYM_MOD_FAILED;
    if (mm->macho) {
        /* libdw reads no Mach-O: a record from macOS or iOS keeps image+offset,
         * with the UUID and load address in the report's image list. */
        if (!s->macho_warned) {
            s->macho_warned = true;
            zt_sym_warn(
                s,
                "%s and the other images are Mach-O (recorded on macOS or iOS); frames "
                "are shown as image+offset (atos -l LOAD, dSYM by UUID: see the image list)",
                path);
        }
        return;
    }
    if (path[0] != '/') return; /* [vdso], anonymous code: nothing to read */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        zt_sym_warn(s, "%s: cannot open it now; its frames are shown as module+offset", path);
        return;
    }
    if (!s->backend) {
        s->backend = dwfl_begin(&offline_callbacks);
        if (!s->backend) {
            close(fd);
            return;
        }
    }
    Dwfl *dwfl = s->backend;
    /* Report it with all modules so far: dwfl_report_end drops modules not
     * reported again since dwfl_report_begin_add keeps the old ones. */
    dwfl_report_begin_add(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, sm->name, path, fd, mm->bias, true);
    dwfl_report_end(dwfl, NULL, NULL);
    if (!mod) {
        close(fd);
        zt_sym_warn(s, "%s: not an ELF file libdw can read; its frames are shown as module+offset",
                    path);
        return;
    }
    if (mm->build_id_len) {
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len != (int)mm->build_id_len || memcmp(bits, mm->build_id, (size_t)len) != 0) {
            zt_sym_warn(s,
                        "%s changed since it was recorded (build id differs); its frames are "
                        "shown as module+offset",
                        path);
            return;
        }
    }
    sm->handle = mod;
    sm->state = ZT_SYM_MOD_OK;
}

static const char *die_function_name(zt_symbolizer_t *s, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!n) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (!n) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    return n ? zt_sym_demangled(s, n) : NULL;
}

bool zt_sym_backend_resolve(zt_symbolizer_t *s, int mi, uint64_t addr,
                            const zt_sym_frame_t *base_in, zt_sym_frames_t *out)
{
    zt_sym_frame_t base = *base_in;
    if (s->mods[mi].state == ZT_SYM_MOD_UNTRIED) load_module(s, mi);
    if (s->mods[mi].state != ZT_SYM_MOD_OK) return false;
    Dwfl_Module *mod = s->mods[mi].handle;

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
        zt_sym_frame_t *f = zt_sym_push(out);
        *f = base;
        f->function = die_function_name(s, &scopes[i]);
        f->file = zt_sym_keep_copy(s, file);
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
        zt_sym_frame_t *f = zt_sym_push(out);
        *f = base;
        f->function = sym ? zt_sym_demangled(s, sym) : NULL;
        f->file = zt_sym_keep_copy(s, src_file);
        f->line = src_line;
    } else if (!out->v[out->n - 1].function && sym) {
        out->v[out->n - 1].function = zt_sym_demangled(s, sym);
    }
    return true;
}

void zt_sym_backend_close(zt_symbolizer_t *s)
{
    if (s->backend) dwfl_end(s->backend);
    s->backend = NULL;
}
