/* ----------------------------------------------------------------------------
 * profile.c — the device table (DESIGN §4): one row per real device, each
 * fact with its source, and the aliases that keep the old size names.
 *
 * Names are the marketing name, lower case, words joined by '-' (iphone6s-
 * plus): the name people know the phone by, short enough for the report's
 * device line, and typeable (the model identifier iPhone8,2 has a comma,
 * which the comma-separated option lists do not love; it is accepted as a
 * name too). Every iPhone row models iOS 12.1.4, shown in `zonetrace
 * profiles`; a row for another OS would add it to the name (iphone8-ios13).
 * The Mac row is named by its OS instead (macos15-arm64): there the
 * allocator changes with the OS, not with the machine.
 *
 * Windows (the heap's address space) follow xnu-4903.221.2
 * osfmk/arm/pmap.c:9868-9890 pmap_max_64bit_offset(ARM_PMAP_MAX_OFFSET_DEVICE):
 * the map ends 512 MiB past the shared region (which the nano region fills,
 * libmalloc-166.220.1 src/nanov2_zone.h:39-45), plus 0.875 GiB when
 * max_mem > 1 GiB and 4.875 GiB when max_mem > 3 GiB. With the 2 GiB below
 * the shared cache (reference/libmalloc.md §2.8) a device's windows are
 * {2, 0} GiB (RAM <= 1 GiB), {2, 0.875} (1 < RAM <= 3 GiB), {2, 4.875}
 * (RAM > 3 GiB); rows say which rule applies.
 *
 * Cores are the logical CPUs iOS counts (_COMM_PAGE_LOGICAL_CPUS, which sizes
 * libmalloc's magazines, libmalloc-166.220.1 src/malloc.c:843-870): in
 * xnu-4903.221.2 MAX_CPUS is the board's CPU_COUNT, else 2
 * (osfmk/arm/cpu_data_internal.h:62-67; pexpert/pexpert/arm64/board_config.h
 * gives 3 for T7001/T8011, 6 for T8015, none for T7000/S8000/T8010). The
 * A10's four cores are two pairs the hardware switches between, so iOS sees
 * 2 (inferred from that MAX_CPUS; the A10X's 6 cores likewise show as
 * CPU_COUNT 3): no iOS 12 iPhone has 4 logical CPUs.
 *
 * Page size: 16 KiB where xnu-4903.221.2 osfmk/arm/proc_reg.h defines
 * __ARM_16K_PG__ (Twister/A9 and later, lines 130-180), 4 KiB on Typhoon
 * (A8/A8X, lines 115-124), which has none.
 *
 * OS → libmalloc: every iOS row models iOS 12.1.4 (the seed's OS) with
 * libmalloc-166.220.1, the tag the zone follows. The mapping is inferred
 * from the tags' dates (reference/libmalloc.md §0: 166.200.60 and
 * 166.220.1 dated 2018-10 and 2018-12, 166.251.2 2019-06; iOS 12.1.4 came
 * out in February 2019, between the last two); Apple's per-release source
 * pages were not reachable to confirm it.
 *
 * RAM: Apple's tech-specs pages do not state RAM; the sizes are the "total
 * MB" column of the measured table (stackoverflow.com/a/15200855, copied in
 * reference/modern_apple.md §4), which also gives each jetsam limit.
 * -------------------------------------------------------------------------- */
#include "profile.h"
#include "str.h"
#include "prim/prim.h"

#include <string.h>

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((size_t)((x)*1024.0 * 1024.0 * 1024.0))
/* libmalloc's default MallocNanoSizeClassBlocks, 16..256 B (166.x): the one
 * spelling, for the rows below and zt_profile_default_nano_class_units. */
#define DEFAULT_NANO_CLASS_UNITS                                                                   \
    {                                                                                              \
        2, 10, 11, 10, 5, 3, 3, 4, 3, 2, 2, 2, 2, 2, 1, 2                                          \
    }

const uint8_t zt_profile_default_nano_class_units[16] = DEFAULT_NANO_CLASS_UNITS;

