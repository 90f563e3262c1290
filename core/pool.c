// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pool.c - the engine's memory: per-CPU page cache, region pools, slabs and
 * the size-class heap (see pool.h for the contract).
 *
 * Layering: the host gives naturally aligned blocks (port_pages_alloc); the
 * page cache keeps recently freed ones per CPU; region pools and slabs carve
 * blocks from the page cache; the heap is an array of slabs, one per size
 * class, plus blocks of their own for sizes past the largest class.
 *
 * Geometry, for the numbers the rest of the engine plans with:
 *
 *  - page cache: orders 0..TDB_PCACHE_MAX_ORDER, at most
 *    TDB_PCACHE_CPU_BYTES per order per CPU (64 blocks of order 0, 4 of
 *    order 4); beyond that blocks go back to the host at once.
 *  - region pool: a 16-byte header per chunk, the pool's own 56 bytes in
 *    the first chunk; requests that do not fit an empty chunk get a block
 *    of their own.
 *  - slab: a 48-byte header at the start of each block, so objects whose
 *    size is a multiple of 16 are 16-byte aligned; the block order is the
 *    smallest (up to TDB_SLAB_MAX_ORDER) that holds 8 objects or more while
 *    wasting at most 1/16 of the block.  One empty block per slab stays
 *    cached, so that an object allocated and freed at a block boundary does
 *    not bounce pages.
 *  - heap: classes of 8-byte steps up to 128, then 8 classes per power of
 *    two (16-byte steps up to 256, 32 up to 512, ...) up to 16 KiB: 72
 *    classes, rounding loss at most 1/9 of the class.  Larger sizes come
 *    from the host at their size plus a 32-byte header, rounded to a page.
 */
#include "pool.h"
#include "port.h"

#define TDB_ALIGN(n, a) (((n) + (a)-1) & ~((size_t)(a)-1))
#define TDB_BLOCK_BYTES(order) ((size_t)PAGE_SIZE << (order))

/* The kernel has it; the user-space port does not (yet). */

/* Orders past this are refused: the request is surely a bug. */
#define TDB_MAX_ORDER 28

/* Index of the highest set bit of @x, which must not be 0. */
static __always_inline unsigned int tdb_ilog2(unsigned long x)
{
	/* A compiler builtin, not libc: both hosts have it. */
	return (unsigned int)(8 * sizeof(x) - 1) - __builtin_clzl(x);
}

/*
 * The smallest order whose block holds @bytes, or TDB_MAX_ORDER + 1 when
 * even the largest allowed block does not.
 */
static unsigned int tdb_order_of(size_t bytes)
{
	if (bytes <= PAGE_SIZE)
		return 0;
	if (bytes > TDB_BLOCK_BYTES(TDB_MAX_ORDER))
		return TDB_MAX_ORDER + 1;
	return tdb_ilog2(bytes - 1) + 1 - PAGE_SHIFT;
}

/* Circular doubly linked lists, as the kernel's list_head. */
struct tdb_list {
	struct tdb_list *next, *prev;
};

