/* ----------------------------------------------------------------------------
 * test_promote.c — the Darwin default-zone takeover (zone/promote.c, what
 * zone/front/darwin.c runs against Apple's libmalloc) driven on Linux against
 * zonetrace's own libmalloc-compatible registry (zone/registry.c,
 * zone/zone_api.c), which stands in for libmalloc's malloc_zones: the
 * process's zone 0 ("DefaultMallocZone", with its helper) is "the system".
 *
 * Each case runs in a forked child: a takeover changes the process's default
 * zone for good, as it does on Darwin. The rules followed are libmalloc's,
 * cited as libmalloc-<tag> src/malloc.c:<line>:
 * - register appends (166.220.1 :668, 792.41.1 :1399) and refuses a zone
 *   already registered (166 :616-622, 792 :1337-1343);
 * - unregister moves the LAST zone into the freed slot (166 :1657-1660,
 *   792 :2991-2994) and logs "malloc_zone_unregister() failed" for an
 *   unknown zone (166 :1681, 792 :3019);
 * - the owner of a pointer is the first registered zone whose size() claims
 *   it (166 :479-540, 792 :1184-1270); malloc_zone_from_ptr returns it
 *   (166 :1563-1570, 792 :2842-2849), the virtual default zone only while
 *   zone 0 is the initial default zone (166 :468-475, 512-519).
 * -------------------------------------------------------------------------- */
#include "zonetrace.h"
#include "zonetrace/malloc_zone.h"
#include "promote.h"
#include "szone.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"

/* ---- the registry seen as libmalloc's ---------------------------------------- */

#define MAXZ 64

typedef struct zlist {
    malloc_zone_t *z[MAXZ];
    unsigned n;
} zlist_t;

static zlist_t snapshot(void)
{
    zlist_t l = {{0}, 0};
    vm_address_t *a = NULL;
    unsigned n = 0;
    malloc_get_all_zones(0, NULL, &a, &n);
    for (unsigned i = 0; i < n && i < MAXZ; i++)
        l.z[l.n++] = (malloc_zone_t *)a[i];
    return l;
}

static int index_of(const zlist_t *l, const malloc_zone_t *z)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->z[i] == z) return (int)i;
    return -1;
}

static bool same(const zlist_t *a, const zlist_t *b)
{
    return a->n == b->n && memcmp(a->z, b->z, a->n * sizeof a->z[0]) == 0;
}

static const char *name_of(const malloc_zone_t *z)
{
    return z && z->zone_name ? z->zone_name : "(unnamed)";
}

/* The order as "A B C" for failure messages (two buffers: two per message). */
static const char *show(const zlist_t *l)
{
    static char bufs[2][1024];
    static unsigned turn;
    char *buf = bufs[turn++ & 1];
    size_t at = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < l->n && at < sizeof bufs[0] - 64; i++)
        at +=
            (size_t)snprintf(buf + at, sizeof bufs[0] - at, "%s%s", i ? " " : "", name_of(l->z[i]));
    return buf;
}

static malloc_zone_t *registry_zone0(void)
{
    zlist_t l = snapshot();
    return l.n ? l.z[0] : NULL;
}

static malloc_zone_t *purgeable_zone;

static malloc_zone_t *registry_purgeable(void)
{
    return purgeable_zone;
}

/* Our registry's calls, as front/darwin.c passes libmalloc's. */
static zt_promote_registry_t registry_ops(void)
{
    zt_promote_registry_t r = {malloc_zone_register,
                               malloc_zone_unregister,
                               registry_zone0,
                               registry_purgeable,
                               NULL,
                               NULL};
    return r;
}

static malloc_zone_t *new_zone(const char *name)
{
    malloc_zone_t *z = zt_szone_create(name); /* not registered */
    REQUIRE(z != NULL, "zt_szone_create(%s) failed", name);
    return z;
}