#define MEASURED "measured (stackoverflow.com/a/15200855): "
/* Sources of the device facts, one spelling each. */
#define SRC_XNU_CPUS                                                                               \
    "cores: xnu-4903.221.2 MAX_CPUS (osfmk/arm/cpu_data_internal.h:62-67, board_config.h)"
#define SRC_XNU_PAGE "page: xnu-4903.221.2 osfmk/arm/proc_reg.h __ARM_16K_PG__"
#define SRC_RAM      "RAM: total MB of the measured table (stackoverflow.com/a/15200855)"
#define SRC_IOS_WIN  "windows: xnu-4903.221.2 osfmk/arm/pmap.c:9868-9890 by RAM"
#define IOS12_OS     "iOS 12.1.4"
#define IOS12_TAG    "libmalloc-166.220.1"

/* The iOS 12 allocator: one nano v2 region (libmalloc-166.220.1
 * src/nanov2_zone.h:39-45), small to 15 KiB (CONFIG_SMALL_CUTOFF_DYNAMIC 0,
 * reference/libmalloc.md §1), no medium, no large cache (CONFIG_LARGE_CACHE
 * is macOS only). Nano is on for every row, the 1 GiB one included: see
 * iphone6. */
#define IOS12_ALLOCATOR                                                                            \
    .nano = ZT_NANO_SINGLE, .nano_class_units = DEFAULT_NANO_CLASS_UNITS,                          \
    .small_limit_bytes = 15u << 10, .medium = false, .large_cache = false, .os_version = IOS12_OS, \
    .libmalloc_tag = IOS12_TAG,                                                                    \
    .entitled_limit_bytes = 0 /* the increased-memory-limit entitlement is iOS 15+ */

/* Today's iPhones (reference/modern_apple.md §1.2, §3). The kernel of iOS
 * 17.4-26 (xnu-10063 .. 11417, and the iOS 26 mirror) has the shared region
 * at [6, 12) GiB (osfmk/mach/shared_region.h:90-91@xnu-11417.121.6) and, for
 * max_mem > 3 GB, the map end at 17.375 GiB (osfmk/arm64/pmap.c:501-508,
 * 11854-11893@xnu-11417.121.6); an app without VM ranges (§3.3) has about
 * 2 GiB below the shared region and [12, 17.375) GiB above it. xzone places
 * no nano region there, so the whole 5.375 GiB is heap. Memory limits of
 * these phones are not public (kern.max_task_pmem, §4, §6.6): the rows have
 * none, so jetsam is off unless ZONETRACE_MEMORY_LIMIT sets one. */
#define MODERN_SHARED_END 0x300000000ull                   /* 12 GiB */
#define MODERN_WIN0_BASE  (0x180000000ull - 0x80000000ull) /* 2 GiB below the shared region */
#define SRC_MODERN_CPU    "cores: six-core CPU, 2 performance + 4 efficiency (Apple's tech specs)"
#define SRC_MODERN_RAM    "page: 16 KiB; RAM: not on Apple's specs pages, the widely reported figure"
#define SRC_MODERN_WIN                                                                             \
    "windows: xnu-11417.121.6 osfmk/arm64/pmap.c:501-508 (map end 17.375 GiB for > 3 GB), "        \
    "shared region [6, 12) GiB (osfmk/mach/shared_region.h:90-91); modern_apple.md §3.2"
#define MODERN_LIMIT_UNKNOWN                                                                       \
    "none known: kern.max_task_pmem is a per-device device-tree value, not public "                \
    "(modern_apple.md §4); set one with ZONETRACE_MEMORY_LIMIT"
