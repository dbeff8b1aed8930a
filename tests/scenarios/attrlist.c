/* ----------------------------------------------------------------------------
 * attrlist.c — the CA::AttrList::set crash (seed 004), reproduced.
 *
 * Behaves like an iOS 12 app on a 2 GiB iPhone (run it under
 * `zonetrace run --device ios12-2gb`):
 *   1. model objects: ordinary small objects from the default zone (nano);
 *   2. a feed load fills a cache of network buffers (12–15 KiB: the top of
 *      iOS's small allocator, 8 MiB regions); the cache then evicts all but its
 *      "pinned" entries, leaving many small regions sparsely used — libmalloc
 *      unmaps a small region only when it is completely empty;
 *   3. an image cache keeps decoded images in large blocks; when a decode
 *      fails it retries at half the size, so it ends up filling every hole
 *      the address space has left;
 *   4. layers keep building attribute lists of 24-byte nodes in a custom
 *      zone named "QuartzCore" (malloc_create_zone), in a function shaped
 *      like CA::AttrList::set: allocate 24 bytes with malloc_zone_malloc and
 *      store a 32-bit value at offset 8 without checking for NULL.
 * When the QuartzCore zone's tiny region is full it needs a new 1 MiB region
 * at a 1 MiB-aligned 1 MiB hole; there is none, malloc_zone_malloc returns
 * NULL and the store faults at address 0x8 — with the resident footprint far
 * below the device's RAM. Buffers are only partly written (a response shorter
 * than its buffer, a progressive decode), which is what makes address space
 * run out long before RAM, as on the device.
 *
 * `--variant nano`: 24-byte objects from the default zone fill nano's 32-byte
 * class, which is then delegated to the helper zone's tiny allocator; the
 * program frees most of them (releasing the delegation) and exits 0.
 *
 * The functions are noinline so the report's stacks name them.
 * -------------------------------------------------------------------------- */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zonetrace/malloc_zone.h"

#define NOINLINE __attribute__((noinline))
#define KiB 1024u
#define MiB (1024u * 1024u)

/* Deterministic PRNG (xorshift64*), so every run takes the same path. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static size_t rnd_range(size_t lo, size_t hi) { return lo + (size_t)(rnd() % (hi - lo + 1)); }

/* ---- 1. model objects (nano) ---------------------------------------------- */

struct model_object {
    struct model_object *next;
    uint64_t id;
    char payload[];
};

static struct model_object *models;

NOINLINE static void model_objects_create(unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        size_t n = rnd_range(16, 200);
        struct model_object *o = malloc(n);
        if (!o)
            continue;
        o->id = i;
        o->next = models;
        models = o;
    }
}

/* ---- 2. the small-buffer cache (small regions) ----------------------------- */

struct buffer_entry {
    char *data;
    size_t bytes;
};

static struct buffer_entry *small_cache;
static size_t small_cache_count;

/* A feed page arrives: each response gets a buffer sized for the largest
 * response of its kind, and only the response itself is written. */
NOINLINE static void small_buffer_cache_fill(size_t total_bytes)
{
    size_t cap = total_bytes / (8 * KiB) + 1;
    small_cache = malloc(cap * sizeof *small_cache);
    size_t used = 0;
    while (used < total_bytes && small_cache_count < cap) {
        size_t n = rnd_range(12 * KiB, 15 * KiB);
        char *b = malloc(n);
        if (!b)
            break;
        memset(b, 0x5a, 256); /* the response header and body */
        small_cache[small_cache_count].data = b;
        small_cache[small_cache_count].bytes = n;
        small_cache_count++;
        used += n;
    }
}

/* Memory warning: keep only the entries the UI pins (1 in `keep_one_in`). */
NOINLINE static void small_buffer_cache_evict(unsigned keep_one_in)
{
    for (size_t i = 0; i < small_cache_count; i++) {
        if (i % keep_one_in == 0)
            continue;
        free(small_cache[i].data);
        small_cache[i].data = NULL;
    }
}

/* ---- 3. the image cache (large blocks) ------------------------------------- */

static char *image_cache[4096];
static unsigned image_count;

/* Decode an image into a fresh buffer; the decoder writes the first rows
 * (progressive decode) and the rest stays untouched until displayed. */
NOINLINE static char *image_decode(size_t bytes)
{
    char *px = malloc(bytes);
    if (px)
        memset(px, 0x7f, bytes / 16);
    return px;
}

/* Keep decoding full-screen images into the cache; when a decode fails,
 * retry at half the size, down to a 64 KiB thumbnail. Returns when even a
 * thumbnail cannot be decoded. */