static inline void tdb_list_init(struct tdb_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool tdb_list_empty(const struct tdb_list *head)
{
	return head->next == head;
}

static inline void tdb_list_add(struct tdb_list *node, struct tdb_list *head)
{
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
}

static inline void tdb_list_del(struct tdb_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
}

/* ------------------------------------------------------------------ */
/* Page cache                                                          */
/* ------------------------------------------------------------------ */

/* Bytes of blocks of one order that one CPU keeps at most. */
#define TDB_PCACHE_CPU_BYTES (256UL << 10)

struct tdb_pcache_block {
	struct tdb_pcache_block *next;
};

struct tdb_pcache_cpu {
	port_spinlock_t lock;
	unsigned int nr[TDB_PCACHE_MAX_ORDER + 1];
	struct tdb_pcache_block *free[TDB_PCACHE_MAX_ORDER + 1];
};

/*
 * Two cache lines per CPU: the data of neighbouring CPUs then never share
 * a line, whatever the alignment port_zalloc() gives.
 */
union tdb_pcache_slot {
	struct tdb_pcache_cpu c;
	char pad[128];
};

static struct {
	union tdb_pcache_slot *cpus;
	unsigned int nr_cpus;
	unsigned int users;
} tdb_pcache;

static inline unsigned int tdb_pcache_limit(unsigned int order)
{
	unsigned int n = (TDB_PCACHE_CPU_BYTES >> PAGE_SHIFT) >> order;

	return n < 2 ? 2 : n;
}

/*
 * Sets up the per-CPU page cache.  Must run before any other function of
 * this file (the host calls it once at start-up, before its threads run);
 * a second call only counts a user, to be matched by tdb_pcache_fini().
 * Returns 0 or -ENOMEM.
 */
int tdb_pcache_init(void)
{
	unsigned int i, nr;
	union tdb_pcache_slot *cpus;

	if (tdb_pcache.users) {
		tdb_pcache.users++;
		return 0;
	}
	nr = port_nr_cpus();
	if (!nr)
		nr = 1;
	cpus = port_zalloc(sizeof(*cpus) * nr);
	if (!cpus)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		port_spin_init(&cpus[i].c.lock);
	tdb_pcache.nr_cpus = nr;
	tdb_pcache.users = 1;
	WRITE_ONCE(tdb_pcache.cpus, cpus);
	return 0;
}

/*
 * Drops one user of the page cache; the last one returns every cached
 * block to the host.  Blocks still out may be put back later: they then go
 * straight to the host.  Must not race with tdb_pcache_init().
 */
void tdb_pcache_fini(void)
{
	union tdb_pcache_slot *cpus = tdb_pcache.cpus;
	struct tdb_pcache_block *b;
	unsigned int i, o;

	if (!tdb_pcache.users || --tdb_pcache.users)
		return;
	WRITE_ONCE(tdb_pcache.cpus, NULL);
	for (i = 0; i < tdb_pcache.nr_cpus; i++) {
		struct tdb_pcache_cpu *pc = &cpus[i].c;

		for (o = 0; o <= TDB_PCACHE_MAX_ORDER; o++) {
			while ((b = pc->free[o])) {
				pc->free[o] = b->next;
				port_pages_free(b, o);
			}
			pc->nr[o] = 0;
		}
		port_spin_destroy(&pc->lock);
	}
	port_free(cpus, sizeof(*cpus) * tdb_pcache.nr_cpus);
	tdb_pcache.nr_cpus = 0;
}

/*
 * The calling CPU's cache, NULL before tdb_pcache_init().  The CPU is only
 * a hint (the caller may migrate right after), which is why each list has
 * a lock: it keeps two CPUs' users, or a user and an RCU callback, apart.
 */
static inline struct tdb_pcache_cpu *tdb_pcache_this_cpu(void)
{
	union tdb_pcache_slot *cpus = READ_ONCE(tdb_pcache.cpus);
	unsigned int cpu;

	if (unlikely(!cpus))
		return NULL;
	cpu = port_cpu_id();
	if (unlikely(cpu >= tdb_pcache.nr_cpus))
		cpu %= tdb_pcache.nr_cpus;
	return &cpus[cpu].c;
}

/*
 * Returns a block of PAGE_SIZE << @order bytes aligned to its size, not
 * zeroed, or NULL when the host has no memory.  Any order the host can
 * give is accepted; only orders up to TDB_PCACHE_MAX_ORDER are cached.
 */
void *tdb_pages_get(unsigned int order)
{
	struct tdb_pcache_cpu *pc;
	struct tdb_pcache_block *b;

	if (order > TDB_PCACHE_MAX_ORDER)
		return port_pages_alloc(order);
	pc = tdb_pcache_this_cpu();
	if (unlikely(!pc))
		return port_pages_alloc(order);
	port_spin_lock(&pc->lock);
	b = pc->free[order];
	if (likely(b)) {
		pc->free[order] = b->next;
		pc->nr[order]--;
	}
	port_spin_unlock(&pc->lock);
	if (unlikely(!b))
		return port_pages_alloc(order);
	return b;
}

/*
 * Gives back a block from tdb_pages_get() of the same @order.  It stays on
 * this CPU's list unless the list is full; NULL is ignored.
 */
void tdb_pages_put(void *p, unsigned int order)
{
	struct tdb_pcache_cpu *pc;
	struct tdb_pcache_block *b = p;

	if (unlikely(!p))
		return;
	if (order > TDB_PCACHE_MAX_ORDER)
		goto to_host;
	pc = tdb_pcache_this_cpu();
	if (unlikely(!pc))
		goto to_host;
	port_spin_lock(&pc->lock);
	if (likely(pc->nr[order] < tdb_pcache_limit(order))) {
		b->next = pc->free[order];
		pc->free[order] = b;
		pc->nr[order]++;
		port_spin_unlock(&pc->lock);
		return;
	}
	port_spin_unlock(&pc->lock);
to_host:
	port_pages_free(p, order);
}

/* ------------------------------------------------------------------ */
/* Region pool                                                         */
/* ------------------------------------------------------------------ */

struct tdb_pool_chunk {
	struct tdb_pool_chunk *next;
	unsigned int order;
};

#define TDB_POOL_CHUNK_HDR TDB_ALIGN(sizeof(struct tdb_pool_chunk), 8)

/*
 * Lives at the start of the first chunk, @head being that chunk's header.
 * The chunk list starts at @cur, the chunk being carved; blocks of single
 * large allocations are linked right behind it, newest first, so that the
 * last of them can be freed in O(1).  The first chunk ends the list.
 */
struct tdb_pool {
	struct tdb_pool_chunk head;
	char *pos;
	char *end;
	struct tdb_pool_chunk *cur;
	size_t size;
	size_t chunk_room;
};

#define TDB_POOL_HDR TDB_ALIGN(sizeof(struct tdb_pool), 8)

/*
 * Creates a pool whose chunks are blocks of PAGE_SIZE << @order bytes
 * (@order up to TDB_MAX_ORDER).  The first chunk holds the pool itself.
 * Returns NULL when the host has no memory or @order is absurd.
 */
struct tdb_pool *tdb_pool_create(unsigned int order)
{
	struct tdb_pool *pool;

	if (order > TDB_MAX_ORDER)
		return NULL;
	pool = tdb_pages_get(order);
	if (!pool)
		return NULL;
	pool->head.next = NULL;
	pool->head.order = order;
	pool->cur = &pool->head;
	pool->pos = (char *)pool + TDB_POOL_HDR;
	pool->end = (char *)pool + TDB_BLOCK_BYTES(order);
	pool->size = TDB_BLOCK_BYTES(order);
	pool->chunk_room = TDB_BLOCK_BYTES(order) - TDB_POOL_CHUNK_HDR;
	return pool;
}

/* Returns every chunk of @pool, the pool's own last; NULL is ignored. */
void tdb_pool_destroy(struct tdb_pool *pool)
{
	struct tdb_pool_chunk *c, *next;

	if (!pool)
		return;
	for (c = pool->cur; c != &pool->head; c = next) {
		next = c->next;
		tdb_pages_put(c, c->order);
	}
	tdb_pages_put(pool, pool->head.order);
}

/* Whether @need bytes (8-aligned) get a block of their own. */
static inline bool tdb_pool_is_large(const struct tdb_pool *pool, size_t need)
{
	return need > pool->chunk_room;
}

/*
 * The slow path of tdb_pool_alloc(): @n does not fit the current chunk.
 * What remains of that chunk is given up, as in TfwPool, unless @n gets a
 * block of its own.
 */
static noinline void *tdb_pool_alloc_slow(struct tdb_pool *pool, size_t n)
{
	struct tdb_pool_chunk *c;
	unsigned int order;
	size_t need;

	if (n > TDB_BLOCK_BYTES(TDB_MAX_ORDER))
		return NULL;
	need = TDB_ALIGN(n, 8);
	if (tdb_pool_is_large(pool, need)) {
		order = tdb_order_of(need + TDB_POOL_CHUNK_HDR);
		if (order > TDB_MAX_ORDER)
			return NULL;
		c = tdb_pages_get(order);
		if (!c)
			return NULL;
		c->order = order;
		c->next = pool->cur->next;
		pool->cur->next = c;
		pool->size += TDB_BLOCK_BYTES(order);
		return (char *)c + TDB_POOL_CHUNK_HDR;
	}
	order = pool->head.order;
	c = tdb_pages_get(order);
	if (!c)
		return NULL;
	c->order = order;
	c->next = pool->cur;
	pool->cur = c;
	pool->size += TDB_BLOCK_BYTES(order);
	pool->pos = (char *)c + TDB_POOL_CHUNK_HDR + need;
	pool->end = (char *)c + TDB_BLOCK_BYTES(order);
	return (char *)c + TDB_POOL_CHUNK_HDR;
}

/*
 * Returns @n bytes, 8-byte aligned, valid until the pool is destroyed, or
 * NULL when the host has no memory.  @n may be 0.  The fast path is a
 * compare and an add: pos and end are 8-aligned, so @n fitting the room
 * means its rounded size does too.
 */
void *tdb_pool_alloc(struct tdb_pool *pool, size_t n)
{
	char *p = pool->pos;

	if (likely(n <= (size_t)(pool->end - p))) {
		pool->pos = p + TDB_ALIGN(n, 8);
		return p;
	}
	return tdb_pool_alloc_slow(pool, n);
}

/*
 * Gives back @p of @n bytes (the size it was allocated with) when it is
 * the last allocation of the current chunk, or the newest large block;
 * anything else waits for tdb_pool_destroy().  NULL is ignored.
 */
void tdb_pool_free(struct tdb_pool *pool, void *p, size_t n)
{
	struct tdb_pool_chunk *c;
	size_t need = TDB_ALIGN(n, 8);

	if (unlikely(!p))
		return;
	/* Only the current chunk ends where pos is: its header precedes pos. */
	if ((char *)p + need == pool->pos) {
		pool->pos = p;
		return;
	}
	if (!tdb_pool_is_large(pool, need))
		return;
	c = (struct tdb_pool_chunk *)((char *)p - TDB_POOL_CHUNK_HDR);
	if (pool->cur->next != c)
		return;
	pool->cur->next = c->next;
	pool->size -= TDB_BLOCK_BYTES(c->order);
	tdb_pages_put(c, c->order);
}

/*
 * Resizes @p from @old_n to @new_n bytes, keeping its first
 * min(@old_n, @new_n) bytes.  Shrinking, growing the last allocation while
 * its chunk has room, and growing a large allocation within its block all
 * stay in place; otherwise the data moves and the old place is given back
 * when tdb_pool_free() could.  NULL @p allocates.  Returns NULL, leaving
 * @p as it was, when the host has no memory.
 */
void *tdb_pool_realloc(struct tdb_pool *pool, void *p, size_t old_n,
		       size_t new_n)
{
	struct tdb_pool_chunk *c = NULL;
	size_t old_need = TDB_ALIGN(old_n, 8), new_need;
	void *q;

	if (!p)
		return tdb_pool_alloc(pool, new_n);
	if (new_n > TDB_BLOCK_BYTES(TDB_MAX_ORDER))
		return NULL;
	new_need = TDB_ALIGN(new_n, 8);
	if ((char *)p + old_need == pool->pos) {
		if (new_need <= (size_t)(pool->end - (char *)p)) {
			pool->pos = (char *)p + new_need;
			return p;
		}
	} else if (new_need <= old_need) {
		return p;
	} else if (tdb_pool_is_large(pool, old_need)) {
		c = (struct tdb_pool_chunk *)((char *)p - TDB_POOL_CHUNK_HDR);
		if (new_need + TDB_POOL_CHUNK_HDR <= TDB_BLOCK_BYTES(c->order))
			return p;
		/*
		 * The new block will be linked in front of this one, so a
		 * buffer grown again and again would keep all its old blocks:
		 * unlink it now, while it can be found in O(1).
		 */
		if (pool->cur->next == c)
			pool->cur->next = c->next;
		else
			c = NULL;
	}
	q = tdb_pool_alloc(pool, new_n);
	if (!q)
		goto relink;
	memcpy(q, p, old_n < new_n ? old_n : new_n);
	if (c) {
		pool->size -= TDB_BLOCK_BYTES(c->order);
		tdb_pages_put(c, c->order);
	} else {
		tdb_pool_free(pool, p, old_n);
	}
	return q;
relink:
	if (c) {
		c->next = pool->cur->next;
		pool->cur->next = c;
	}
	return NULL;
}

/* Bytes of blocks @pool holds, its first chunk included. */
size_t tdb_pool_size(const struct tdb_pool *pool)
{
	return pool->size;
}

/* ------------------------------------------------------------------ */
/* Slab                                                                */
/* ------------------------------------------------------------------ */

/* Blocks hold at least this many objects when the order limit allows. */
#define TDB_SLAB_MIN_OBJS 8
#define TDB_SLAB_MAX_ORDER 10

/*
 * At the start of every block.  @free lists freed objects through their
 * first word; objects past @fresh were never handed out, which spares
 * threading a list through a new block and touching all of it at once.
 */
struct tdb_slab_block {
	struct tdb_list link;
	struct tdb_slab *slab;
	void *free;
	unsigned int used;
	unsigned int fresh;
};

/* 16 so that objects of a size multiple of 16 are 16-byte aligned. */
#define TDB_SLAB_HDR TDB_ALIGN(sizeof(struct tdb_slab_block), 16)

/*
 * Blocks are on @partial (some room left; allocation takes the first),
 * @full, or are the one cached @empty block.  @size is written under the
 * lock and read without it.
 */
struct tdb_slab {
	port_spinlock_t lock;
	unsigned int obj_size;
	unsigned int per_block;
	unsigned int order;
	struct tdb_list partial;
	struct tdb_list full;
	struct tdb_slab_block *empty;
	size_t size;
	bool embedded;
};

/*
 * Fills in @slab for objects of @obj_size bytes (rounded up to 8, at least
 * 8): picks the smallest block order that holds TDB_SLAB_MIN_OBJS objects
 * and wastes at most 1/16 of the block, else the least wasteful order that
 * holds the minimum, else the smallest that holds one object.  Returns 0,
 * or -E2BIG when no order up to TDB_SLAB_MAX_ORDER holds one object.
 */
static int tdb_slab_setup(struct tdb_slab *slab, size_t obj_size)
{
	unsigned int o, best = TDB_SLAB_MAX_ORDER + 1, one = best;
	size_t best_waste = 0, size = TDB_ALIGN(obj_size ? obj_size : 8, 8);

	if (size > TDB_BLOCK_BYTES(TDB_SLAB_MAX_ORDER) - TDB_SLAB_HDR)
		return -E2BIG;
	for (o = 0; o <= TDB_SLAB_MAX_ORDER; o++) {
		size_t bytes = TDB_BLOCK_BYTES(o);
		size_t per = (bytes - TDB_SLAB_HDR) / size;
		size_t waste = bytes - per * size;

		if (per && one > TDB_SLAB_MAX_ORDER)
			one = o;
		if (per < TDB_SLAB_MIN_OBJS)
			continue;
		if (waste * 16 <= bytes) {
			best = o;
			break;
		}
		/* Compare waste / bytes across orders without dividing. */
		if (best > TDB_SLAB_MAX_ORDER ||
		    waste * TDB_BLOCK_BYTES(best) < best_waste * bytes) {
			best = o;
			best_waste = waste;
		}
	}
	if (best > TDB_SLAB_MAX_ORDER)
		best = one;
	port_spin_init(&slab->lock);
	slab->obj_size = (unsigned int)size;
	slab->order = best;
	slab->per_block =
		(unsigned int)((TDB_BLOCK_BYTES(best) - TDB_SLAB_HDR) / size);
	tdb_list_init(&slab->partial);
	tdb_list_init(&slab->full);
	slab->empty = NULL;
	slab->size = 0;
	slab->embedded = false;
	return 0;
}

/*
 * Creates a slab of objects of @obj_size bytes (up to 4 MiB less a block
 * header).  Takes no block until the first allocation.  Returns NULL when
 * @obj_size is too large or there is no memory.
 */
struct tdb_slab *tdb_slab_create(size_t obj_size)
{
	struct tdb_slab *slab = port_zalloc(sizeof(*slab));

	if (!slab)
		return NULL;
	if (tdb_slab_setup(slab, obj_size)) {
		port_free(slab, sizeof(*slab));
		return NULL;
	}
	return slab;
}

/*
 * Returns a block to the page cache.  Its object area was poisoned for
 * AddressSanitizer while the slab owned it; the page cache writes into it.
 */
static void tdb_slab_block_put(struct tdb_slab *slab, struct tdb_slab_block *b)
{
	port_unpoison((char *)b + TDB_SLAB_HDR,
		      TDB_BLOCK_BYTES(slab->order) - TDB_SLAB_HDR);
	tdb_pages_put(b, slab->order);
}

/* Returns every block of @slab to the page cache, live objects or not. */
static void tdb_slab_release(struct tdb_slab *slab)
{
	struct tdb_list *lists[] = { &slab->partial, &slab->full };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		while (!tdb_list_empty(lists[i])) {
			struct tdb_list *l = lists[i]->next;

			tdb_list_del(l);
			tdb_slab_block_put(slab, container_of(l,
						struct tdb_slab_block, link));
		}
	}
	if (slab->empty)
		tdb_slab_block_put(slab, slab->empty);
	slab->empty = NULL;
	slab->size = 0;
	port_spin_destroy(&slab->lock);
}