#define IOS26   "iOS 26.1", "libmalloc-792.41.1"
#define IOS18_6 "iOS 18.6", "libmalloc-715.140.5"
#define XZONE_ROW(name_, desc_, model_, marketing_, soc_, ram_gib_, os_)                           \
    {                                                                                              \
        .name = name_, .description = desc_, .model = model_, .soc = soc_, .cores = 6,             \
        XZONE_OS(os_),                                                                             \
        .device_source = "model: " model_ "; " SRC_MODERN_CPU "; " SRC_MODERN_RAM "; allocator: "  \
                         "xzone for every process on retail iOS 18.4+ (libmalloc-792.41.1 "        \
                         "src/malloc.c:768-771, featureflags/libmalloc.plist:35-42; "              \
                         "modern_apple.md §1.2); " SRC_MODERN_WIN " (> 3 GiB)",                    \
        .page_bytes = 16u << 10, .nano = ZT_NANO_OFF,                                              \
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS, .small_limit_bytes = 15u << 10,              \
        .window_bytes = {GiB(2), GiB(5.375)},                                                      \
        .window_dev_base = {MODERN_WIN0_BASE, MODERN_SHARED_END}, .allocator = ZT_ALLOC_XZONE,     \
        .ram_bytes = GiB(ram_gib_), .memory_limit_source = MODERN_LIMIT_UNKNOWN,                   \
        .device_name = marketing_,                                                                 \
    }
#define XZONE_OS(...)       XZONE_OS_(__VA_ARGS__)
#define XZONE_OS_(ver, tag) .os_version = ver, .libmalloc_tag = tag

