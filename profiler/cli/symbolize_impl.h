/* ----------------------------------------------------------------------------
 * symbolize_impl.h — what the symbolizer's shared part (symbolize.c) and its
 * backend share. One backend is linked: symbolize_dw.c (libdw, Linux) or
 * symbolize_atos.c (atos, macOS). symbolize.c owns the per-pc cache, the
 * module lookup, the strings and the output text; a backend turns one
 * address inside one module into frames.
 * -------------------------------------------------------------------------- */
#ifndef ZT_SYMBOLIZE_IMPL_H
#define ZT_SYMBOLIZE_IMPL_H

#include "symbolize.h"

#include <stddef.h>

enum { ZT_SYM_MOD_UNTRIED, ZT_SYM_MOD_OK, ZT_SYM_MOD_FAILED };

typedef struct zt_sym_module {
    int state;        /* ZT_SYM_MOD_*: the backend's verdict on the file */
    void *handle;     /* the backend's per-module state */
    const char *name; /* basename */
} zt_sym_module_t;

typedef struct zt_sym_entry {
    uint64_t key; /* pc << 1 | return_address; 0 = empty slot */
    unsigned n;
    zt_sym_frame_t *frames;
} zt_sym_entry_t;

typedef struct zt_sym_frames {
    zt_sym_frame_t *v;
    unsigned n, cap;
} zt_sym_frames_t;

struct zt_symbolizer {
    const zt_model_t *m;
    bool quiet;
    zt_sym_module_t *mods;
    zt_sym_entry_t *table;
    size_t cap, used;
    char **strings; /* everything we allocated for frames, freed at close */
    size_t nstrings, capstrings;
    char *(*demangle)(const char *, char *, size_t *, int *);
    bool demangle_tried;
    void *backend;     /* the backend's state for the whole report */
    bool macho_warned; /* libdw backend: said once that Mach-O images are image+offset */
};

/* ---- symbolize.c, for the backend ---------------------------------------- */

/* Keep str (malloc'd) until zt_sym_close; returns it. */
const char *zt_sym_keep(zt_symbolizer_t *s, char *str);
/* A kept copy of str (NULL stays NULL). */
const char *zt_sym_keep_copy(zt_symbolizer_t *s, const char *str);
/* A kept, demangled copy of a symbol name. */
const char *zt_sym_demangled(zt_symbolizer_t *s, const char *name);
/* The path of module i (the executable for the main program's ""). */
const char *zt_sym_module_path(const zt_model_t *m, unsigned i);
/* One "zonetrace: warning: <fmt with %s = path>" line unless quiet. */
void zt_sym_warn(zt_symbolizer_t *s, const char *fmt, const char *path);
/* A new zeroed frame at the end of l. */
zt_sym_frame_t *zt_sym_push(zt_sym_frames_t *l);

/* ---- the backend ----------------------------------------------------------- */

/* Frames for addr (pc, or pc - 1 for a return address) in module mi; base
 * is the module+offset frame to copy and fill in. Returns false, pushing
 * nothing, when the module cannot be read (the caller pushes base). */
bool zt_sym_backend_resolve(zt_symbolizer_t *s, int mi, uint64_t addr, const zt_sym_frame_t *base,
                            zt_sym_frames_t *out);

/* Free the backend's state (s->backend and every module's handle). */
void zt_sym_backend_close(zt_symbolizer_t *s);

#endif /* ZT_SYMBOLIZE_IMPL_H */