/*
 * Destroys @slab and every block it holds, whatever is still allocated.
 * No other thread may use the slab any more.  NULL is ignored.
 */
void tdb_slab_destroy(struct tdb_slab *slab)
{
	if (!slab)
		return;
	tdb_slab_release(slab);
	if (!slab->embedded)
		port_free(slab, sizeof(*slab));
}

/*
 * Makes sure @slab->partial is not empty.  Called and returns with the
 * lock held, but drops it around the page cache, since in the kernel the
 * host may sleep for pages.  Returns false when there is no memory.
 */
static bool tdb_slab_grow(struct tdb_slab *slab)
{
	struct tdb_slab_block *b;

	while (tdb_list_empty(&slab->partial)) {
		b = slab->empty;
		if (b) {
			slab->empty = NULL;
			b->free = NULL;
			b->fresh = TDB_SLAB_HDR;
			tdb_list_add(&b->link, &slab->partial);
			break;
		}
		port_spin_unlock(&slab->lock);
		b = tdb_pages_get(slab->order);
		port_spin_lock(&slab->lock);
		if (!b)
			return false;
		b->slab = slab;
		b->free = NULL;
		b->used = 0;
		b->fresh = TDB_SLAB_HDR;
		/* Objects are unpoisoned as they are handed out. */
		port_poison((char *)b + TDB_SLAB_HDR,
			    TDB_BLOCK_BYTES(slab->order) - TDB_SLAB_HDR);
		WRITE_ONCE(slab->size,
			   slab->size + TDB_BLOCK_BYTES(slab->order));
		tdb_list_add(&b->link, &slab->partial);
	}
	return true;
}