const zt_profile_t zt_profiles[] = {
    {
        .name = "native",
        .description =
            "this machine: libmalloc-166 with macOS's nano v2 (regions as needed) and medium, "
            "no address-space limit",
        .model = "-",
        .soc = "-",
        .cores = 0,
        .os_version = "host",
        .libmalloc_tag = "libmalloc-166.220.1",
        .device_source = "the host: page size, CPUs and RAM as this machine reports them",
        .page_bytes = 0,
        .nano = ZT_NANO_MULTI,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 32u << 10,
        .medium = true,
        .window_bytes = {0, 0},
        .ram_bytes = 0,
        .large_cache = true,
        .memory_limit_source = "none: no jetsam on this machine",
        .device_name = "this machine",
        /* Performance policies (issue 15, bench/README.md): no device has them. */
        .nano_defer_purge_blocks = 256,
        .tcache_batch_refill = true,
        .nano_stagger_classes = true,
        .large_cache_dirty_max_bytes = (size_t)1 << 30,
        .large_cache_depth = 64,
        .large_cache_decay_ms = 1000,
    },
    {
        /* The allocator macOS had before xzone: libmalloc-792.1.1 is the
         * first tag whose OSX build defaults SecureAllocator_SystemWide on
         * (src/malloc.c:737-740, featureflags/libmalloc.plist:66-69); in
         * 715.140.5 the OSX branch still falls back to false (src/malloc.c:
         * 700-708, plist:72-77). Apple silicon starts at macOS 11, medium
         * racks on 64-bit macOS at 283.x, so this is macOS 11-15 (libmalloc
         * 317.x .. 715.x; tag-to-release by tag dates, modern_apple.md §0).
         * Named for the newest of them; macos-arm64 is an alias. */
        .name = "macos15-arm64",
        .description = "Apple-silicon Mac, macOS 11-15 before xzone: 16 KiB pages, nano v2, medium",
        .model = "-",
        .soc = "Apple M",
        .cores = 0, /* Macs differ: the host's */
        .os_version = "macOS 11-15",
        .libmalloc_tag = "libmalloc-317..715",
        .device_source = "allocator: nano v2 + magazines through libmalloc-715.140.5 (src/malloc.c:"
                         "700-708), xzone the default from 792.1.1 (src/malloc.c:737-740, "
                         "featureflags/libmalloc.plist:66-69); OS: tags to macOS releases by date, "
                         "not confirmed on Apple's release pages (reference/modern_apple.md §0); "
                         "page: 16 KiB on Apple silicon",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_MULTI,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 32u << 10,
        .medium = true,
        .window_bytes = {0, 0},
        .ram_bytes = 0,
        .large_cache = true,
        .memory_limit_source = "none: macOS has no per-process jetsam limit",
        .device_name = "Mac",
    },
    {
        /* The 1 GiB device runs nano. libmalloc-166 has no RAM test: nano v2
         * is engaged whenever the spawner passes MallocNanoZone=1
         * (libmalloc-166.220.1 src/nano_malloc_common.c:73-115); the <= 1 GB
         * disable (rdar 35305995) exists only in iOS 11's libmalloc-140
         * (140.50.6 src/platform.h:99-105, src/nano_malloc.c:2038-2044).
         * xnu-4903.221.2 adds MallocNanoZone=1 for _POSIX_SPAWN_NANO_ALLOCATOR
         * with no RAM test (bsd/kern/kern_exec.c:4311-4395) and keeps the 512
         * MiB past the shared region on <= 1 GiB devices (osfmk/arm/pmap.c:
         * 9874-9888), where the nano region goes. Doubt: whether the spawner
         * (SpringBoard/launchd, closed source) withholds the nano flag on
         * 1 GiB devices is unknown; ZONETRACE_NANO=off models that case. */
        .name = "iphone6",
        .description = "iPhone 6 on iOS 12: 1 GiB, 4 KiB pages, one nano region, one 2 GiB window",
        .model = "iPhone7,2 iPhone7,1",
        .soc = "A8",
        .cores = 2, /* T7000: no CPU_COUNT, MAX_CPUS 2 (board_config.h:23-33) */
        .device_source =
            "model: iPhone7,2 (iPhone 6; iPhone7,1 = 6 Plus, same SoC and RAM); " SRC_XNU_CPUS
            "; " SRC_XNU_PAGE " (none on Typhoon, 4 KiB); " SRC_RAM " (1024); " SRC_IOS_WIN
            " (<= 1 GiB: none above the nano region)",
        .page_bytes = 4u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), 0},
        .ram_bytes = GiB(1),
        .memory_limit_bytes = MiB(645),
        .memory_limit_source = MEASURED "iPhone 6 645 MB of 1024, iOS version not given",
        .device_name = "iPhone 6",
    },
    {
        .name = "iphone6s-plus",
        .description = "iPhone 6s Plus on iOS 12.1.4 (the demo's device): 2 GiB, 2 + 0.875 GiB",
        .model = "iPhone8,2",
        .soc = "A9",
        .cores = 2, /* S8000/S8003: no CPU_COUNT, MAX_CPUS 2 (board_config.h:48-83) */
        .device_source = "model: iPhone8,2 (iPhone 6s Plus); " SRC_XNU_CPUS "; " SRC_XNU_PAGE
                         " (Twister: 16 KiB); " SRC_RAM " (2048); " SRC_IOS_WIN " (1-3 GiB)",
        .page_bytes = 16u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(2),
        .memory_limit_bytes = MiB(1392),
        .memory_limit_source = MEASURED "iPhone 6s Plus 1392 MB of 2048, iOS version not given",
        .device_name = "iPhone 6s Plus",
    },
    {
        .name = "iphone7-plus",
        .description = "iPhone 7 Plus on iOS 12: 3 GiB, 2 logical CPUs, 2 + 0.875 GiB windows",
        .model = "iPhone9,2 iPhone9,4",
        .soc = "A10 Fusion",
        .cores = 2, /* T8010: 4 cores in two switched pairs; no CPU_COUNT, MAX_CPUS 2
                       (board_config.h:84-104) */
        .device_source =
            "model: iPhone9,2/9,4 (iPhone 7 Plus); " SRC_XNU_CPUS
            " (the OS sees one pair of the 4 cores); " SRC_XNU_PAGE " (Hurricane: 16 KiB); " SRC_RAM
            " (3072); " SRC_IOS_WIN " (3072 MB is not > 3 GiB)",
        .page_bytes = 16u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(3),
        .memory_limit_bytes = MiB(2040),
        .memory_limit_source = MEASURED "iPhone 7 Plus 2040 MB of 3072, iOS version not given",
        .device_name = "iPhone 7 Plus",
    },
    {
        .name = "iphone8",
        .description = "iPhone 8 on iOS 12: 2 GiB, 6 cores, 2 + 0.875 GiB windows",
        .model = "iPhone10,1 iPhone10,4",
        .soc = "A11 Bionic",
        .cores = 6, /* T8015: CPU_COUNT 6 (board_config.h:123-142) */
        .device_source =
            "model: iPhone10,1/10,4 (iPhone 8); " SRC_XNU_CPUS " (T8015 CPU_COUNT "
            "6); " SRC_XNU_PAGE " (Monsoon: 16 KiB); " SRC_RAM " (1990); " SRC_IOS_WIN " (1-3 GiB)",
        .page_bytes = 16u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(2),
        .memory_limit_bytes = MiB(1364),
        .memory_limit_source = MEASURED "iPhone 8 1364 MB of 1990 on iOS 12.1",
        .device_name = "iPhone 8",
    },
    {
        .name = "iphonex",
        .description = "iPhone X on iOS 12: 3 GiB, 6 cores, 2 + 0.875 GiB windows",
        .model = "iPhone10,3 iPhone10,6",
        .soc = "A11 Bionic",
        .cores = 6, /* T8015: CPU_COUNT 6 (board_config.h:123-142) */
        .device_source =
            "model: iPhone10,3/10,6 (iPhone X; iPhone10,2/10,5 = 8 Plus, same SoC "
            "and RAM); " SRC_XNU_CPUS " (T8015 CPU_COUNT 6); " SRC_XNU_PAGE
            " (Monsoon: 16 KiB); " SRC_RAM " (2785 of 3 GiB); " SRC_IOS_WIN " (<= 3 GiB)",
        .page_bytes = 16u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(3),
        .memory_limit_bytes = MiB(1392),
        .memory_limit_source = MEASURED "iPhone X 1392 MB of 2785 on iOS 11.2.1 (none on 12)",
        .device_name = "iPhone X",
    },
    {
        .name = "iphonexs",
        .description = "iPhone XS on iOS 12: 4 GiB, 6 cores, 2 + 4.875 GiB windows",
        .model = "iPhone11,2 iPhone11,4 iPhone11,6",
        .soc = "A12 Bionic",
        .cores = 6, /* T8020 is not in xnu-4903's public source; Apple: 2 + 4 cores */
        .device_source =
            "model: iPhone11,2 (iPhone XS; 11,4/11,6 = XS Max, same SoC and RAM); "
            "cores: six-core CPU, 2 performance + 4 efficiency (Apple's A12 "
            "announcement, engadget.com/2018/09/12/apple-a12-bionic-7-nanometer-chip); "
            "page: 16 KiB (A9 and later); " SRC_RAM " (3754 of 4 GiB); " SRC_IOS_WIN " (> 3 GiB)",
        .page_bytes = 16u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(4.875)},
        .ram_bytes = GiB(4),
        .memory_limit_bytes = MiB(2040),
        .memory_limit_source = MEASURED "iPhone XS 2040 MB of 3754 on iOS 12.1",
        .device_name = "iPhone XS",
    },
    {
        .name = "ipad-air2",
        .description = "iPad Air 2 on iOS 12: 2 GiB, 3 cores, 4 KiB pages, 2 + 0.875 GiB windows",
        .model = "iPad5,3 iPad5,4",
        .soc = "A8X",
        .cores = 3, /* T7001: CPU_COUNT 3 (board_config.h:35-46) */
        .device_source =
            "model: iPad5,3/5,4 (iPad Air 2); " SRC_XNU_CPUS " (T7001 CPU_COUNT 3); " SRC_XNU_PAGE
            " (none on Typhoon, 4 KiB); " SRC_RAM " (2048); " SRC_IOS_WIN " (1-3 GiB)",
        .page_bytes = 4u << 10,
        IOS12_ALLOCATOR,
        .window_bytes = {GiB(2), GiB(0.875)},
        .ram_bytes = GiB(2),
        .memory_limit_bytes = MiB(1383),
        .memory_limit_source = MEASURED "iPad Air 2 1383 MB of 2048 on iOS 10.2.1 (none on 12)",
        .device_name = "iPad Air 2",
    },
    /* ---- today's iPhones (issue 11; reference/modern_apple.md) ----------- */
    XZONE_ROW("iphone12-ios26", "iPhone 12 on iOS 26.1: 4 GiB, xzone, 2 + 5.375 GiB windows",
              "iPhone13,2", "iPhone 12", "A14 Bionic", 4, IOS26),
    XZONE_ROW("iphone13-pro-ios26",
              "iPhone 13 Pro on iOS 26.1: 6 GiB, xzone, 2 + 5.375 GiB windows", "iPhone14,2",
              "iPhone 13 Pro", "A15 Bionic", 6, IOS26),
    XZONE_ROW("iphone15-pro-ios26",
              "iPhone 15 Pro on iOS 26.1: 8 GiB, xzone, 2 + 5.375 GiB windows", "iPhone16,1",
              "iPhone 15 Pro", "A17 Pro", 8, IOS26),
    XZONE_ROW("iphone12-ios18.6", "iPhone 12 on iOS 18.4-18.6: 4 GiB, xzone, 2 + 5.375 GiB",
              "iPhone13,2", "iPhone 12", "A14 Bionic", 4, IOS18_6),
    XZONE_ROW("iphone13-pro-ios18.6", "iPhone 13 Pro on iOS 18.4-18.6: 6 GiB, xzone, 2 + 5.375 GiB",
              "iPhone14,2", "iPhone 13 Pro", "A15 Bionic", 6, IOS18_6),
    XZONE_ROW("iphone15-pro-ios18.6", "iPhone 15 Pro on iOS 18.4-18.6: 8 GiB, xzone, 2 + 5.375 GiB",
              "iPhone16,1", "iPhone 15 Pro", "A17 Pro", 8, IOS18_6),
    {
        /* iOS 18.0-18.3: nano v2 in front, xzone as its helper ("Nano On
         * Xzone", libmalloc-646 src/malloc.c:1428-1436; SecureAllocator_
         * NanoOnXzone FeatureComplete on iOS, featureflags/libmalloc.plist:
         * 30-47@646; inferred for apps, modern_apple.md §1.2). The nano region
         * takes the 512 MiB past the shared region, as on iOS 12 (inferred). */
        .name = "iphone15-ios18.2",
        .description = "iPhone 15 on iOS 18.2: 6 GiB, nano v2 in front of xzone, 2 + 4.875 GiB",
        .model = "iPhone15,4",
        .soc = "A16 Bionic",
        .cores = 6,
        .os_version = "iOS 18.2",
        .libmalloc_tag = "libmalloc-657.80.3",
        .device_source = "model: iPhone15,4 (iPhone 15); " SRC_MODERN_CPU "; " SRC_MODERN_RAM
                         " (6 GB); allocator: modern_apple.md §1.2 (iOS 18.0-18.3); " SRC_MODERN_WIN
                         " (> 3 GiB; the nano region's 512 MiB first)",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_SINGLE,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 15u << 10,
        .window_bytes = {GiB(2), GiB(4.875)},
        .window_dev_base = {MODERN_WIN0_BASE, MODERN_SHARED_END + 0x20000000ull},
        .allocator = ZT_ALLOC_NANO_ON_XZONE,
        .ram_bytes = GiB(6),
        .memory_limit_source = MODERN_LIMIT_UNKNOWN,
        .device_name = "iPhone 15",
    },
    {
        /* iOS 17.4-17.6: nano processes (apps) keep nano v2 + magazines
         * (SecureAllocator_Nano UnderDevelopment, modern_apple.md §1.2, inferred);
         * the shared region is 6 GiB from xnu-10063 (iOS 17.4). The magazine
         * model is libmalloc-166's (small to 15 KiB, no medium on iOS): not
         * checked line by line against 521. */
        .name = "iphone12-ios17.5",
        .description = "iPhone 12 on iOS 17.5: 4 GiB, nano v2 + magazines, 2 + 4.875 GiB windows",
        .model = "iPhone13,2",
        .soc = "A14 Bionic",
        .cores = 6,
        .os_version = "iOS 17.5",
        .libmalloc_tag = "libmalloc-521.120.7",
        .device_source =
            "model: iPhone13,2 (iPhone 12); " SRC_MODERN_CPU "; " SRC_MODERN_RAM
            " (4 GB); allocator: modern_apple.md §1.2 (iOS 17.4-17.6, inferred); " SRC_MODERN_WIN
            " (> 3 GiB; the nano region's 512 MiB first)",
        .page_bytes = 16u << 10,
        .nano = ZT_NANO_SINGLE,
        .nano_class_units = DEFAULT_NANO_CLASS_UNITS,
        .small_limit_bytes = 15u << 10,
        .window_bytes = {GiB(2), GiB(4.875)},
        .window_dev_base = {MODERN_WIN0_BASE, MODERN_SHARED_END + 0x20000000ull},
        .allocator = ZT_ALLOC_MAGAZINES,
        .ram_bytes = GiB(4),
        .memory_limit_source = MODERN_LIMIT_UNKNOWN,
        .device_name = "iPhone 12",
    },
    {.name = NULL},
};

