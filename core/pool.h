/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pool.h - the engine's memory: a per-CPU page cache, region pools, slabs
 * and a size-class heap built of slabs.
 *
 * Nothing in the engine calls a general-purpose allocator per object.
 * Pages come from the host (port_pages_alloc) through a per-CPU cache;
 * everything else is carved from them:
 *
 *  - region pools (struct tdb_pool) in the manner of nginx's pool and
 *    Tempesta's TfwPool: bump allocation, the last chunk can be freed or
 *    grown in place by moving a pointer, the whole pool goes at once.
 *    Used for per-request scratch memory.  One thread at a time.
 *  - slabs (struct tdb_slab): fixed-size objects on naturally aligned
 *    blocks, so that an object's block is found by masking its address.
 *    Safe to call from several threads at once.
 *  - heaps (struct tdb_heap): one slab per size class, for records of any
 *    size; each table owns one heap and drops it whole when the table goes.
 *    Safe to call from several threads at once (a table's writer allocates
 *    while RCU callbacks free).
 */
#ifndef TDB_CORE_POOL_H
#define TDB_CORE_POOL_H

#include "port.h"

/*
 * Page cache.  Blocks of PAGE_SIZE << order bytes for order up to
 * TDB_PCACHE_MAX_ORDER are kept on per-CPU free lists (each bounded, the
 * excess going back to the host); larger orders go straight to the host.
 * Blocks are aligned to their size and not zeroed.
 */
#define TDB_PCACHE_MAX_ORDER 4

int tdb_pcache_init(void);
void tdb_pcache_fini(void);
void *tdb_pages_get(unsigned int order);
void tdb_pages_put(void *p, unsigned int order);

/*
 * Region pool.  tdb_pool_create() takes one block of PAGE_SIZE << order
 * bytes and keeps its own header in it; allocations that do not fit the
 * current chunk open a new chunk (larger requests get a chunk of their
 * own).  Memory is 8-byte aligned.  tdb_pool_free() gives memory back only
 * when it is the last allocation; tdb_pool_realloc() grows the last
 * allocation in place when the chunk has room and otherwise moves it.
 * Returns NULL when the host has no memory.
 */
struct tdb_pool;

struct tdb_pool *tdb_pool_create(unsigned int order);
void tdb_pool_destroy(struct tdb_pool *pool);
void *tdb_pool_alloc(struct tdb_pool *pool, size_t n);
void tdb_pool_free(struct tdb_pool *pool, void *p, size_t n);
void *tdb_pool_realloc(struct tdb_pool *pool, void *p, size_t old_n,
		       size_t new_n);
/* Bytes of pages the pool holds. */
size_t tdb_pool_size(const struct tdb_pool *pool);

/*
 * Slab of fixed-size objects (8-byte aligned, at least 8 bytes).
 * tdb_slab_destroy() returns every block at once, whatever is still
 * allocated.
 */
struct tdb_slab;

struct tdb_slab *tdb_slab_create(size_t obj_size);
void tdb_slab_destroy(struct tdb_slab *slab);
void *tdb_slab_alloc(struct tdb_slab *slab);
void tdb_slab_free(struct tdb_slab *slab, void *obj);
/* Bytes of blocks the slab holds. */
size_t tdb_slab_size(const struct tdb_slab *slab);

/*
 * Heap: allocations of any size up to what the host can give.  Small sizes
 * round up to a size class (8-byte steps at first, then about 1/8 of the
 * size, so at most ~12% is lost to rounding); sizes past the largest class
 * get blocks of their own, still tracked by the heap.  The caller passes
 * the size it asked for back to tdb_heap_free().  tdb_heap_destroy()
 * releases everything, including objects never freed.
 */
struct tdb_heap;

struct tdb_heap *tdb_heap_create(void);
void tdb_heap_destroy(struct tdb_heap *heap);
void *tdb_heap_alloc(struct tdb_heap *heap, size_t n);
void tdb_heap_free(struct tdb_heap *heap, void *p, size_t n);
/* Bytes an allocation of @n really takes, rounding included. */
size_t tdb_heap_usable(size_t n);
/* Bytes of pages and large blocks the heap holds. */
size_t tdb_heap_size(const struct tdb_heap *heap);

#endif /* TDB_CORE_POOL_H */
