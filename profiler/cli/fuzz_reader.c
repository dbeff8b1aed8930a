/* ----------------------------------------------------------------------------
 * fuzz_reader.c — libFuzzer target for the record reader: any byte string
 * must be either read or rejected with a message, never crash, never leak.
 * Built by CMake as build/fuzz_reader when clang is available.
 * -------------------------------------------------------------------------- */
#include "model.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_model_t m;
    char err[512];
    if (zt_model_read_buffer(data, size, "fuzz.zt", &m, err, sizeof err))
        zt_model_free(&m);
    else if (err[0] == 0)
        __builtin_trap(); /* a rejection must say why */
    return 0;
}
