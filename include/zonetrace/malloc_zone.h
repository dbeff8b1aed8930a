/* ----------------------------------------------------------------------------
 * zonetrace/malloc_zone.h — Apple's malloc zone API, and the zone version
 * zonetrace implements.
 *
 * Apple platforms: the system <malloc/malloc.h> of the SDK being built
 * against, nothing else. Its structs are the ones libmalloc reads, with the
 * SDK's field set and, on arm64e, its __ptrauth qualifiers; an older SDK
 * simply lacks the newer fields (the macOS 13 SDK has no zone_type, added
 * in libmalloc-474, version 14), which is why zonetrace's vtables never name
 * a field above the version it declares (below).
 *
 * Other systems: malloc_zone_t and malloc_introspection_t in the newest
 * layout (libmalloc-792.41.1 include/malloc/malloc.h:130-252, 558-582), with
 * the version that introduced each field next to it. A field may be read
 * only when zone->version is at least that number; libmalloc's rule
 * (libmalloc-792.41.1 include/malloc/malloc.h:697-700: check the version, then NULL).
 *
 * The functions declared at the end are implemented by zonetrace
 * (zone/zone_api.c, zone/registry.c, zone/virtual_zone.c) with libmalloc's
 * semantics (reference/libmalloc.md §4).
 * -------------------------------------------------------------------------- */
#ifndef ZONETRACE_MALLOC_ZONE_H
#define ZONETRACE_MALLOC_ZONE_H

/* The malloc_zone_t version of every zone zonetrace creates (and of its
 * virtual default zone): 10, the fields up to claimed_address. Not 13 or
 * more: we do not promise that malloc/calloc set errno themselves (the
 * libmalloc fast path of version >= 13), we have no try_free_default (13),
 * no zone_type (14), no malloc_with_options (15) and no typed entry points
 * (16, mandatory there). With 10, libmalloc takes its "legacy" path: it
 * calls zone->malloc, sets errno and calls malloc_logger itself
 * (libmalloc-792.41.1 include/malloc/malloc.h:660-695, the version summary).
 * Version >= 9 also means the fork child calls introspect->reinit_lock. */
#define ZT_MALLOC_ZONE_VERSION 10

/* The newest layout this header gives: 16 off Apple (below); on Apple the
 * SDK's, which zonetrace assumes to be no newer than 10's fields (the macOS
 * 13 SDK). The xzone model (zone/xzone.c), which emulates a libmalloc-792
 * zone, declares version 16 only where its fields exist. */
#if defined(__APPLE__)
#include <malloc/malloc.h>
#define ZT_MALLOC_ZONE_LAYOUT 10
#else
#define ZT_MALLOC_ZONE_LAYOUT 16

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uintptr_t vm_address_t;
typedef uintptr_t vm_size_t;
typedef unsigned int task_t; /* mach_port_t */
typedef int kern_return_t;
typedef int boolean_t;
typedef unsigned long long malloc_type_id_t;

#define KERN_SUCCESS 0
#define KERN_FAILURE 5

typedef struct _malloc_zone_t malloc_zone_t;

typedef struct _vm_range_t {
    vm_address_t address;
    vm_size_t size;
} vm_range_t;

typedef struct malloc_statistics_t {
    unsigned blocks_in_use;
    size_t size_in_use;
    size_t max_size_in_use; /* high water mark of touched memory */
    size_t size_allocated;  /* reserved in memory */
} malloc_statistics_t;

typedef kern_return_t memory_reader_t(task_t remote_task, vm_address_t remote_address,
                                      vm_size_t size, void **local_memory);
typedef void vm_range_recorder_t(task_t, void *, unsigned type, vm_range_t *, unsigned);
typedef void print_task_printer_t(const char *fmt, ...);

#define MALLOC_PTR_IN_USE_RANGE_TYPE   1
#define MALLOC_PTR_REGION_RANGE_TYPE   2
#define MALLOC_ADMIN_REGION_RANGE_TYPE 4
#define MALLOC_ZONE_SPECIFIC_FLAGS     0xff00

typedef struct malloc_introspection_t {
    kern_return_t (*enumerator)(task_t task, void *, unsigned type_mask, vm_address_t zone_address,
                                memory_reader_t reader, vm_range_recorder_t recorder);
    size_t (*good_size)(malloc_zone_t *zone, size_t size);
    boolean_t (*check)(malloc_zone_t *zone);
    void (*print)(malloc_zone_t *zone, boolean_t verbose);
    void (*log)(malloc_zone_t *zone, void *address);
    void (*force_lock)(malloc_zone_t *zone);
    void (*force_unlock)(malloc_zone_t *zone);
    void (*statistics)(malloc_zone_t *zone, malloc_statistics_t *stats);
    boolean_t (*zone_locked)(malloc_zone_t *zone);               /* version >= 5 */
    boolean_t (*enable_discharge_checking)(malloc_zone_t *zone); /* version >= 7 */
    void (*disable_discharge_checking)(malloc_zone_t *zone);     /* version >= 7 */
    void (*discharge)(malloc_zone_t *zone, void *memory);        /* version >= 7 */
    void *enumerate_discharged_pointers;                         /* >= 7; a block on Apple */
    void (*reinit_lock)(malloc_zone_t *zone);                    /* version >= 9 */
    void (*print_task)(task_t task, unsigned level, vm_address_t zone_address,
                       memory_reader_t reader, print_task_printer_t printer); /* >= 11 */
    void (*task_statistics)(task_t task, vm_address_t zone_address, memory_reader_t reader,
                            malloc_statistics_t *stats); /* >= 12 */
    unsigned zone_type;                                  /* >= 14; not in the macOS 13 SDK */
} malloc_introspection_t;

