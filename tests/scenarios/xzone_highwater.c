/* xzone_highwater.c — exhausts an xzone phone's address space through the
 * pointer heap's high-water mark (issue 11): round after round, one size
 * class fills 256 MiB of blocks (never touched: the pages stay unused), keeps one block in 4096 and frees the rest.
 * On xzone every empty chunk of a pointer xzone stays with that xzone
 * (libmalloc-792.41.1 src/xzone_malloc/xzone_malloc.c:1743-1754) and a
 * pointer segment is never unmapped (xzone_segment.c:3074-3090), so each new
 * size class needs fresh segments while the live heap stays small. On
 * magazines the freed regions go back and the same program runs to its end.
 * Prints one line per round and, when malloc fails, where. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUND_BYTES (256u << 20)
#define KEEP_EVERY  4096

static void **kept;
static size_t nkept;

static int fill_round(size_t size)
{
    size_t n = ROUND_BYTES / size;
    void **blocks = calloc(n, sizeof *blocks);
    if (!blocks) return -1;
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        blocks[i] = malloc(size);
        if (!blocks[i]) { /* stop here: the heap stays as it was at the failure */
            printf("malloc(%zu) returned NULL after %zu blocks of this round\n", size, i);
            printf("out of address space (blocks of %zu B)\n", size);
            exit(3);
        }
    }
    for (size_t i = 0; i < n && blocks[i]; i++) {
        if (i % KEEP_EVERY == 0) {
            memset(blocks[i], 1, size);
            kept[nkept++] = blocks[i];
        } else {
            free(blocks[i]);
        }
    }
    free(blocks);
    return ok;
}

int main(void)
{
    /* the tiny and small bins of xzone above 128 B (xzone_malloc.c:6060-6101) */
    static const size_t sizes[] = {160,  192,  224,  256,  320,   384,   448,   512,
                                   640,  768,  896,  1024, 1280,  1536,  1792,  2048,
                                   2560, 3072, 3584, 4096, 5120,  6144,  7168,  8192,
                                   10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768};
    size_t nsizes = sizeof sizes / sizeof sizes[0];
    /* No stdio buffer: its malloc comes from another call site, whose
     * pointer bucket (a hash of the slid return address) changes from run to
     * run, and it would take the 4 KiB bin's early block in some runs only. */
    setvbuf(stdout, NULL, _IONBF, 0);
    kept = calloc(nsizes * (ROUND_BYTES / 160 / KEEP_EVERY + 1), sizeof *kept);
    if (!kept) return 2;
    for (size_t r = 0; r < nsizes; r++) {
        if (fill_round(sizes[r]) != 0) return 2;
        printf("round %zu: %zu B blocks done, %zu kept\n", r + 1, sizes[r], nkept);
        fflush(stdout);
    }
    printf("all %zu rounds done\n", nsizes);
    return 0;
}