/*
 * Returns one object of the slab's size, aligned to 8 (to 16 when the size
 * is a multiple of 16), not zeroed; NULL when there is no memory.  Safe
 * against concurrent tdb_slab_alloc()/tdb_slab_free() on the same slab.
 */
static __always_inline void *__tdb_slab_alloc(struct tdb_slab *slab)
{
	struct tdb_slab_block *b;
	void *obj;

	port_spin_lock(&slab->lock);
	if (unlikely(tdb_list_empty(&slab->partial)) && !tdb_slab_grow(slab)) {
		port_spin_unlock(&slab->lock);
		return NULL;
	}
	b = container_of(slab->partial.next, struct tdb_slab_block, link);
	obj = b->free;
	if (obj) {
		port_unpoison(obj, slab->obj_size);
		b->free = *(void **)obj;
	} else {
		obj = (char *)b + b->fresh;
		b->fresh += slab->obj_size;
		port_unpoison(obj, slab->obj_size);
	}
	if (unlikely(++b->used == slab->per_block)) {
		tdb_list_del(&b->link);
		tdb_list_add(&b->link, &slab->full);
	}
	port_spin_unlock(&slab->lock);
	return obj;
}

void *tdb_slab_alloc(struct tdb_slab *slab)
{
	return __tdb_slab_alloc(slab);
}