const zt_profile_alias_t zt_profile_aliases[] = {
    {"macos-arm64", "macos15-arm64",
     "the pre-xzone Mac allocator (macOS 11-15); renamed when libmalloc-792 made xzone the "
     "default"},
    {"ios12-1gb", "iphone6", "the 1 GiB iPhone: iPhone 6 (iPhone7,2)"},
    {"ios12-2gb", "iphone6s-plus", "the 2 GiB iPhone: iPhone 6s Plus (iPhone8,2)"},
    {"ios12-4gb", "iphonexs", "the 4 GiB iPhone: iPhone XS (iPhone11,2)"},
    {NULL, NULL, NULL},
};

zt_profile_t zt_active_profile;

bool zt_profile_has_model(const zt_profile_t *p, const char *model)
{
    size_t n = zt_str_len(model);
    if (n == 0 || !p->model) return false;
    for (const char *s = p->model; *s;) {
        const char *e = strchr(s, ' ');
        size_t len = e ? (size_t)(e - s) : zt_str_len(s);
        if (len == n && zt_str_ncmp(s, model, n) == 0) return true;
        if (!e) break;
        s = e + 1;
    }
    return false;
}

const zt_profile_t *zt_profile_find(const char *name)
{
    for (const zt_profile_alias_t *a = zt_profile_aliases; a->alias; a++)
        if (zt_str_cmp(a->alias, name) == 0) {
            name = a->name;
            break;
        }
    for (const zt_profile_t *p = zt_profiles; p->name; p++)
        if (zt_str_cmp(p->name, name) == 0) return p;
    for (const zt_profile_t *p = zt_profiles; p->name; p++)
        if (zt_profile_has_model(p, name)) return p;
    return NULL;
}

