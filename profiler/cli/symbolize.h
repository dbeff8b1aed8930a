/* ----------------------------------------------------------------------------
 * symbolize.h — offline symbolization of recorded program counters.
 *
 * Each module of the record (path, load bias, build id) is read offline, so a
 * pc maps to function, file:line and the chain of inlined calls without the
 * process: on Linux by elfutils' libdwfl at the address the module had in the
 * traced process (symbolize_dw.c), on macOS by atos, one process per image
 * for all of the record's pcs in it (symbolize_atos.c). When a module is
 * missing or its build id differs from the recorded one, its frames fall
 * back to "module+0xoffset" (file-relative, usable with addr2line or atos)
 * and one warning line says why. Results are cached per pc.
 * Mach-O images of a record read on Linux (from macOS or iOS) are not read
 * by libdw: their frames are "image+0xoffset" from the image's load address,
 * the form of Apple's crash reports; the report lists each such image's UUID
 * and load address, which is what `atos -l` and a dSYM lookup need.
 * -------------------------------------------------------------------------- */
#ifndef ZT_SYMBOLIZE_H
#define ZT_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* One source-level frame. A machine pc can expand to several: the inlined
 * callees first, then the function that holds the code. */
typedef struct zt_sym_frame {
    uint64_t pc;        /* as recorded */
    const char *module; /* basename of the module, "?" when unknown */
    const char *module_path;
    uint64_t offset;      /* ELF: pc relative to the module's file addresses;
                           * Mach-O: pc relative to the image's load address */
    const char *function; /* demangled name, NULL when unknown */
    const char *file;     /* source path, NULL when unknown */
    int line;             /* 0 when unknown */
    bool inlined;         /* inlined into the next frame of the same pc */
} zt_sym_frame_t;

typedef struct zt_symbolizer zt_symbolizer_t;

/* Prepare a symbolizer for the modules of `m` (which must outlive it).
 * Never fails: without debug information every frame is module+offset.
 * `quiet` suppresses the one-line warnings on stderr. */
zt_symbolizer_t *zt_sym_open(const zt_model_t *m, bool quiet);

/* Frames for one pc, innermost first; *out stays valid until zt_sym_close.
 * `return_address` asks for the call site (pc - 1 is looked up), as for
 * every captured frame except the faulting pc of a crash. Returns >= 1. */
unsigned zt_sym_lookup(zt_symbolizer_t *s, uint64_t pc, bool return_address,
                       const zt_sym_frame_t **out);

/* "function (file:line)" / "module+0xoff" for one frame; static buffer. */
const char *zt_sym_describe(const zt_sym_frame_t *f);

/* Short name of a frame for flame graphs: function or module+0xoff. */
const char *zt_sym_short(const zt_sym_frame_t *f);

/* True when module i (of the model) had a frame looked up and could not be
 * read (missing, changed, Mach-O here): its frames are module+offset. */
bool zt_sym_module_fell_back(const zt_symbolizer_t *s, unsigned i);

void zt_sym_close(zt_symbolizer_t *s);

#endif /* ZT_SYMBOLIZE_H */