/*
 * Gives back @obj, which @slab handed out; its block is found by masking
 * the address.  A block left empty becomes the slab's cached empty block,
 * or goes back to the page cache when one is cached already.  NULL is
 * ignored; an object of another slab is refused with a log line.
 */
static __always_inline void __tdb_slab_free(struct tdb_slab *slab, void *obj)
{
	struct tdb_slab_block *b, *victim = NULL;
	bool was_full;

	if (unlikely(!obj))
		return;
	b = (struct tdb_slab_block *)((unsigned long)obj &
				      ~(TDB_BLOCK_BYTES(slab->order) - 1));
	if (unlikely(b->slab != slab)) {
		port_log(PORT_LOG_ERR, "slab %p: free of foreign object %p",
			 (void *)slab, obj);
		return;
	}
	port_spin_lock(&slab->lock);
	*(void **)obj = b->free;
	b->free = obj;
	/* A use after free of a record now trips AddressSanitizer. */
	port_poison(obj, slab->obj_size);
	was_full = b->used == slab->per_block;
	if (unlikely(--b->used == 0)) {
		tdb_list_del(&b->link);
		if (!slab->empty) {
			slab->empty = b;
		} else {
			victim = b;
			WRITE_ONCE(slab->size,
				   slab->size - TDB_BLOCK_BYTES(slab->order));
		}
	} else if (unlikely(was_full)) {
		tdb_list_del(&b->link);
		tdb_list_add(&b->link, &slab->partial);
	}
	port_spin_unlock(&slab->lock);
	if (victim)
		tdb_slab_block_put(slab, victim);
}