NOINLINE static void image_cache_fill(void)
{
    size_t full = 1242u * 2208u * 4u; /* a full-screen iPhone 8 Plus frame, ~10.5 MiB */
    while (image_count < sizeof image_cache / sizeof image_cache[0]) {
        size_t bytes = full;
        char *px = NULL;
        while (bytes >= 64 * KiB && (px = image_decode(bytes)) == NULL)
            bytes /= 2;
        if (!px)
            return;
        image_cache[image_count++] = px;
    }
}

/* ---- 4. layers and their attribute lists (custom zone "QuartzCore") -------- */

struct attr_node {           /* 24 bytes, as CA::AttrList's nodes */
    struct attr_node *next;  /* offset 0 */
    uint32_t key;            /* offset 8: the store that faults */
    uint32_t type;           /* offset 12 */
    uint64_t value;          /* offset 16 */
};

struct layer {
    struct attr_node *attrs;
};

static malloc_zone_t *quartzcore_zone;

/* CA::AttrList::set: allocate a node and fill it, trusting malloc. */
NOINLINE static void CA_AttrList_set(struct layer *layer, uint32_t key, uint32_t type,
                                     uint64_t value)
{
    struct attr_node *node = malloc_zone_malloc(quartzcore_zone, sizeof *node);
    node->key = key; /* NULL node: SIGSEGV at address 0x8 */
    node->type = type;
    node->value = value;
    node->next = layer->attrs;
    layer->attrs = node;
}

NOINLINE static void CA_Layer_setter(struct layer *layer, uint32_t key, uint64_t value)
{
    CA_AttrList_set(layer, key, 17 /* _CAValueType float */, value);
}

NOINLINE static void CALayer_setOpacity(struct layer *layer, float opacity)
{
    uint64_t bits = 0;
    memcpy(&bits, &opacity, sizeof opacity);
    CA_Layer_setter(layer, 0x2a /* kCAOpacity */, bits);
}

/* A collection view dequeues cells; each cell builds a few layers. */
NOINLINE static void collection_view_dequeue_cells(unsigned cells)
{
    static struct layer layers[64];
    for (unsigned c = 0; c < cells; c++)
        for (unsigned l = 0; l < 8; l++)
            CALayer_setOpacity(&layers[(c * 8 + l) % 64], 0.5f + (float)l / 16);
}

/* ---- the nano variant -------------------------------------------------------- */

NOINLINE static void **nano_fill_32_byte_class(size_t count)
{
    void **objs = malloc(count * sizeof *objs);
    for (size_t i = 0; i < count; i++) {
        objs[i] = malloc(24);
        if (!objs[i]) {
            fprintf(stderr, "attrlist: malloc(24) returned NULL at %zu\n", i);
            exit(1);
        }
        memset(objs[i], 1, 24);
    }
    return objs;
}

static int run_nano_variant(void)
{
    /* iOS 12's nano 32-byte class holds 80 MiB: 2,621,440 objects. */
    size_t count = 2700000;
    void **objs = nano_fill_32_byte_class(count);
    /* Free nine in ten: whole nano blocks become >= 75 % free and the class
     * delegation is released. */
    for (size_t i = 0; i < count; i++)
        if (i % 10)
            free(objs[i]);
    void **again = nano_fill_32_byte_class(10000);
    printf("attrlist: nano variant done: %zu objects, then %d more\n", count, 10000);
    (void)again;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--variant") == 0 && strcmp(argv[2], "nano") == 0)
        return run_nano_variant();
    if (argc > 1 && strcmp(argv[1], "--variant") != 0) {
        fprintf(stderr, "usage: attrlist [--variant crash|nano]\n");
        return 2;
    }

    quartzcore_zone = malloc_create_zone(0, 0);
    malloc_set_zone_name(quartzcore_zone, "QuartzCore");

    model_objects_create(200000);
    collection_view_dequeue_cells(100);
    small_buffer_cache_fill(1600u * MiB);
    small_buffer_cache_evict(24);
    collection_view_dequeue_cells(100);
    image_cache_fill();
    printf("attrlist: %zu small buffers cached (1 in 24 kept), %u images decoded\n",
           small_cache_count, image_count);
    fflush(stdout);
    /* The feed is on screen; a moment later the user scrolls, and new cells
     * keep creating layers until a node allocation fails. (The pause also
     * lets the profiler's snapshot after the image cache's NULLs finish
     * before the crash.) */
    usleep(300 * 1000);
    for (;;)
        collection_view_dequeue_cells(1000);
}
