/* ----------------------------------------------------------------------------
 * init.c — library initialisation: options → active profile → chunk map →
 * address space → default zones → registry → fork handlers → profiler.
 *
 * zt_init() runs lazily inside the first allocation, possibly before main
 * and before libc has finished starting, and exactly once: other threads
 * wait on a lock. Allocations made re-entrantly while it runs on the same
 * thread (libc's pthread_atfork, the profiler's thread creation) are served
 * from the bootstrap arena, a bump allocator in .bss whose blocks free()
 * recognises and ignores; once zt_initialised is set, the zones serve
 * everyone, including the rest of zt_init itself.
 * -------------------------------------------------------------------------- */
#include "zone.h"
#include "chunkmap.h"
#include "hooks.h"
#include "nano.h"
#include "registry.h"
#include "szone.h"
#include "va.h"
#include "xzone.h"
#include "aslr.h"
#include "str.h"
#include "zonetrace.h"

#include <errno.h>
#include <string.h>

int zt_initialised;

static zt_lock_t init_lock = ZT_LOCK_INIT;
static __thread int init_running __attribute__((tls_model("initial-exec")));

/* ---- bootstrap arena ------------------------------------------------------- */

#define BOOT_BYTES        (256u << 10)
#define BOOT_HEADER_BYTES 16 /* the block's usable size, just below it */

static char boot_arena[BOOT_BYTES] __attribute__((aligned(4096)));
static size_t boot_used_bytes;

