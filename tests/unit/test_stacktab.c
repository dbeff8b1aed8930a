/* ----------------------------------------------------------------------------
 * test_stacktab — the stack table: ids dense and exact, concurrent inserts
 * from threads agree, the table grows (index and chunks) without losing ids.
 * -------------------------------------------------------------------------- */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"

#define NSTACKS  9000u /* > 1024 (several chunks) and > 8192 (the first index grows) */
#define NTHREADS 4

static void make_stack(unsigned i, uint64_t *pcs, unsigned *n)
{
    *n = 1 + i % 24;
    for (unsigned k = 0; k < *n; k++)
        pcs[k] = 0x400000u + (uint64_t)i * 4096 + k * 8;
}

static uint32_t ids[NTHREADS][NSTACKS];

static void *worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (unsigned j = 0; j < NSTACKS; j++) {
        unsigned i = (j * 7919u + t * 104729u) % NSTACKS; /* a different order per thread */
        uint64_t pcs[32];
        unsigned n;
        make_stack(i, pcs, &n);
        ids[t][i] = zt_stacktab_intern(pcs, n, true);
    }
    return NULL;
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/zt_test_stacktab_%d.zt", (int)getpid());
    zt_record_info_t info = {.path = path,
                             .stacks_mode = ZT_STACKS_FULL,
                             .unwind = "fp",
                             .depth = 32,
                             .device = "native",
                             .max_bytes = 256u << 20};
    REQUIRE(zt_record_open(&info), "cannot open a record at %s", path);

    CHECK_CASE("same frames, same id; dense from 1")
    {
        uint64_t a[3] = {1, 2, 3}, b[3] = {1, 2, 4}, c[2] = {1, 2};
        uint32_t ia = zt_stacktab_intern(a, 3, true), ib = zt_stacktab_intern(b, 3, true);
        uint32_t ic = zt_stacktab_intern(c, 2, true);
        CHECK(ia == 1 && ib == 2 && ic == 3, "first ids are %u %u %u, expected 1 2 3", ia, ib, ic);
        CHECK(zt_stacktab_intern(a, 3, true) == 1 && zt_stacktab_intern(c, 2, true) == 3,
              "re-interning gave a different id");
        CHECK(zt_stacktab_intern(a, 0, true) == 0, "an empty stack got an id");
    }

    CHECK_CASE("concurrent inserts and growth")
    {
        pthread_t th[NTHREADS];
        for (unsigned t = 0; t < NTHREADS; t++)
            pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
        for (unsigned t = 0; t < NTHREADS; t++)
            pthread_join(th[t], NULL);

        uint32_t nstacks = zt_rec.hdr->nstacks;
        CHECK(nstacks == NSTACKS + 3, "%u stacks after %u distinct inserts, expected %u", nstacks,
              NSTACKS + 3, NSTACKS + 3);
        static uint8_t seen[NSTACKS + 4];
        for (unsigned i = 0; i < NSTACKS; i++) {
            uint32_t id = ids[0][i];
            for (unsigned t = 1; t < NTHREADS; t++)
                CHECK(ids[t][i] == id, "stack %u: thread 0 got id %u, thread %u got %u", i, id, t,
                      ids[t][i]);
            bool in_range = id >= 4 && id <= NSTACKS + 3;
            CHECK(in_range && !seen[id]++, "stack %u: id %u out of range or given twice", i, id);
            if (!in_range) continue;
            /* Exact: the entry holds these frames. */
            uint64_t pcs[32];
            unsigned n;
            make_stack(i, pcs, &n);
            zt_rec_stack_t *e = zt_record_stack(id, false);
            CHECK(e && e->nframes == n &&
                      memcmp(zt_rec.base + e->frames_off, pcs, n * sizeof(uint64_t)) == 0,
                  "stack %u: entry %u does not hold its frames", i, id);
            CHECK(zt_stacktab_intern(pcs, n, true) == id,
                  "stack %u: lookup after growth gave another id", i);
        }
        /* Growth of the index: the last lookups went through a rebuilt
         * table; the chunk directory has more than one chunk. */
        CHECK(zt_rec.hdr->stack_chunks_off[1] != 0 && zt_rec.hdr->stack_chunks_off[2] != 0,
              "the stack table did not grow into chunks 1 and 2");
    }

    CHECK_CASE("index rebuilt from the record")
    {
        zt_stacktab_reset();
        uint64_t pcs[32];
        unsigned n;
        make_stack(4321, pcs, &n);
        CHECK(zt_stacktab_intern(pcs, n, true) == ids[0][4321],
              "after an index rebuild, stack 4321 changed id");
        CHECK(zt_rec.hdr->nstacks == NSTACKS + 3, "an index rebuild added stacks");
    }

    zt_record_close();
    unlink(path);
    printf("test_stacktab: %u stacks, %d threads\n", NSTACKS + 3, NTHREADS);
    return CHECK_DONE("test_stacktab");
}
