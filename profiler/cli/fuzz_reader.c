/* ----------------------------------------------------------------------------
 * fuzz_reader.c — libFuzzer target for the record reader and the reports:
 * any byte string must be either rejected with a message or read, and a
 * record that is read must render as text (every --by), JSON, folded stacks
 * and HTML without crashing, reading out of bounds or leaking. Reports go to
 * /dev/null: what is checked is that the code runs cleanly (the sanitizers
 * watch), not what it prints. Built by CMake as build/fuzz_reader when clang
 * is available.
 * -------------------------------------------------------------------------- */
#include "model.h"
#include "report.h"
#include "symbolize.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Symbolizing must never reach for the network (libdwfl asks debuginfod
     * when this is set). */
    unsetenv("DEBUGINFOD_URLS");
    sink = fopen("/dev/null", "w");
    if (!sink) abort();
    return 0;
}

static void render(const zt_model_t *m)
{
    /* quiet: missing or mismatched modules would print a warning per input */
    zt_report_t r = {m, zt_sym_open(m, true), {10, ZT_BY_STACK, ZT_FMT_TEXT, "fuzz.zt"}};
    static const int by[] = {ZT_BY_STACK, ZT_BY_ZONE, ZT_BY_CLASS, ZT_BY_REGION};
    for (unsigned i = 0; i < sizeof by / sizeof by[0]; i++) {
        r.opt.by = by[i];
        zt_report_text(sink, &r);
    }
    r.opt.format = ZT_FMT_JSON;
    zt_report_json(sink, &r);
    r.opt.format = ZT_FMT_FOLDED;
    zt_report_folded(sink, &r);
    r.opt.format = ZT_FMT_HTML;
    zt_report_html(sink, &r);
    fflush(sink);
    zt_sym_close(r.sym);
}

/* Opening the recorded modules' real ELF files with libdwfl costs tens of
 * milliseconds per input and exercises libdw more than our code, so most
 * inputs get module paths that do not exist (frames fall back to
 * module+offset, through the same report code); inputs whose length is a
 * multiple of 16 keep the real files (chosen by the input itself, so that
 * a crash reproduces). */
static void hide_modules(zt_model_t *m)
{
    for (unsigned i = 0; i < m->nmodules; i++) {
        const char *path = m->modules[i].path ? m->modules[i].path : "";
        const char *base = strrchr(path, '/');
        size_t n = strlen(base ? base + 1 : path) + sizeof "/nonexistent/zt-fuzz/";
        char *hidden = malloc(n);
        if (!hidden) abort();
        snprintf(hidden, n, "/nonexistent/zt-fuzz/%s", base ? base + 1 : path);
        free(m->modules[i].path);
        m->modules[i].path = hidden;
    }
    free(m->exe);
    m->exe = strdup("/nonexistent/zt-fuzz/exe");
    if (!m->exe) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_model_t m;
    char err[512];
    if (zt_model_read_buffer(data, size, "fuzz.zt", &m, err, sizeof err)) {
        if (size % 16 != 0) hide_modules(&m);
        render(&m);
        zt_model_free(&m);
    } else if (err[0] == 0) {
        __builtin_trap(); /* a rejection must say why */
    }
    return 0;
}