struct _malloc_zone_t {
    void *reserved1; /* must be 0 (CFAllocator relies on it) */
    void *reserved2; /* must be 0 */
    size_t (*size)(struct _malloc_zone_t *zone, const void *ptr);
    void *(*malloc)(struct _malloc_zone_t *zone, size_t size);
    void *(*calloc)(struct _malloc_zone_t *zone, size_t num_items, size_t size);
    void *(*valloc)(struct _malloc_zone_t *zone, size_t size);
    void (*free)(struct _malloc_zone_t *zone, void *ptr);
    void *(*realloc)(struct _malloc_zone_t *zone, void *ptr, size_t size);
    void (*destroy)(struct _malloc_zone_t *zone);
    const char *zone_name;
    unsigned (*batch_malloc)(struct _malloc_zone_t *zone, size_t size, void **results,
                             unsigned num_requested);
    void (*batch_free)(struct _malloc_zone_t *zone, void **to_be_freed, unsigned num_to_be_freed);
    struct malloc_introspection_t *introspect;
    unsigned version;
    void *(*memalign)(struct _malloc_zone_t *zone, size_t alignment, size_t size);   /* >= 5 */
    void (*free_definite_size)(struct _malloc_zone_t *zone, void *ptr, size_t size); /* >= 6 */
    size_t (*pressure_relief)(struct _malloc_zone_t *zone, size_t goal);             /* >= 8 */
    boolean_t (*claimed_address)(struct _malloc_zone_t *zone, void *ptr);            /* >= 10 */
    void (*try_free_default)(struct _malloc_zone_t *zone, void *ptr);                /* >= 13 */
    void *(*malloc_with_options)(struct _malloc_zone_t *zone, size_t align, size_t size,
                                 uint64_t options); /* >= 15 */
    void *(*malloc_type_malloc)(struct _malloc_zone_t *zone, size_t size,
                                malloc_type_id_t type_id); /* >= 16 */
    void *(*malloc_type_calloc)(struct _malloc_zone_t *zone, size_t count, size_t size,
                                malloc_type_id_t type_id);
    void *(*malloc_type_realloc)(struct _malloc_zone_t *zone, void *ptr, size_t size,
                                 malloc_type_id_t type_id);
    void *(*malloc_type_memalign)(struct _malloc_zone_t *zone, size_t alignment, size_t size,
                                  malloc_type_id_t type_id);
    void *(*malloc_type_malloc_with_options)(struct _malloc_zone_t *zone, size_t align, size_t size,
                                             uint64_t options, malloc_type_id_t type_id);
};

/* malloc_logger protocol (reference/libmalloc.md §5). */
#define MALLOC_LOG_TYPE_ALLOCATE       2
#define MALLOC_LOG_TYPE_DEALLOCATE     4
#define MALLOC_LOG_TYPE_HAS_ZONE       8
#define MALLOC_LOG_TYPE_CLEARED        64
typedef void(malloc_logger_t)(uint32_t type, uintptr_t arg1, uintptr_t arg2, uintptr_t arg3,
                              uintptr_t result, uint32_t num_hot_frames_to_skip);
extern malloc_logger_t *malloc_logger;

malloc_zone_t *malloc_default_zone(void);
malloc_zone_t *malloc_create_zone(vm_size_t start_size, unsigned flags);
void malloc_destroy_zone(malloc_zone_t *zone);
void *malloc_zone_malloc(malloc_zone_t *zone, size_t size);
void *malloc_zone_calloc(malloc_zone_t *zone, size_t num_items, size_t size);
void *malloc_zone_valloc(malloc_zone_t *zone, size_t size);
void *malloc_zone_realloc(malloc_zone_t *zone, void *ptr, size_t size);
void *malloc_zone_memalign(malloc_zone_t *zone, size_t alignment, size_t size);
void malloc_zone_free(malloc_zone_t *zone, void *ptr);
unsigned malloc_zone_batch_malloc(malloc_zone_t *zone, size_t size, void **results,
                                  unsigned num_requested);
void malloc_zone_batch_free(malloc_zone_t *zone, void **to_be_freed, unsigned num);
malloc_zone_t *malloc_zone_from_ptr(const void *ptr);
size_t malloc_size(const void *ptr);
size_t malloc_good_size(size_t size);
boolean_t malloc_zone_check(malloc_zone_t *zone);
void malloc_zone_print(malloc_zone_t *zone, boolean_t verbose);
void malloc_zone_statistics(malloc_zone_t *zone, malloc_statistics_t *stats);
size_t malloc_zone_pressure_relief(malloc_zone_t *zone, size_t goal);
void malloc_zone_register(malloc_zone_t *zone);
void malloc_zone_unregister(malloc_zone_t *zone);
void malloc_set_zone_name(malloc_zone_t *zone, const char *name);
const char *malloc_get_zone_name(malloc_zone_t *zone);
boolean_t malloc_claimed_address(void *ptr);
kern_return_t malloc_get_all_zones(task_t task, memory_reader_t reader, vm_address_t **addresses,
                                   unsigned *count);

#ifdef __cplusplus
}
#endif

#endif /* !__APPLE__ */
#endif /* ZONETRACE_MALLOC_ZONE_H */
