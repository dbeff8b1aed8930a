/* ----------------------------------------------------------------------------
 * test_rack_transfer.c — the racks' transfer cache (zone/rack/transfer.c),
 * on a tiny rack that owns the thread caches:
 * - a thread freeing blocks another allocated spends its cache budget; its
 *   next free of a size whose bin holds blocks moves that bin to the
 *   transfer cache as one batch, not to the magazines; a thread that has
 *   no cache section yet (it only allocated) misses, takes the whole batch
 *   (its bin then holds the rest) and gets the newest of it;
 * - a block sitting in a batch is free for every observer: size 0, a
 *   second free is reported as a double free;
 * - the statistics free every batch for real first (a later miss finds
 *   none), as zt_rack_check does, which passes;
 * - a fork child allocates from a batch made before the fork;
 * - a thread takes batches only while its cache stays within its budget;
 * - a thread that spends its budget on blocks it allocated itself, with no
 *   other thread missing on their size, makes no batch (it would only take
 *   it back).
 * Each fails without the transfer cache: that free would take the locked
 * path, and the next malloc would come from the magazines.
 * -------------------------------------------------------------------------- */
#include "rack.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunkmap.h"
#include "error.h"
#include "tcache.h"
#include "va.h"

#include "../capture.h"
#include "../check.h"

enum { CAP = ZT_RACK_TC_STRIDE };

static malloc_zone_t fake_zone; /* a rack made for a zone claims the caches */

enum { BIG = 63 }; /* msize of the batch's blocks: 1008 B */

typedef struct freer {
    zt_rack_t *r;
    void **v;
    unsigned n;
} freer_t;

static void *free_all(void *arg)
{
    freer_t *f = arg;
    for (unsigned i = 0; i < f->n; i++)
        zt_rack_free(f->r, f->v[i]);
    return NULL;
}

static unsigned cls_of_msize(unsigned msize)
{
    return ZT_CLASS_TINY_FIRST + msize - 1;
}

/* Blocks for another thread to free, in this order: CAP blocks of msize
 * big (a full bin), fillers of msizes big-1, big-2, ... (at most CAP each,
 * one bin's bound) up to the cache budget, then one more big block: its
 * free finds the budget spent and big's bin full of blocks, which go to a
 * batch. Returns how many; batch[] gets the big bin's blocks, oldest
 * first. */
static unsigned blocks_of_batch(zt_rack_t *r, void **v, void **batch, unsigned big)
{
    unsigned n = 0;
    size_t spent = 0;
    for (unsigned i = 0; i < CAP; i++) {
        v[n] = batch[i] = zt_rack_malloc(r, cls_of_msize(big), false);
        REQUIRE(v[n] != NULL, "malloc big %u", i);
        spent += (size_t)big * 16;
        n++;
    }
    for (unsigned m = big - 1; m > 1; m--)
        for (unsigned i = 0; i < CAP; i++) {
            if (spent + (size_t)m * 16 > ZT_RACK_TC_BUDGET_BYTES) goto full;
            v[n] = zt_rack_malloc(r, cls_of_msize(m), false);
            REQUIRE(v[n] != NULL, "malloc filler %u", n);
            spent += (size_t)m * 16;
            n++;
        }
full:
    v[n] = zt_rack_malloc(r, cls_of_msize(big), false);
    REQUIRE(v[n] != NULL, "malloc the last big");
    return n + 1;
}

/* A tiny rack of one magazine, the kind every case here uses. */
static zt_rack_t *new_rack(void)
{
    zt_rack_t *r = zt_rack_create(&fake_zone, ZT_KIND_TINY, 1);
    REQUIRE(r != NULL, "zt_rack_create");
    return r;
}

static unsigned blocks_for_batch(zt_rack_t *r, void **v, void **batch)
{
    return blocks_of_batch(r, v, batch, BIG);
}

/* Another thread frees v[0..n) and exits (its own cache is then flushed). */
static void free_elsewhere(zt_rack_t *r, void **v, unsigned n)
{
    freer_t f = {r, v, n};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_all, &f) == 0, "pthread_create");
    pthread_join(t, NULL);
}

/* This thread's tiny bins back to the rack (its next miss starts empty). */
static void flush_my_bins(void)
{
    zt_tcache_flush_mine(ZT_TCACHE_TINY,
                         zt_tcache_self ? zt_tcache_self->sec[ZT_TCACHE_TINY].id : 0);
}

static unsigned bin_count(unsigned msize)
{
    return zt_tcache_self ? zt_tcache_self->sec[ZT_TCACHE_TINY].count[msize - 1] : 0;
}

static void do_free(void *arg)
{
    freer_t *f = arg;
    zt_rack_free(f->r, f->v[0]);
}

static void *allocate_once(void *arg)
{
    return zt_rack_malloc(arg, cls_of_msize(BIG), false);
}