void *zt_bootstrap_malloc(size_t bytes, size_t align_bytes)
{
    if (align_bytes < 16) align_bytes = 16;
    if (bytes > BOOT_BYTES || align_bytes > BOOT_BYTES / 4) {
        errno = ENOMEM;
        return NULL;
    }
    size_t usable = (bytes + 15) & ~(size_t)15;
    if (usable == 0) usable = 16;
    uintptr_t arena = (uintptr_t)boot_arena, p;
    size_t old = __atomic_load_n(&boot_used_bytes, __ATOMIC_RELAXED), end;
    do {
        p = (arena + old + BOOT_HEADER_BYTES + align_bytes - 1) & ~(uintptr_t)(align_bytes - 1);
        end = p - arena + usable;
        if (end > BOOT_BYTES) {
            zt_prim_message("bootstrap arena exhausted (%zu bytes requested during start-up)",
                            bytes);
            errno = ENOMEM;
            return NULL;
        }
    } while (!__atomic_compare_exchange_n(&boot_used_bytes, &old, end, true, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    ((size_t *)p)[-1] = usable;
    return (void *)p; /* .bss, never reused: already zero */
}

bool zt_bootstrap_contains(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot_arena < BOOT_BYTES;
}

size_t zt_bootstrap_size(const void *p)
{
    return zt_bootstrap_contains(p) ? ((const size_t *)p)[-1] : 0;
}

/* ---- initialisation ---------------------------------------------------------- */

__attribute__((noreturn)) static void fatal(const char *what)
{
    zt_prim_message("cannot initialise: %s (profile %s)", what,
                    zt_active_profile.name ? zt_active_profile.name : "?");
    zt_prim_exit(2);
}

/* The profile row with the environment's overrides applied. */
static void choose_profile(void)
{
    const zt_profile_t *row = zt_profile_find(zt_options.device); /* validated by options.c */
    zt_active_profile = *(row ? row : &zt_profiles[0]);
    zt_profile_t *p = &zt_active_profile;
    if (zt_str_cmp(zt_options.nano, "off") == 0)
        p->nano = ZT_NANO_OFF;
    else if (zt_str_cmp(zt_options.nano, "on") == 0 && p->nano == ZT_NANO_OFF)
        p->nano = zt_profile_va_limit_bytes(p) ? ZT_NANO_SINGLE : ZT_NANO_MULTI; /* device-like */
    if (zt_options.nano_class_blocks[0])
        zt_profile_parse_class_units(zt_options.nano_class_blocks, p->nano_class_units);
    if (zt_options.va_limit) {
        p->window_bytes[0] = (size_t)zt_options.va_limit;
        for (int i = 1; i < ZT_PROFILE_MAX_WINDOWS; i++)
            p->window_bytes[i] = 0;
    }
    /* The extended virtual-addressing entitlement jumbos the map: it ends at
     * 63 GiB instead of the RAM-sized default (xnu-11417.121.6 bsd/kern/
     * kern_exec.c:3489-3513, osfmk/vm/vm_map.c:21391-21398; iOS 14+,
     * reference/modern_apple.md §3.1). Window 1 grows to that end. */
    if (zt_options.entitlement[0] && zt_profile_va_limit_bytes(p) && !zt_options.va_limit) {
        if (zt_profile_os_major(p) < 14) {
            zt_prim_message("ZONETRACE_ENTITLEMENT=%s: profile %s runs iOS %u; the entitlement "
                            "exists from iOS 14",
                            zt_options.entitlement, p->name, zt_profile_os_major(p));
            zt_prim_exit(2);
        }
        uint64_t base1 = p->window_dev_base[1] ? p->window_dev_base[1] : ZT_IOS_NANO_END;
        p->window_bytes[1] = (size_t)(ZT_IOS_JUMBO_END - base1);
    }
    if (zt_options.memory_limit) {
        p->memory_limit_bytes = zt_options.memory_limit;
        p->memory_limit_source = "ZONETRACE_MEMORY_LIMIT";
    }
}

static void init_once(void)
{
    if (!zt_options_load()) zt_prim_exit(2); /* options.c printed why */
    choose_profile();
    if (zt_options.verbose) {
        zt_prim_message("zonetrace %s, profile %s: %s", zt_version(), zt_active_profile.name,
                        zt_active_profile.description);
        zt_options_print();
    }
    if (!zt_chunkmap_init()) fatal("the chunk map could not be mapped");
    if (!zt_va_init(&zt_active_profile, zt_options.va_limit))
        fatal("the heap address space could not be reserved");

    /* libmalloc's _malloc_initialize: the scalable zone (or, on xzone
     * profiles, the xzone zone) first, then nano in front of it; if nano
     * cannot reserve its region it is abandoned and the helper is the
     * default. */
    malloc_zone_t *helper = zt_active_profile.allocator == ZT_ALLOC_MAGAZINES
                                ? zt_szone_create("DefaultMallocZone")
                                : zt_xzone_create("DefaultMallocZone");
    if (!helper) fatal("the default zone could not be created");
    malloc_zone_t *zone0 = helper;
    if (zt_active_profile.nano != ZT_NANO_OFF) {
        malloc_zone_t *nano = zt_nano_create(helper, &zt_active_profile);
        if (nano) {
            zone0 = nano;
            helper->zone_name = "MallocHelperZone"; /* its page is still writable */
        } else if (zt_options.verbose) {
            zt_prim_message("nano zone abandoned: its region could not be reserved");
        }
    }
    zt_registry_init(zone0, zone0 != helper ? helper : NULL);
    zt_hook_zone_created(helper); /* zt_nano_create reports the nano zone itself */
    __atomic_store_n(&zt_initialised, 1, __ATOMIC_RELEASE);

#if defined(__APPLE__)
    /* libmalloc locks every registered zone around fork (zt_install
     * registers ours); the helper also takes the address-space lock. */
    zt_szone_set_fork_va(helper);
#else
    /* Registered now, early in the process: handlers registered later run
     * their prepare first, so ours (the allocator's locks) comes last. */
    if (zt_prim_atfork(zt_registry_fork_prepare, zt_registry_fork_parent, zt_registry_fork_child) !=
        0)
        zt_prim_message("pthread_atfork failed: fork() while other threads allocate is unsafe");
#endif
    zt_hook_init();
}

bool zt_init(void)
{
    if (zt_likely(__atomic_load_n(&zt_initialised, __ATOMIC_ACQUIRE))) return true;
    if (init_running) return false; /* re-entered from inside init_once on this thread */
    init_running = 1;
    zt_lock(&init_lock);
    if (!__atomic_load_n(&zt_initialised, __ATOMIC_ACQUIRE)) init_once();
    zt_unlock(&init_lock);
    init_running = 0;
    return true;
}

/* ZONETRACE_VERBOSE: per-zone statistics at exit. A destructor runs from
 * exit() and from ld.so's fini, never from _exit or a fatal signal. */
__attribute__((destructor)) static void print_statistics_at_exit(void)
{
    if (__atomic_load_n(&zt_initialised, __ATOMIC_ACQUIRE) && zt_options.verbose)
        zt_registry_print_statistics();
}

ZT_EXPORT const char *zt_version(void)
{
    return "0.1.0";
}

ZT_EXPORT const char *zt_device(void)
{
    zt_init();
    return zt_active_profile.name ? zt_active_profile.name : "native";
}