void tdb_slab_free(struct tdb_slab *slab, void *obj)
{
	__tdb_slab_free(slab, obj);
}

/* Bytes of blocks @slab holds, the cached empty block included. */
size_t tdb_slab_size(const struct tdb_slab *slab)
{
	return READ_ONCE(slab->size);
}

/* ------------------------------------------------------------------ */
/* Heap                                                                */
/* ------------------------------------------------------------------ */

#define TDB_HEAP_MAX_CLASS (16UL << 10)
/* 16 classes of 8 bytes, then 8 per power of two from 128 to 16 KiB. */
#define TDB_HEAP_NR_CLASSES (16 + 8 * 7)

/*
 * Header of an allocation past the largest class.  Such allocations come
 * from the host at their exact size (rounded to a page), not from the page
 * cache by order, which would waste up to half of a 1 MiB value.
 */
struct tdb_heap_large {
	struct tdb_list link;
	size_t size;		/* bytes taken from the host */
};

#define TDB_HEAP_LARGE_HDR TDB_ALIGN(sizeof(struct tdb_heap_large), 16)

/* Bytes a large allocation of @n takes from the host. */
static inline size_t tdb_heap_large_size(size_t n)
{
	return TDB_ALIGN(n + TDB_HEAP_LARGE_HDR, PAGE_SIZE);
}