static void test_transfer(void)
{
    zt_rack_t *r = new_rack();
    static void *v[1024];
    void *batch[CAP];
    unsigned n = blocks_for_batch(r, v, batch);
    free_elsewhere(r, v, n);

    for (unsigned i = 0; i < CAP; i++)
        CHECK(zt_rack_size(r, batch[i]) == 0, "block %u in the batch has size 0", i);
    freer_t twice = {r, batch, 1};
    zt_error_zone_call = 1;
    const char *out = capture_stderr(do_free, &twice);
    zt_error_zone_call = 0;
    CHECK(strstr(out, "Double free of object 0x"),
          "a second free of a block in a batch is a double free: \"%s\"", out);

    /* A thread with no cache section takes the batch: the newest block. */
    pthread_t t;
    void *got = NULL;
    REQUIRE(pthread_create(&t, NULL, allocate_once, r) == 0, "pthread_create");
    pthread_join(t, &got);
    CHECK(got == batch[CAP - 1], "a new thread's miss hands out the batch's newest (%p, want %p)",
          got, batch[CAP - 1]);
    zt_rack_free(r, got);

    /* Again: this thread takes the next batch, its bin then holds the rest. */
    n = blocks_for_batch(r, v, batch);
    free_elsewhere(r, v, n);
    flush_my_bins();
    void *p = zt_rack_malloc(r, cls_of_msize(BIG), false);
    CHECK(p == batch[CAP - 1], "the miss takes the batch and hands out its newest (%p, want %p)", p,
          batch[CAP - 1]);
    CHECK(bin_count(BIG) == CAP - 1, "the rest of the batch is in the bin (%u, want %u)",
          bin_count(BIG), CAP - 1);
    CHECK(zt_rack_size(r, p) == BIG * 16, "p is live (%zu)", zt_rack_size(r, p));
    zt_rack_free(r, p);
    CHECK(zt_rack_check(r), "zt_rack_check"); /* it empties this thread's bin */

    /* A fork child takes a batch made before the fork. */
    n = blocks_for_batch(r, v, batch);
    free_elsewhere(r, v, n);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        void *q = zt_rack_malloc(r, cls_of_msize(BIG), false);
        _exit(q == batch[CAP - 1] ? 0 : 1);
    }
    int status = 0;
    REQUIRE(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the fork child took the batch made before the fork (status %d)", status);

    /* The statistics free every batch for real: the miss after them takes
     * none (the bin stays empty). */
    CHECK(bin_count(BIG) == 0, "this thread's bin is empty");
    malloc_statistics_t st;
    memset(&st, 0, sizeof st);
    zt_rack_statistics(r, &st);
    void *q = zt_rack_malloc(r, cls_of_msize(BIG), false);
    CHECK(q != NULL && bin_count(BIG) == 0, "after the statistics no batch is taken (bin %u)",
          bin_count(BIG));
    zt_rack_free(r, q);
    CHECK(zt_rack_check(r), "zt_rack_check at the end");
    zt_rack_destroy(r);
}

/* The calling thread's tiny section after one malloc of each msize from
 * BIG down to 40, each with a batch waiting. */
static void *take_every_size(void *arg)
{
    for (unsigned m = BIG; m >= 40; m--)
        zt_rack_malloc(arg, cls_of_msize(m), false);
    return (void *)(uintptr_t)(zt_tcache_self ? zt_tcache_self->sec[ZT_TCACHE_TINY].bytes : 0);
}

/* 24 batches (msizes 40-63, about 620 KiB) wait; a thread with no cache
 * mallocs one block of each size. It takes batches while they fit its
 * budget and then goes to the magazines (fails when every miss takes its
 * batch: the thread would hold about 600 KiB). The blocks it took and left
 * cached go at its exit (the rack checks out). */
static void test_take_within_budget(void)
{
    zt_rack_t *r = new_rack();
    static void *v[1024];
    void *batch[CAP];
    for (unsigned m = BIG; m >= 40; m--) {
        unsigned n = blocks_of_batch(r, v, batch, m);
        free_elsewhere(r, v, n);
        CHECK(zt_rack_size(r, batch[0]) == 0, "msize %u: its bin went to a batch", m);
    }
    pthread_t t;
    void *held = NULL;
    REQUIRE(pthread_create(&t, NULL, take_every_size, r) == 0, "pthread_create");
    pthread_join(t, &held);
    CHECK((size_t)(uintptr_t)held <= ZT_RACK_TC_BUDGET_BYTES,
          "the taking thread holds %zu bytes, within its budget of %u", (size_t)(uintptr_t)held,
          ZT_RACK_TC_BUDGET_BYTES);
    CHECK((size_t)(uintptr_t)held >= ZT_RACK_TC_BUDGET_BYTES / 2,
          "and it did take batches (%zu bytes)", (size_t)(uintptr_t)held);
    CHECK(zt_rack_check(r), "zt_rack_check");
    zt_rack_destroy(r);
}

/* One thread allocates (its misses are the only ones) and frees it all:
 * its budget overflows, but no batch is made, so its next miss after its
 * bin is emptied comes from the magazines (fails when every overflow
 * batches: the miss would take the batch, leaving CAP - 1 in the bin). */
static void test_no_batch_for_self(void)
{
    zt_rack_t *r = new_rack();
    static void *v[1024];
    void *batch[CAP];
    unsigned n = blocks_for_batch(r, v, batch);
    free_all(&(freer_t){r, v, n});
    flush_my_bins();
    void *p = zt_rack_malloc(r, cls_of_msize(BIG), false);
    CHECK(p != NULL && bin_count(BIG) == 0, "no batch was made (bin %u after the miss)",
          bin_count(BIG));
    zt_rack_free(r, p);
    CHECK(zt_rack_check(r), "zt_rack_check");
    zt_rack_destroy(r);
}

int main(void)
{
    zt_active_profile = *zt_profile_find("native");
    zt_options.on_error = "report";
    REQUIRE(zt_chunkmap_init() && zt_va_init(&zt_active_profile, 0), "init failed");
    CHECK_CASE("a batch between threads")
    {
        test_transfer();
    }
    CHECK_CASE("batches taken within the budget")
    {
        test_take_within_budget();
    }
    CHECK_CASE("no batch for the freeing thread's own misses")
    {
        test_no_batch_for_self();
    }
    return CHECK_DONE("test_rack_transfer");
}