/* Run body in a child; the child's failures fail the case. */
static void in_child(void (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork failed");
    if (pid == 0) {
        body();
        fflush(NULL);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid, "waitpid failed");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the child failed (its lines are above), status %#x", st);
}

/* ---- cases ------------------------------------------------------------------- */

/* libmalloc's two registry rules on their own. */
static void registry_rules(void)
{
    zlist_t before = snapshot();
    malloc_zone_t *a = new_zone("A"), *b = new_zone("B"), *c = new_zone("C");
    malloc_zone_register(a);
    malloc_zone_register(b);
    malloc_zone_register(c);
    zlist_t l = snapshot();
    CHECK(l.n == before.n + 3 && l.z[before.n] == a && l.z[before.n + 1] == b &&
              l.z[before.n + 2] == c,
          "register appends (166 :668): got %s", show(&l));
    malloc_zone_register(b); /* refused: already registered (166 :616-622) */
    zlist_t dup = snapshot();
    CHECK(same(&dup, &l), "a second register of B changed the list: %s", show(&dup));
    malloc_zone_unregister(a); /* the last zone, C, moves into A's slot (166 :1657-1660) */
    l = snapshot();
    CHECK(l.n == before.n + 2 && l.z[before.n] == c && l.z[before.n + 1] == b,
          "unregister(A) moves the last zone into A's slot: got %s", show(&l));
    malloc_zone_register(a); /* appended again */
    l = snapshot();
    CHECK(l.n == before.n + 3 && l.z[before.n + 2] == a, "re-register appends: got %s", show(&l));
    malloc_zone_unregister(l.z[0]); /* zone 0 gone: A, last, is zone 0 now */
    zlist_t after0 = snapshot();
    CHECK(after0.z[0] == a && after0.n == l.n - 1,
          "unregister(zone 0) puts the last zone first: %s", show(&after0));
    malloc_zone_register(l.z[0]);
    after0 = snapshot();
    CHECK(after0.z[after0.n - 1] == l.z[0], "the old zone 0 is last: %s", show(&after0));
    malloc_zone_t *never = new_zone("Never");
    zlist_t pre = snapshot();
    malloc_zone_unregister(never); /* "malloc_zone_unregister() failed" (166 :1681) */
    zlist_t post = snapshot();
    CHECK(same(&pre, &post), "unregistering an unknown zone changed the list: %s", show(&post));
}

static zlist_t initial;
static malloc_zone_t *ours, *our_helper;

/* The takeover with a helper and a purgeable zone (darwin_override.md §9 step 5). */
static void promote_order(void)
{
    initial = snapshot();
    REQUIRE(initial.n >= 1 && strcmp(name_of(initial.z[0]), "DefaultMallocZone") == 0,
            "zone 0 is %s", name_of(initial.z[0]));
    malloc_zone_t *d = initial.z[0];
    /* libmalloc creates and registers it on first use (166 :1058-1076, 792 :3552-3594) */
    purgeable_zone = new_zone("DefaultPurgeableMallocZone");
    malloc_zone_register(purgeable_zone);
    ours = new_zone("ZonetraceZone");
    our_helper = new_zone("ZonetraceHelperZone");
    zt_promote_registry_t reg = registry_ops();
    unsigned tries = 99;
    zt_promote_result_t r = zt_promote(&reg, ours, our_helper, &tries);
    zlist_t l = snapshot();
    CHECK(r == ZT_PROMOTED && tries == 1, "result %d after %u rounds: %s", r, tries, show(&l));
    /* [D R.. P] + OH + O; unregister D: O → slot 0; register D; unregister P: D → P's
     * slot; register P:  [O R.. D OH P] */
    zlist_t want = {{0}, 0};
    want.z[want.n++] = ours;
    for (unsigned i = 1; i < initial.n; i++)
        want.z[want.n++] = initial.z[i];
    want.z[want.n++] = d;
    want.z[want.n++] = our_helper;
    want.z[want.n++] = purgeable_zone;
    CHECK(same(&l, &want), "order %s, want %s", show(&l), show(&want));
    CHECK(index_of(&l, d) > 0, "the old default zone must stay registered: %s", show(&l));
    CHECK(index_of(&l, purgeable_zone) > index_of(&l, ours),
          "the purgeable zone must come after ours: %s", show(&l));
    CHECK(malloc_default_zone() != ours && malloc_default_zone()->zone_name != NULL,
          "malloc_default_zone() stays the virtual zone");
    void *p = malloc(40); /* the process's malloc now goes to zone 0 = ours */
    CHECK(p && ours->size(ours, p) >= 40, "malloc after the takeover: %p is not ours", p);
    CHECK(malloc_zone_from_ptr(p) == ours,
          "zone 0 is not the initial default zone: from_ptr names the zone itself (166 :512-516)");
    free(p);
    /* Promoting again: already zone 0, nothing changes. */
    zlist_t pre = snapshot();
    r = zt_promote(&reg, ours, our_helper, &tries);
    zlist_t post = snapshot();
    CHECK(r == ZT_PROMOTED && tries == 0 && same(&pre, &post), "second takeover: %d, %u, %s", r,
          tries, show(&post));
}

static void refusal(void)
{
    malloc_zone_t *interposer = new_zone("InterposerZone"); /* ASan's role: it holds slot 0 */
    zt_promote_registry_t reg = registry_ops();
    REQUIRE(zt_promote(&reg, interposer, NULL, NULL) == ZT_PROMOTED, "interposer setup failed");
    zlist_t pre = snapshot();
    void (*foreign_before)(void *) = zt_szone_foreign_free;
    malloc_zone_t *o = new_zone("ZonetraceZone");
    reg.foreign_free = free;
    unsigned tries = 99;
    zt_promote_result_t r = zt_promote(&reg, o, new_zone("ZonetraceHelperZone"), &tries);
    zlist_t post = snapshot();
    CHECK(r == ZT_PROMOTE_REFUSED, "zone 0 is InterposerZone: result %d, want refused", r);
    CHECK(same(&pre, &post) && index_of(&post, o) < 0, "a refusal registers nothing: %s",
          show(&post));
    CHECK(tries == 0, "no round after a refusal (%u)", tries);
    CHECK(zt_szone_foreign_free == foreign_before, "a refusal installs no foreign handoff");
}

/* Blocks of the system zones reach ours through the virtual default zone
 * without an owner lookup (darwin_override.md §1 item 3): each goes back to
 * the zone that owns it. */
static void handoff_registered(void)
{
    zlist_t start = snapshot();
    malloc_zone_t *d = start.z[0];
    void *small = d->malloc(d, 48);        /* nano, or tiny without nano */
    void *mid = d->malloc(d, 5000);        /* small (the helper's with nano) */
    void *big = d->malloc(d, 300000);      /* large */
    void *grow = d->malloc(d, 64);         /* realloc'd through ours below */
    void *grow_big = d->malloc(d, 200000); /* the same, a large block */
    REQUIRE(small && mid && big && grow && grow_big, "system allocations failed");
    malloc_zone_t *owner_small = malloc_zone_from_ptr(small);
    malloc_zone_t *owner_big = malloc_zone_from_ptr(big);
    promote_order();
    REQUIRE(registry_zone0() == ours, "takeover failed");
    void *ptrs[] = {small, mid, big};
    for (unsigned i = 0; i < 3; i++) {
        CHECK(ours->size(ours, ptrs[i]) == 0, "ours claims a system block %p", ptrs[i]);
        CHECK(malloc_size(ptrs[i]) > 0, "malloc_size(%p) must find the system zone", ptrs[i]);
        malloc_zone_t *z = malloc_zone_from_ptr(ptrs[i]);
        CHECK(z && z != ours && z != malloc_default_zone() && z->size(z, ptrs[i]) > 0,
              "from_ptr(%p) = %s, want the system zone that owns it", ptrs[i], name_of(z));
    }
    CHECK(owner_small == malloc_default_zone() && owner_big == malloc_default_zone(),
          "before the takeover zone 0's blocks are the virtual zone's (166 :512-519)");
    /* free through the default zone: ours → the owner */
    malloc_zone_t *dz = malloc_default_zone();
    malloc_zone_t *small_owner = malloc_zone_from_ptr(small);
    malloc_zone_free(dz, small);
    malloc_zone_free(dz, mid);
    malloc_zone_free(dz, big);
    for (unsigned i = 0; i < 3; i++)
        CHECK(malloc_size(ptrs[i]) == 0, "block %u (%p) still live after its handoff", i, ptrs[i]);
    CHECK(small_owner->size(small_owner, small) == 0, "the owner did not free it");
    /* realloc through the default zone: the owner reallocates, in its own zone */
    void *g = malloc_zone_realloc(dz, grow, 100);
    void *gb = malloc_zone_realloc(dz, grow_big, 400000);
    CHECK(g && malloc_zone_from_ptr(g) != ours && malloc_size(g) >= 100,
          "realloc of a system block must stay in the system zones (got %s)",
          name_of(malloc_zone_from_ptr(g)));
    CHECK(gb && malloc_zone_from_ptr(gb) != ours && malloc_size(gb) >= 400000,
          "realloc of a system large block must stay in the system zones (got %s)",
          name_of(malloc_zone_from_ptr(gb)));
    void *volatile gv = g, *volatile gbv = gb; /* looked at after free on purpose */
    free(g);                                   /* the public free finds the owner (166 :479-540) */
    free(gb);
    CHECK(malloc_size(gv) == 0 && malloc_size(gbv) == 0,
          "free() of system blocks after the takeover");
}

/* A block no zone of the registry owns (on Darwin: every system zone's, as
 * zonetrace's registry holds only its own zones) goes to the handoff
 * functions the registry gave (libc's free/realloc on Darwin). */
static void *handed_free, *handed_realloc;
static size_t handed_realloc_bytes;
static char foreign_block[64] __attribute__((aligned(16)));
static char foreign_result[128] __attribute__((aligned(16)));

static void record_free(void *p)
{
    handed_free = p;
}

static void *record_realloc(void *p, size_t bytes)
{
    handed_realloc = p;
    handed_realloc_bytes = bytes;
    return foreign_result;
}

static void handoff_unregistered(void)
{
    purgeable_zone = NULL;
    zt_promote_registry_t reg = registry_ops();
    reg.foreign_free = record_free;
    reg.foreign_realloc = record_realloc;
    malloc_zone_t *o = new_zone("ZonetraceZone");
    REQUIRE(zt_promote(&reg, o, NULL, NULL) == ZT_PROMOTED, "takeover failed");
    CHECK(malloc_size(foreign_block) == 0, "no zone may claim the test's static block");
    malloc_zone_free(malloc_default_zone(), foreign_block);
    CHECK(handed_free == foreign_block, "free went to %p, want the handoff", handed_free);
    void *r = malloc_zone_realloc(malloc_default_zone(), foreign_block, 100);
    CHECK(handed_realloc == foreign_block && handed_realloc_bytes == 100 && r == foreign_result,
          "realloc: handed %p (%zu bytes), returned %p", handed_realloc, handed_realloc_bytes, r);
}

/* An agent that puts its zone back into slot 0 after every registry change
 * (ASan's mprotect hook, darwin_override.md §5; 792 :1415-1419): three
 * rounds, then give up, ours still registered. */
static malloc_zone_t *agent;
static int fixing;
static unsigned zone0_unregisters;

static void agent_fixup(void)
{
    if (fixing) return;
    zlist_t l = snapshot();
    if (index_of(&l, agent) < 0 || l.z[0] == agent) return;
    fixing = 1;
    malloc_zone_unregister(agent); /* then last, then into slot 0 */
    malloc_zone_register(agent);
    malloc_zone_t *z0 = registry_zone0();
    malloc_zone_unregister(z0);
    malloc_zone_register(z0);
    fixing = 0;
}

static void agent_register(malloc_zone_t *z)
{
    malloc_zone_register(z);
    agent_fixup();
}

static void agent_unregister(malloc_zone_t *z)
{
    if (z == registry_zone0()) zone0_unregisters++;
    malloc_zone_unregister(z);
    agent_fixup();
}

static void bounded_retries(void)
{
    purgeable_zone = NULL;
    agent = new_zone("DefaultMallocZone"); /* looks like libmalloc's: not refused */
    zt_promote_registry_t plain = registry_ops();
    REQUIRE(zt_promote(&plain, agent, NULL, NULL) == ZT_PROMOTED, "agent setup failed");
    zt_promote_registry_t reg = plain;
    reg.zone_register = agent_register;
    reg.zone_unregister = agent_unregister;
    malloc_zone_t *o = new_zone("ZonetraceZone");
    unsigned tries = 0;
    zt_promote_result_t r = zt_promote(&reg, o, NULL, &tries);
    zlist_t l = snapshot();
    CHECK(r == ZT_PROMOTE_GAVE_UP, "result %d, want gave up: %s", r, show(&l));
    CHECK(tries == ZT_PROMOTE_TRIES && zone0_unregisters == ZT_PROMOTE_TRIES,
          "%u rounds, %u unregisters of zone 0, want %d", tries, zone0_unregisters,
          ZT_PROMOTE_TRIES);
    CHECK(l.z[0] == agent && index_of(&l, o) > 0, "the agent keeps slot 0, ours stays: %s",
          show(&l));
}

int main(void)
{
    free(malloc(1)); /* initialise the library */
    CHECK_CASE("register, unregister, re-register: libmalloc's slot moves")
    {
        in_child(registry_rules);
    }
    CHECK_CASE("takeover order: ours zone 0, old default kept, purgeable after ours")
    {
        in_child(promote_order);
    }
    CHECK_CASE("refused when zone 0 is not DefaultMallocZone")
    {
        in_child(refusal);
    }
    CHECK_CASE("system blocks freed, reallocated and sized by their own zone")
    {
        in_child(handoff_registered);
    }
    CHECK_CASE("blocks outside the registry go to the foreign handoff")
    {
        in_child(handoff_unregistered);
    }
    CHECK_CASE("retries bounded against an agent that keeps slot 0")
    {
        in_child(bounded_retries);
    }
    return CHECK_DONE("test_promote");
}