/* @lock guards @large and @large_size; each class has its own lock. */
struct tdb_heap {
	port_spinlock_t lock;
	struct tdb_list large;
	size_t large_size;
	struct tdb_slab cls[TDB_HEAP_NR_CLASSES];
};

/* The class of @n bytes, @n at most TDB_HEAP_MAX_CLASS. */
static __always_inline unsigned int tdb_heap_class(size_t n)
{
	unsigned int k;

	if (n <= 128)
		return n ? (unsigned int)(n - 1) >> 3 : 0;
	/* 2^k < n <= 2^(k+1); 8 steps of 2^(k-3) cover that range. */
	k = tdb_ilog2(n - 1);
	return 16 + (k - 7) * 8 + (unsigned int)(((n - 1) >> (k - 3)) & 7);
}

/* The bytes of class @idx. */
static inline size_t tdb_heap_class_size(unsigned int idx)
{
	unsigned int k;

	if (idx < 16)
		return (idx + 1) * 8;
	k = (idx - 16) / 8 + 7;
	return (1UL << k) + ((idx - 16) % 8 + 1) * (1UL << (k - 3));
}

/*
 * Creates an empty heap: every class is ready but holds no block until
 * first used, so an idle heap costs only this structure (about 5 KiB).
 * Returns NULL when there is no memory.
 */
struct tdb_heap *tdb_heap_create(void)
{
	struct tdb_heap *heap = port_zalloc(sizeof(*heap));
	unsigned int i;

