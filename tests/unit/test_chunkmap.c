/* ----------------------------------------------------------------------------
 * test_chunkmap.c — the address → owner table (zone/chunkmap.c): lookups of
 * any address never fault, set/clear covers exactly the chunks of a range,
 * and concurrent first use agrees on one table.
 * -------------------------------------------------------------------------- */
#include "chunkmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MiB ((uintptr_t)1 << 20)

#include "../check.h"

static zt_owner_t **seen[8];

static void *racer(void *arg)
{
    zt_chunkmap_init();
    seen[(uintptr_t)arg] = __atomic_load_n(&zt_chunkmap_table, __ATOMIC_ACQUIRE);
    return NULL;
}

int main(void)
{
    CHECK_CASE("lookup before init")
    {
        CHECK(zt_chunkmap_get((void *)0x12345678) == NULL, "lookup before init");
    }

    CHECK_CASE("racing first use")
    {
        /* Everybody ends up with the same table. */
        pthread_t th[8];
        for (uintptr_t i = 0; i < 8; i++)
            pthread_create(&th[i], NULL, racer, (void *)i);
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < 8; i++)
            CHECK(seen[i] != NULL && seen[i] == zt_chunkmap_table, "thread %d saw %p", i,
                  (void *)seen[i]);
        CHECK(zt_chunkmap_init(), "init again");
        CHECK(seen[0] == zt_chunkmap_table, "idempotent init keeps the table");
    }

    zt_owner_t tiny = {ZT_KIND_TINY, NULL}, small = {ZT_KIND_SMALL, NULL};
    CHECK_CASE("any address")
    {
        /* Null, low, kernel half, the top of the user space. */
        const uintptr_t probes[] = {0,
                                    1,
                                    4096,
                                    (uintptr_t)&tiny,
                                    ((uintptr_t)1 << 47) - 1,
                                    (uintptr_t)1 << 47,
                                    UINTPTR_MAX,
                                    (uintptr_t)0xffff800000000000ull};
        for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++)
            CHECK(zt_chunkmap_get((void *)probes[i]) == NULL, "probe %#lx",
                  (unsigned long)probes[i]);
    }

    CHECK_CASE("set and clear ranges")
    {
        /* A 3 MiB range: exactly its three chunks. */
        uintptr_t base = (uintptr_t)0x7f1234500000ull;
        zt_chunkmap_set(base, 3 * MiB, &tiny);
        CHECK(zt_chunkmap_get((void *)(base - 1)) == NULL, "chunk below");
        CHECK(zt_chunkmap_get((void *)base) == &tiny, "first byte");
        CHECK(zt_chunkmap_get((void *)(base + MiB + 77)) == &tiny, "middle");
        CHECK(zt_chunkmap_get((void *)(base + 3 * MiB - 1)) == &tiny, "last byte");
        CHECK(zt_chunkmap_get((void *)(base + 3 * MiB)) == NULL, "chunk above");

        /* An 8 MiB region next to it, then clear the first range. */
        zt_chunkmap_set(base + 8 * MiB, 8 * MiB, &small);
        CHECK(zt_chunkmap_get((void *)(base + 12 * MiB)) == &small, "small region");
        zt_chunkmap_set(base, 3 * MiB, NULL);
        CHECK(zt_chunkmap_get((void *)(base + MiB)) == NULL, "cleared");
        CHECK(zt_chunkmap_get((void *)(base + 8 * MiB)) == &small, "neighbour kept");
        zt_chunkmap_set(base + 8 * MiB, 8 * MiB, NULL);
    }

    CHECK_CASE("top of the user space")
    {
        /* The last chunk of the user space. */
        uintptr_t top = ((uintptr_t)1 << 47) - MiB;
        zt_chunkmap_set(top, MiB, &small);
        CHECK(zt_chunkmap_get((void *)(top + MiB - 1)) == &small, "top chunk");
        zt_chunkmap_set(top, MiB, NULL);
    }
    return CHECK_DONE("test_chunkmap");
}