unsigned zt_profile_os_major(const zt_profile_t *p)
{
    const char *s = p->os_version;
    if (!s || zt_str_ncmp(s, "iOS ", 4) != 0) return 0;
    unsigned v = 0;
    for (s += 4; *s >= '0' && *s <= '9' && v < 1000; s++)
        v = v * 10 + (unsigned)(*s - '0');
    return v;
}

const char *zt_profile_allocator_name(const zt_profile_t *p)
{
    switch (p->allocator) {
    case ZT_ALLOC_XZONE:
        return "xzone";
    case ZT_ALLOC_NANO_ON_XZONE:
        return "nano-on-xzone";
    default:
        return "magazines";
    }
}

size_t zt_profile_page_bytes(const zt_profile_t *p)
{
    return p->page_bytes ? p->page_bytes : zt_prim_page_bytes();
}

size_t zt_profile_va_limit_bytes(const zt_profile_t *p)
{
    size_t total = 0;
    for (int i = 0; i < ZT_PROFILE_MAX_WINDOWS; i++)
        total += p->window_bytes[i];
    return total;
}

/* As libmalloc's MallocNanoSizeClassBlocks (libmalloc-166.220.1
 * src/nanov2_malloc.c:766-796): 16 comma-separated counts, each at most 64,
 * summing to 64; a 0 is accepted (that class gets no blocks, see nano.c's
 * layout_classes). libmalloc's strtol would also take signs and spaces; only
 * plain digits are accepted here. */
bool zt_profile_parse_class_units(const char *s, uint8_t units[16])
{
    uint8_t tmp[16];
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        if (*s < '0' || *s > '9') return false;
        unsigned v = 0;
        while (*s >= '0' && *s <= '9' && v <= 64)
            v = v * 10 + (unsigned)(*s++ - '0');
        if (v > 64) return false;
        tmp[i] = (uint8_t)v;
        sum += v;
        if (i < 15 && *s++ != ',') return false;
    }
    if (*s != 0 || sum != 64) return false;
    memcpy(units, tmp, 16);
    return true;
}