	if (!heap)
		return NULL;
	port_spin_init(&heap->lock);
	tdb_list_init(&heap->large);
	for (i = 0; i < TDB_HEAP_NR_CLASSES; i++) {
		/* Cannot fail: every class fits a block of order 10. */
		tdb_slab_setup(&heap->cls[i], tdb_heap_class_size(i));
		heap->cls[i].embedded = true;
	}
	return heap;
}

/*
 * Destroys @heap and everything allocated from it, freed or not.  No other
 * thread may use the heap any more.  NULL is ignored.
 */
void tdb_heap_destroy(struct tdb_heap *heap)
{
	unsigned int i;

	if (!heap)
		return;
	for (i = 0; i < TDB_HEAP_NR_CLASSES; i++)
		tdb_slab_release(&heap->cls[i]);
	while (!tdb_list_empty(&heap->large)) {
		struct tdb_heap_large *h;

		h = container_of(heap->large.next, struct tdb_heap_large, link);
		tdb_list_del(&h->link);
		port_free(h, h->size);
	}
	port_spin_destroy(&heap->lock);
	port_free(heap, sizeof(*heap));
}

/* Allocation past the largest class: memory of its own from the host. */
static void *tdb_heap_alloc_large(struct tdb_heap *heap, size_t n)
{
	struct tdb_heap_large *h;
	size_t size = tdb_heap_large_size(n);

	if (size < n)
		return NULL;
	h = port_alloc(size);
	if (!h)
		return NULL;
	h->size = size;
	port_spin_lock(&heap->lock);
	tdb_list_add(&h->link, &heap->large);
	WRITE_ONCE(heap->large_size, heap->large_size + size);
	port_spin_unlock(&heap->lock);
	return (char *)h + TDB_HEAP_LARGE_HDR;
}

/*
 * Returns @n bytes (any @n the host can give; 0 counts as 8), aligned to
 * 8 and to 16 when the class size is a multiple of 16, not zeroed; NULL
 * when there is no memory.  Safe from several threads at once.
 */
void *tdb_heap_alloc(struct tdb_heap *heap, size_t n)
{
	if (likely(n <= TDB_HEAP_MAX_CLASS))
		return __tdb_slab_alloc(&heap->cls[tdb_heap_class(n)]);
	return tdb_heap_alloc_large(heap, n);
}

/*
 * Gives back @p, allocated from @heap with size @n (the size asked for,
 * not the usable size).  NULL is ignored.  Safe from several threads.
 */
void tdb_heap_free(struct tdb_heap *heap, void *p, size_t n)
{
	struct tdb_heap_large *h;

	if (likely(n <= TDB_HEAP_MAX_CLASS)) {
		__tdb_slab_free(&heap->cls[tdb_heap_class(n)], p);
		return;
	}
	if (unlikely(!p))
		return;
	h = (struct tdb_heap_large *)((char *)p - TDB_HEAP_LARGE_HDR);
	if (unlikely(h->size != tdb_heap_large_size(n))) {
		port_log(PORT_LOG_ERR,
			 "heap %p: free of %p with wrong size %zu",
			 (void *)heap, p, n);
		return;
	}
	port_spin_lock(&heap->lock);
	tdb_list_del(&h->link);
	WRITE_ONCE(heap->large_size, heap->large_size - h->size);
	port_spin_unlock(&heap->lock);
	port_free(h, h->size);
}

/*
 * Bytes an allocation of @n takes from its heap: the class size, or for a
 * large allocation @n plus a header rounded up to a page.  0 when @n is so
 * large that the size overflows.
 */
size_t tdb_heap_usable(size_t n)
{
	size_t size;

	if (n <= TDB_HEAP_MAX_CLASS)
		return tdb_heap_class_size(tdb_heap_class(n));
	size = tdb_heap_large_size(n);
	return size < n ? 0 : size;
}

/*
 * Bytes of blocks @heap holds: every class's blocks (a cached empty one
 * each included) and the large blocks.  A racy snapshot when other threads
 * allocate meanwhile.
 */
size_t tdb_heap_size(const struct tdb_heap *heap)
{
	size_t sum = READ_ONCE(heap->large_size);
	unsigned int i;

	for (i = 0; i < TDB_HEAP_NR_CLASSES; i++)
		sum += READ_ONCE(heap->cls[i].size);
	return sum;
}
