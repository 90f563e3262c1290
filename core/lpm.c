// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lpm.c - the longest-prefix-match index: a path-compressed multibit trie
 * of stride 6 with Tree Bitmap nodes, copy-on-write updates and RCU
 * readers (see lpm.h for the contract).
 *
 * A node at depth d (a multiple of 6) has a key, the d bits that lead to
 * it, and two bitmaps over the 6 bits that follow:
 *
 *  - inner: the prefixes of lengths d..d+5 stored here.  The prefix of
 *    r more bits (0 <= r <= 5) whose bits are p is bit (1 << r) - 1 + p,
 *    so the 63 bits run from the shortest prefix to the longest.
 *  - ext: bit v says that some node lies below chunk v (the 6 bits after
 *    d read as a number).
 *
 * After the key come the slots: one child pointer per ext bit in chunk
 * order, then one leaf per inner bit in bit order; popcount of the bits
 * below a bit gives its slot.  A lookup reads at each node the prefixes
 * that cover its chunk (inner & lpm_cover[chunk], a table, so no loop over
 * lengths), keeps the longest as the best match so far, and goes to the
 * child, if any, stopping when the child's key does not match.
 *
 * Decisions recorded here:
 *  - Tree Bitmap rather than Poptrie's leaf pushing.  Leaf pushing makes
 *    lookups a little cheaper (no best match to carry), but inserting or
 *    removing a short prefix then rewrites every node below it: thousands
 *    of copies for a /8 in a table of a million routes.  Here a write
 *    changes the bitmaps of one node at most (two when a removal empties
 *    a node and its parent loses the child), so a write costs one copy
 *    of one small node whatever the prefix.
 *  - Stride 6: a node's bitmaps are two 64-bit words and one popcount
 *    counts any of them.  IPv4 takes at most 6 levels, IPv6 22.
 *  - Nodes live out of line, one allocation each, and a parent points at
 *    its children.  A child array inline in its parent (as in the Tree
 *    Bitmap paper) saves a load per level, but then changing a node means
 *    copying its parent's whole array, and its parent's, up to the root;
 *    with pointers, a changed node is copied alone and its new address
 *    stored in its parent's slot with one rcu_assign_pointer().  Slots are
 *    the only words of a published node ever written; its bitmaps and
 *    key never change, which is what lets readers go without retries.
 *  - Path compression: a child whose key says it sits deeper than its
 *    parent's next level stands for the nodes in between, which would
 *    each have held nothing but it.  Every non-root node holds a prefix or
 *    two children; a removal restores that at once (a node left with one
 *    child is replaced by the child, an empty one is unlinked), so the
 *    trie of a set of prefixes is unique and memory goes back to the empty
 *    figure when the prefixes go.  Without it a random IPv6 /64 would
 *    cost 8 single-child nodes and a /128 18; with it, one or two.
 *  - The key carries a stop bit right after its d bits, so that one word
 *    (two for IPv6) holds both the bits and the depth, and a node costs 24
 *    bytes (32) plus its slots.
 *  - Nodes come from a heap of the index's own (pool.c: size classes of 8
 *    bytes up to 128, so a node wastes nothing to rounding), not from the
 *    table's, so that the index's memory can be measured alone and dropped
 *    whole.  The heap and a reference count sit in a small structure that
 *    RCU batches hold on to, so that tdb_lpm_destroy() needs no
 *    rcu_barrier() and may run in an RCU callback (as table frees do).
 *  - Replaced nodes are retired in batches of LPM_RETIRE_BATCH, one
 *    call_rcu() each, as table.c retires records.  The callback does not
 *    free them: it queues the batch for the writer, which frees it at its
 *    next write or tdb_lpm_flush().  Freeing on the RCU thread made the
 *    heap's slab locks bounce between it and the writer (25% of an
 *    insert in perf); the cost is that a table whose writes stop keeps
 *    its last retired nodes until the next write or the destroy.
 *  - The writer keeps a cache of free small nodes (0..7 slots, 64 of each),
 *    a stack of pointers in front of the heap, and a batch records each
 *    node's slot count: freeing and reusing a node then touches neither
 *    the node nor its slab block, which are cold once a grace period has
 *    passed.  The heap's free list and block headers were a third of an
 *    insert; with the cache an insert went from about 550 to 400 ns.
 *  - A removal needs at most one new node (a copy one slot smaller).  It
 *    cannot fail, since the table has already decided to drop the record
 *    the leaf points at, and a leaf left behind would dangle.  So when
 *    the heap is empty it reclaims the nodes retired so far after a grace
 *    period, and failing that waits for memory.
 *  - Batched lookups run up to LPM_BATCH walks in lockstep, one step per
 *    round each, prefetching every walk's next node (or the slot leading
 *    to it, when the slot lies past the node's first line) a round ahead,
 *    so that their cache misses overlap: lookups in a million-route table
 *    are bound by misses below the top two levels (perf: 85% of a lookup
 *    on the load of a child's key).  16 walks beat 8 and 32.  The same
 *    walk serves writers as tdb_lpm_prefetch().
 *  - Private mode only frees replaced nodes at once (they go back to the
 *    writer's cache hot, which makes a bulk build about 1.5 times faster
 *    than public inserts).  Updating nodes in place, with room reserved
 *    in each, was not done: perf puts the copy (alloc, memcpy) at under a
 *    tenth of an insert, the rest being the walk's cache misses.
 *  - popcount is open-coded (SWAR) unless the compiler may use the popcnt
 *    instruction: without -mpopcnt, __builtin_popcountll is a call into
 *    libgcc, which the kernel does not link.
 */
#include "lpm.h"
#include "pool.h"

#define LPM_STRIDE 6
#define LPM_RETIRE_BATCH 62
#define LPM_BATCH 16
/* The writer's cache of free nodes: nodes of 0..7 slots, 64 each. */
#define LPM_CACHE_CLASSES 8
#define LPM_CACHE_DEPTH 64

struct lpm_node {
	u64 ext; /* children, by chunk */
	u64 inner; /* prefixes, see above; bit 63 clear */
	u64 key[]; /* 1 word (IPv4) or 2, then the slots */
};

/*
 * The node heap: outlives the index while RCU batches hold references
 * (the index holds one, each batch handed to RCU another).  @done holds
 * the batches whose grace period is over, for the writer to free.
 */
struct lpm_mem {
	port_atomic_t refs;
	struct tdb_heap *heap;
	port_spinlock_t lock; /* guards @done and @dead */
	struct lpm_retire *done; /* READ_ONCE outside the lock */
	bool dead; /* the index is destroyed */
	/* Writer only: free small nodes, by slot count (see lpm_node_alloc). */
	unsigned int ncache[LPM_CACHE_CLASSES];
	struct lpm_node *cache[LPM_CACHE_CLASSES][LPM_CACHE_DEPTH];
};

struct lpm_retire {
	struct rcu_head rcu;
	struct lpm_mem *mem;
	struct lpm_retire *next; /* on lpm_mem.done */
	unsigned int n;
	unsigned int words;
	struct lpm_node *nodes[LPM_RETIRE_BATCH];
	u8 nslots[LPM_RETIRE_BATCH]; /* spares reading cold nodes */
};

/* An address (or a node's key) as a 128-bit number, first bit highest. */
struct lpm_addr {
	u64 hi, lo;
};

/*
 * lpm_cover[v >> 1]: the inner bits of the prefixes that contain chunk v,
 * one per length 0..5 (v and v ^ 1 differ only in the sixth bit, which no
 * prefix of a node holds).
 */
static const u64 lpm_cover[32] = {
	0x000000008000808bULL, 0x000000010000808bULL, 0x000000020001008bULL,
	0x000000040001008bULL, 0x000000080002010bULL, 0x000000100002010bULL,
	0x000000200004010bULL, 0x000000400004010bULL, 0x0000008000080213ULL,
	0x0000010000080213ULL, 0x0000020000100213ULL, 0x0000040000100213ULL,
	0x0000080000200413ULL, 0x0000100000200413ULL, 0x0000200000400413ULL,
	0x0000400000400413ULL, 0x0000800000800825ULL, 0x0001000000800825ULL,
	0x0002000001000825ULL, 0x0004000001000825ULL, 0x0008000002001025ULL,
	0x0010000002001025ULL, 0x0020000004001025ULL, 0x0040000004001025ULL,
	0x0080000008002045ULL, 0x0100000008002045ULL, 0x0200000010002045ULL,
	0x0400000010002045ULL, 0x0800000020004045ULL, 0x1000000020004045ULL,
	0x2000000040004045ULL, 0x4000000040004045ULL,
};

static __always_inline unsigned int lpm_popcount(u64 x)
{
#ifdef __POPCNT__
	return (unsigned int)__builtin_popcountll(x);
#else
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

static __always_inline u64 lpm_bit(unsigned int i)
{
	return 1ULL << i;
}

/* Index of the highest set bit of @x, which must not be 0. */
static __always_inline unsigned int lpm_fls(u64 x)
{
	return 63 - (unsigned int)__builtin_clzll(x);
}

static __always_inline unsigned int lpm_words(bool v6)
{
	return v6 ? 2 : 1;
}

static __always_inline void **lpm_slots(const struct lpm_node *n,
					unsigned int words)
{
	return (void **)&n->key[words];
}

static __always_inline unsigned int lpm_nslots(const struct lpm_node *n)
{
	return lpm_popcount(n->ext) + lpm_popcount(n->inner);
}

static __always_inline size_t lpm_node_size(unsigned int words,
					    unsigned int nslots)
{
	return sizeof(struct lpm_node) + 8 * (size_t)(words + nslots);
}

static __always_inline u64 lpm_get_be32(const u8 *p)
{
	return (u64)p[0] << 24 | (u64)p[1] << 16 | (u64)p[2] << 8 | p[3];
}

static __always_inline u64 lpm_get_be64(const u8 *p)
{
	return lpm_get_be32(p) << 32 | lpm_get_be32(p + 4);
}

static __always_inline void lpm_load(struct lpm_addr *a, const u8 *p, bool v6)
{
	if (!v6) {
		a->hi = lpm_get_be32(p) << 32;
		a->lo = 0;
	} else {
		a->hi = lpm_get_be64(p);
		a->lo = lpm_get_be64(p + 8);
	}
}

/* The 6 bits of @a from bit @d on (zeros past the end of the address). */
static __always_inline unsigned int lpm_chunk(const struct lpm_addr *a,
					      unsigned int d, bool v6)
{
	u64 x;

	if (!v6 || d < 64) {
		x = a->hi << d;
		if (v6 && d > 64 - LPM_STRIDE)
			x |= a->lo >> (64 - d);
		return (unsigned int)(x >> (64 - LPM_STRIDE));
	}
	return (unsigned int)((a->lo << (d - 64)) >> (64 - LPM_STRIDE));
}

/* The inner bit of the prefix of @r more bits within chunk @v. */
static __always_inline unsigned int lpm_pos(unsigned int v, unsigned int r)
{
	return (1U << r) - 1 + (v >> (LPM_STRIDE - r));
}

/* The depth of @n: the stop bit's position. */
static __always_inline unsigned int lpm_depth(const struct lpm_node *n, bool v6)
{
	if (v6 && n->key[1])
		return 127 - (unsigned int)__builtin_ctzll(n->key[1]);
	return 63 - (unsigned int)__builtin_ctzll(n->key[0]);
}

/* Whether @a has the first @d bits of @n's key; @d is @n's depth, >= 6. */
static __always_inline bool lpm_match(const struct lpm_node *n,
				      const struct lpm_addr *a, unsigned int d,
				      bool v6)
{
	if (!v6 || d <= 64)
		return !((a->hi ^ n->key[0]) >> (64 - d));
	return a->hi == n->key[0] && !((a->lo ^ n->key[1]) >> (128 - d));
}

/* @n's key as an address (the stop bit included). */
static __always_inline void lpm_key_addr(struct lpm_addr *k,
					 const struct lpm_node *n, bool v6)
{
	k->hi = n->key[0];
	k->lo = v6 ? n->key[1] : 0;
}

/* How many leading bits @a and @k have in common. */
static unsigned int lpm_common(const struct lpm_addr *a,
			       const struct lpm_addr *k)
{
	u64 x = a->hi ^ k->hi;

	if (x)
		return (unsigned int)__builtin_clzll(x);
	x = a->lo ^ k->lo;
	return x ? 64 + (unsigned int)__builtin_clzll(x) : 128;
}

/* Stores the first @d bits of @a and the stop bit as @n's key. */
static void lpm_set_key(struct lpm_node *n, const struct lpm_addr *a,
			unsigned int d, unsigned int words)
{
	u64 hi = a->hi, lo = a->lo;

	if (d < 64) {
		hi = (d ? hi & ~(~0ULL >> d) : 0) | lpm_bit(63 - d);
		lo = 0;
	} else {
		lo = (d > 64 ? lo & ~(~0ULL >> (d - 64)) : 0) |
		     lpm_bit(127 - d);
	}
	n->key[0] = hi;
	if (words == 2)
		n->key[1] = lo;
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

static __always_inline void *lpm_lookup_one(const struct tdb_lpm *l,
					    const u8 *p, bool v6)
{
	const unsigned int w = lpm_words(v6);
	const struct lpm_node *n, *c, *bn = NULL;
	unsigned int d = 0, v, bi = 0;
	struct lpm_addr a;
	u64 m, bit;

	lpm_load(&a, p, v6);
	n = rcu_dereference(l->root);
	for (;;) {
		v = lpm_chunk(&a, d, v6);
		m = n->inner & lpm_cover[v >> 1];
		if (m) {
			bn = n;
			bi = lpm_popcount(n->ext) +
			     lpm_popcount(n->inner & (lpm_bit(lpm_fls(m)) - 1));
		}
		bit = lpm_bit(v);
		if (!(n->ext & bit))
			break;
		c = rcu_dereference(
			lpm_slots(n, w)[lpm_popcount(n->ext & (bit - 1))]);
		d = lpm_depth(c, v6);
		if (!lpm_match(c, &a, d, v6))
			break;
		n = c;
	}
	return bn ? rcu_dereference(lpm_slots(bn, w)[bi]) : NULL;
}

void *tdb_lpm_lookup(const struct tdb_lpm *l, const u8 *addr)
{
	if (l->bits == 32)
		return lpm_lookup_one(l, addr, false);
	return lpm_lookup_one(l, addr, true);
}

/* One walk of a batch. */
struct lpm_lane {
	struct lpm_addr a;
	const struct lpm_node *n; /* next node, prefetched */
	void **slot; /* or the slot leading to it */
	const struct lpm_node *bn; /* best match so far, or NULL */
	unsigned int bi;
};

static __always_inline void lpm_prefetch_node(const void *n)
{
	/* A small node may straddle two lines: heap objects are 8-aligned. */
	prefetch(n);
	prefetch((const char *)n + 63);
}

/*
 * Up to LPM_BATCH lookups in lockstep.  Each round takes every walk one
 * step down; what the step needs next (the child node, or the slot that
 * points at it when the slot lies past the node's first line) is
 * prefetched and read in the next round, after the other walks had their
 * turn.
 */
static __always_inline void lpm_lookup_group(const struct tdb_lpm *l,
					     unsigned int n,
					     const u8 *const *addrs, void **out,
					     bool v6)
{
	const unsigned int w = lpm_words(v6);
	struct lpm_lane lane[LPM_BATCH];
	unsigned char live[LPM_BATCH];
	const struct lpm_node *root = rcu_dereference(l->root), *nd, *c;
	unsigned int i, j, k, nlive = n, d, v;
	void **slot;
	u64 m, bit;

	for (i = 0; i < n; i++) {
		lpm_load(&lane[i].a, addrs[i], v6);
		lane[i].n = root;
		lane[i].slot = NULL;
		lane[i].bn = NULL;
		live[i] = (unsigned char)i;
	}
	while (nlive) {
		for (j = 0, k = 0; j < nlive; j++) {
			struct lpm_lane *ln = &lane[live[j]];

			if (ln->slot) {
				c = rcu_dereference(*ln->slot);
				ln->slot = NULL;
				goto next;
			}
			nd = ln->n;
			d = 0;
			if (nd != root) {
				d = lpm_depth(nd, v6);
				if (!lpm_match(nd, &ln->a, d, v6))
					continue;
			}
			v = lpm_chunk(&ln->a, d, v6);
			m = nd->inner & lpm_cover[v >> 1];
			if (m) {
				ln->bn = nd;
				ln->bi =
					lpm_popcount(nd->ext) +
					lpm_popcount(nd->inner &
						     (lpm_bit(lpm_fls(m)) - 1));
			}
			bit = lpm_bit(v);
			if (!(nd->ext & bit))
				continue;
			slot = &lpm_slots(nd,
					  w)[lpm_popcount(nd->ext & (bit - 1))];
			if ((char *)slot - (char *)nd > 64 - 8) {
				/* Not in the lines prefetched for @nd. */
				prefetch(slot);
				ln->slot = slot;
				live[k++] = live[j];
				continue;
			}
			c = rcu_dereference(*slot);
next:
			lpm_prefetch_node(c);
			ln->n = c;
			live[k++] = live[j];
		}
		nlive = k;
	}
	for (i = 0; i < n; i++) {
		if (!lane[i].bn) {
			out[i] = NULL;
			continue;
		}
		slot = &lpm_slots(lane[i].bn, w)[lane[i].bi];
		prefetch(slot);
		out[i] = slot;
	}
	for (i = 0; i < n; i++)
		if (out[i])
			out[i] = rcu_dereference(*(void **)out[i]);
}

void tdb_lpm_prefetch(const struct tdb_lpm *l, unsigned int n,
		      const u8 *const *addrs)
{
	void *out[LPM_BATCH];
	unsigned int k;

	/* A lookup walks every node a write at its address walks. */
	for (; n; n -= k, addrs += k) {
		k = n < LPM_BATCH ? n : LPM_BATCH;
		if (l->bits == 32)
			lpm_lookup_group(l, k, addrs, out, false);
		else
			lpm_lookup_group(l, k, addrs, out, true);
	}
}

void tdb_lpm_lookup_batch(const struct tdb_lpm *l, unsigned int n,
			  const u8 *const *addrs, void **out)
{
	unsigned int k;

	for (; n; n -= k, addrs += k, out += k) {
		k = n < LPM_BATCH ? n : LPM_BATCH;
		if (l->bits == 32)
			lpm_lookup_group(l, k, addrs, out, false);
		else
			lpm_lookup_group(l, k, addrs, out, true);
	}
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

static void lpm_mem_put(struct lpm_mem *mem)
{
	if (port_atomic_dec_return(&mem->refs))
		return;
	/* Every node goes with the heap. */
	tdb_heap_destroy(mem->heap);
	port_spin_destroy(&mem->lock);
	port_free(mem, sizeof(*mem));
}

/*
 * A node of @nslots slots.  Small ones come from the writer's cache when
 * it has one: a stack of pointers, so that neither taking nor putting a
 * node touches the node itself or its slab block, both cold by the time a
 * grace period has passed (the heap's free list and block headers cost a
 * third of an insert).  Only the writer uses the cache: nodes come back
 * to it through the writer's lpm_reclaim(), never from an RCU callback.
 */
static struct lpm_node *lpm_node_alloc(struct tdb_lpm *l, unsigned int nslots)
{
	size_t size = lpm_node_size(l->bits == 128 ? 2 : 1, nslots);
	struct lpm_mem *mem = l->mem;
	struct lpm_node *n;

	if (nslots < LPM_CACHE_CLASSES && mem->ncache[nslots]) {
		n = mem->cache[nslots][--mem->ncache[nslots]];
		port_unpoison(n, size);
	} else {
		n = tdb_heap_alloc(mem->heap, size);
		if (unlikely(!n))
			return NULL;
	}
	WRITE_ONCE(l->bytes, l->bytes + tdb_heap_usable(size));
	return n;
}

/* Frees @n of @nslots slots, to the writer's cache if it has room. */
static void lpm_node_free(struct lpm_mem *mem, unsigned int words,
			  struct lpm_node *n, unsigned int nslots)
{
	size_t size = lpm_node_size(words, nslots);

	if (nslots < LPM_CACHE_CLASSES &&
	    mem->ncache[nslots] < LPM_CACHE_DEPTH) {
		mem->cache[nslots][mem->ncache[nslots]++] = n;
		port_poison(n, size);
		return;
	}
	tdb_heap_free(mem->heap, n, size);
}

/* Frees @n, which no reader has seen, and takes it off the figure. */
static void lpm_node_drop(struct tdb_lpm *l, struct lpm_node *n)
{
	unsigned int w = l->bits == 128 ? 2 : 1, ns = lpm_nslots(n);

	WRITE_ONCE(l->bytes, l->bytes - tdb_heap_usable(lpm_node_size(w, ns)));
	lpm_node_free(l->mem, w, n, ns);
}

/* Frees the nodes of @rb, whose grace period is over, and @rb.  Writer. */
static void lpm_batch_free(struct lpm_retire *rb)
{
	struct lpm_mem *mem = rb->mem;
	unsigned int i;

	for (i = 0; i < rb->n; i++)
		lpm_node_free(mem, rb->words, rb->nodes[i], rb->nslots[i]);
	tdb_heap_free(mem->heap, rb, sizeof(*rb));
	lpm_mem_put(mem);
}

/*
 * Runs after a grace period: no reader can reach these nodes any more.
 * The writer frees them, not this callback: freeing here, on the RCU
 * thread, made the heap's locks bounce between that thread and the
 * writer, which allocates all the time (a quarter of an insert's cost).
 * Once the index is destroyed, the batch only drops its reference.
 */
static void lpm_retire_done(struct rcu_head *head)
{
	struct lpm_retire *rb = container_of(head, struct lpm_retire, rcu);
	struct lpm_mem *mem = rb->mem;

	port_spin_lock(&mem->lock);
	if (!mem->dead) {
		rb->next = mem->done;
		WRITE_ONCE(mem->done, rb);
		rb = NULL;
	}
	port_spin_unlock(&mem->lock);
	if (rb)
		lpm_mem_put(mem);
}

/* Frees the batches whose grace period is over.  Writer only. */
static noinline void lpm_reclaim(struct tdb_lpm *l)
{
	struct lpm_mem *mem = l->mem;
	struct lpm_retire *rb, *next;

	port_spin_lock(&mem->lock);
	rb = mem->done;
	WRITE_ONCE(mem->done, NULL);
	port_spin_unlock(&mem->lock);
	for (; rb; rb = next) {
		next = rb->next;
		lpm_batch_free(rb);
	}
}

static __always_inline void lpm_reclaim_due(struct tdb_lpm *l)
{
	if (unlikely(READ_ONCE(l->mem->done)))
		lpm_reclaim(l);
}

/* Hands the batch being filled to RCU. */
static void lpm_retire_flush(struct tdb_lpm *l)
{
	struct lpm_retire *rb = l->retire;

	if (!rb)
		return;
	l->retire = NULL;
	call_rcu(&rb->rcu, lpm_retire_done);
}

void tdb_lpm_flush(struct tdb_lpm *l)
{
	lpm_retire_flush(l);
	lpm_reclaim_due(l);
}

/*
 * Frees @n, which a write has just unlinked, once no reader can see it.
 * Without memory for a batch, waits for a grace period right here.
 */
static void lpm_retire(struct tdb_lpm *l, struct lpm_node *n)
{
	unsigned int w = l->bits == 128 ? 2 : 1, ns = lpm_nslots(n);
	struct lpm_retire *rb = l->retire;

	WRITE_ONCE(l->bytes, l->bytes - tdb_heap_usable(lpm_node_size(w, ns)));
	if (l->private) {
		lpm_node_free(l->mem, w, n, ns);
		return;
	}
	if (!rb) {
		rb = tdb_heap_alloc(l->mem->heap, sizeof(*rb));
		if (unlikely(!rb)) {
			synchronize_rcu();
			lpm_node_free(l->mem, w, n, ns);
			return;
		}
		rb->mem = l->mem;
		rb->n = 0;
		rb->words = w;
		port_atomic_inc(&l->mem->refs);
		l->retire = rb;
	}
	rb->nslots[rb->n] = (u8)ns;
	rb->nodes[rb->n++] = n;
	if (rb->n == LPM_RETIRE_BATCH)
		lpm_retire_flush(l);
}

/*
 * A copy of @n with bitmaps @ext and @inner, which differ from @n's by one
 * bit: slot @at is new and holds @val, or with @val NULL, slot @at of @n
 * is left out.  NULL when there is no memory.
 */
static struct lpm_node *lpm_node_copy(struct tdb_lpm *l,
				      const struct lpm_node *n, u64 ext,
				      u64 inner, unsigned int at, void *val)
{
	unsigned int w = l->bits == 128 ? 2 : 1, old = lpm_nslots(n);
	struct lpm_node *nn;
	void **os, **ns;

	nn = lpm_node_alloc(l, lpm_popcount(ext) + lpm_popcount(inner));
	if (unlikely(!nn))
		return NULL;
	nn->ext = ext;
	nn->inner = inner;
	nn->key[0] = n->key[0];
	if (w == 2)
		nn->key[1] = n->key[1];
	os = lpm_slots(n, w);
	ns = lpm_slots(nn, w);
	memcpy(ns, os, at * sizeof(void *));
	if (val) {
		ns[at] = val;
		memcpy(ns + at + 1, os + at, (old - at) * sizeof(void *));
	} else {
		memcpy(ns + at, os + at + 1, (old - at - 1) * sizeof(void *));
	}
	return nn;
}

/*
 * lpm_node_copy() for a removal, which must not fail: without memory,
 * frees what earlier writes retired once a grace period has passed, then
 * waits for memory.
 */
static struct lpm_node *lpm_node_copy_nofail(struct tdb_lpm *l,
					     const struct lpm_node *n, u64 ext,
					     u64 inner, unsigned int at)
{
	struct lpm_retire *rb;
	struct lpm_node *nn;
	bool logged = false;

	while (!(nn = lpm_node_copy(l, n, ext, inner, at, NULL))) {
		rb = l->retire;
		if (rb || READ_ONCE(l->mem->done)) {
			l->retire = NULL;
			synchronize_rcu();
			if (rb)
				lpm_batch_free(rb);
			lpm_reclaim(l);
			continue;
		}
		if (!logged)
			port_log(PORT_LOG_ERR,
				 "lpm %p: no memory for a removal, waiting",
				 (void *)l);
		logged = true;
		port_yield();
	}
	return nn;
}

/* A new node holding the prefix @a/@plen alone, at depth plen - plen % 6. */
static struct lpm_node *lpm_node_prefix(struct tdb_lpm *l,
					const struct lpm_addr *a,
					unsigned int plen, void *leaf, bool v6)
{
	unsigned int f = plen - plen % LPM_STRIDE;
	struct lpm_node *n = lpm_node_alloc(l, 1);

	if (unlikely(!n))
		return NULL;
	n->ext = 0;
	n->inner = lpm_bit(lpm_pos(lpm_chunk(a, f, v6), plen - f));
	lpm_set_key(n, a, f, lpm_words(v6));
	lpm_slots(n, lpm_words(v6))[0] = leaf;
	return n;
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */
/* ------------------------------------------------------------------ */

static int lpm_init(struct tdb_lpm *l, unsigned int bits, bool private)
{
	struct lpm_addr zero = { 0, 0 };
	struct lpm_node *root;

	/* Cleared first, so that destroying a failed index is harmless. */
	memset(l, 0, sizeof(*l));
	if (bits != 32 && bits != 128)
		return -EINVAL;
	l->bits = bits;
	l->private = private;
	l->mem = port_zalloc(sizeof(*l->mem));
	if (!l->mem)
		return -ENOMEM;
	port_atomic_set(&l->mem->refs, 1);
	port_spin_init(&l->mem->lock);
	l->mem->heap = tdb_heap_create();
	if (!l->mem->heap)
		goto free_mem;
	root = lpm_node_alloc(l, 0);
	if (!root)
		goto destroy_heap;
	root->ext = 0;
	root->inner = 0;
	lpm_set_key(root, &zero, 0, bits == 128 ? 2 : 1);
	rcu_assign_pointer(l->root, root);
	return 0;

destroy_heap:
	tdb_heap_destroy(l->mem->heap);
free_mem:
	port_spin_destroy(&l->mem->lock);
	port_free(l->mem, sizeof(*l->mem));
	l->mem = NULL;
	return -ENOMEM;
}

int tdb_lpm_init(struct tdb_lpm *l, unsigned int bits)
{
	return lpm_init(l, bits, false);
}

int tdb_lpm_init_private(struct tdb_lpm *l, unsigned int bits)
{
	return lpm_init(l, bits, true);
}

void tdb_lpm_publish(struct tdb_lpm *l)
{
	l->private = false;
}

void tdb_lpm_destroy(struct tdb_lpm *l)
{
	struct lpm_mem *mem = l->mem;
	struct lpm_retire *rb;

	if (!mem)
		return;
	/*
	 * Batches not handed to RCU yet, or back from it, only drop their
	 * references: their nodes go with the heap.  Those still in RCU's
	 * hands drop theirs when they come back, the last one freeing the
	 * heap.
	 */
	if (l->retire)
		port_atomic_dec_return(&mem->refs);
	l->retire = NULL;
	port_spin_lock(&mem->lock);
	mem->dead = true;
	rb = mem->done;
	mem->done = NULL;
	port_spin_unlock(&mem->lock);
	for (; rb; rb = rb->next)
		port_atomic_dec_return(&mem->refs);
	lpm_mem_put(mem);
	l->mem = NULL;
	l->root = NULL;
	l->count = 0;
	l->bytes = 0;
}

/*
 * The prefix goes into @n, the node at @link, as inner bit @pos: a new
 * leaf for a stored prefix, or a copy of @n one slot larger.
 */
static int lpm_insert_here(struct tdb_lpm *l, void **link, struct lpm_node *n,
			   unsigned int pos, void *leaf)
{
	unsigned int w = l->bits == 128 ? 2 : 1, at;
	u64 bit = lpm_bit(pos);
	struct lpm_node *nn;

	at = lpm_popcount(n->ext) + lpm_popcount(n->inner & (bit - 1));
	if (n->inner & bit) {
		rcu_assign_pointer(lpm_slots(n, w)[at], leaf);
		return 0;
	}
	nn = lpm_node_copy(l, n, n->ext, n->inner | bit, at, leaf);
	if (unlikely(!nn))
		return -ENOMEM;
	rcu_assign_pointer(*link, nn);
	lpm_retire(l, n);
	WRITE_ONCE(l->count, l->count + 1);
	return 0;
}

/*
 * The prefix belongs between a node and its child @c at @cslot (the key
 * of @c differs from @a within its first @dc bits, or the prefix is
 * shorter than @dc): a new node at the deepest level above both takes @c
 * and the prefix, itself or in a node of its own.
 */
static int lpm_insert_split(struct tdb_lpm *l, void **cslot, struct lpm_node *c,
			    unsigned int dc, const struct lpm_addr *a,
			    unsigned int plen, void *leaf, bool v6)
{
	unsigned int w = lpm_words(v6), e, va, vc, common;
	struct lpm_node *m, *q = NULL;
	struct lpm_addr k;
	void **s;

	lpm_key_addr(&k, c, v6);
	common = lpm_common(a, &k);
	if (common > dc)
		common = dc;
	e = common < plen ? common : plen;
	e -= e % LPM_STRIDE;
	vc = lpm_chunk(&k, e, v6);
	va = lpm_chunk(a, e, v6);
	if (plen >= e + LPM_STRIDE) {
		q = lpm_node_prefix(l, a, plen, leaf, v6);
		if (unlikely(!q))
			return -ENOMEM;
	}
	m = lpm_node_alloc(l, 2);
	if (unlikely(!m)) {
		if (q)
			lpm_node_drop(l, q);
		return -ENOMEM;
	}
	lpm_set_key(m, a, e, w);
	s = lpm_slots(m, w);
	if (q) {
		/* Chunks differ: the keys part within these 6 bits. */
		m->ext = lpm_bit(va) | lpm_bit(vc);
		m->inner = 0;
		s[va > vc] = q;
		s[va < vc] = c;
	} else {
		m->ext = lpm_bit(vc);
		m->inner = lpm_bit(lpm_pos(va, plen - e));
		s[0] = c;
		s[1] = leaf;
	}
	rcu_assign_pointer(*cslot, m);
	WRITE_ONCE(l->count, l->count + 1);
	return 0;
}

int tdb_lpm_insert(struct tdb_lpm *l, const u8 *addr, unsigned int plen,
		   void *leaf)
{
	bool v6 = l->bits == 128;
	unsigned int w = lpm_words(v6), d = 0, v, at, dc;
	void **link = (void **)&l->root, **cslot;
	struct lpm_node *n = l->root, *c, *q, *nn;
	struct lpm_addr a;
	u64 bit;

	if (plen > l->bits || !leaf)
		return -EINVAL;
	lpm_reclaim_due(l);
	lpm_load(&a, addr, v6);
	for (;;) {
		v = lpm_chunk(&a, d, v6);
		if (plen < d + LPM_STRIDE)
			return lpm_insert_here(l, link, n, lpm_pos(v, plen - d),
					       leaf);
		bit = lpm_bit(v);
		at = lpm_popcount(n->ext & (bit - 1));
		if (!(n->ext & bit)) {
			q = lpm_node_prefix(l, &a, plen, leaf, v6);
			if (unlikely(!q))
				return -ENOMEM;
			nn = lpm_node_copy(l, n, n->ext | bit, n->inner, at, q);
			if (unlikely(!nn)) {
				lpm_node_drop(l, q);
				return -ENOMEM;
			}
			rcu_assign_pointer(*link, nn);
			lpm_retire(l, n);
			WRITE_ONCE(l->count, l->count + 1);
			return 0;
		}
		cslot = &lpm_slots(n, w)[at];
		c = *cslot;
		dc = lpm_depth(c, v6);
		if (plen < dc || !lpm_match(c, &a, dc, v6))
			return lpm_insert_split(l, cslot, c, dc, &a, plen, leaf,
						v6);
		link = cslot;
		n = c;
		d = dc;
	}
}

/*
 * Takes the child in slot @at (chunk @v) off @p, the node at @plink: a
 * copy of @p without it, or when @p is left with one child and no prefix
 * (and is not the root), that child in @p's place.
 */
static void lpm_unlink_child(struct tdb_lpm *l, void **plink,
			     struct lpm_node *p, unsigned int v,
			     unsigned int at)
{
	unsigned int w = l->bits == 128 ? 2 : 1;
	struct lpm_node *np;

	if (p != l->root && !p->inner && lpm_popcount(p->ext) == 2) {
		rcu_assign_pointer(*plink, lpm_slots(p, w)[at ^ 1]);
	} else {
		np = lpm_node_copy_nofail(l, p, p->ext & ~lpm_bit(v), p->inner,
					  at);
		rcu_assign_pointer(*plink, np);
	}
	lpm_retire(l, p);
}

void *tdb_lpm_remove(struct tdb_lpm *l, const u8 *addr, unsigned int plen)
{
	bool v6 = l->bits == 128;
	unsigned int w = lpm_words(v6), d = 0, v, at, dc, pv = 0, pat = 0;
	void **link = (void **)&l->root, **plink = NULL, *leaf;
	struct lpm_node *n = l->root, *p = NULL, *c, *nn;
	unsigned int nch;
	struct lpm_addr a;
	u64 bit, inner;

	if (plen > l->bits)
		return NULL;
	lpm_reclaim_due(l);
	lpm_load(&a, addr, v6);
	for (;;) {
		v = lpm_chunk(&a, d, v6);
		if (plen < d + LPM_STRIDE)
			break;
		bit = lpm_bit(v);
		if (!(n->ext & bit))
			return NULL;
		at = lpm_popcount(n->ext & (bit - 1));
		c = lpm_slots(n, w)[at];
		dc = lpm_depth(c, v6);
		if (plen < dc || !lpm_match(c, &a, dc, v6))
			return NULL;
		plink = link;
		p = n;
		pv = v;
		pat = at;
		link = &lpm_slots(n, w)[at];
		n = c;
		d = dc;
	}
	bit = lpm_bit(lpm_pos(v, plen - d));
	if (!(n->inner & bit))
		return NULL;
	nch = lpm_popcount(n->ext);
	at = nch + lpm_popcount(n->inner & (bit - 1));
	leaf = lpm_slots(n, w)[at];
	inner = n->inner & ~bit;
	if (!p || inner || nch >= 2) {
		nn = lpm_node_copy_nofail(l, n, n->ext, inner, at);
		rcu_assign_pointer(*link, nn);
	} else if (nch == 1) {
		/* The child takes the place of a node left with it alone. */
		rcu_assign_pointer(*link, lpm_slots(n, w)[0]);
	} else {
		lpm_unlink_child(l, plink, p, pv, pat);
	}
	lpm_retire(l, n);
	WRITE_ONCE(l->count, l->count - 1);
	return leaf;
}

u64 tdb_lpm_bytes(const struct tdb_lpm *l)
{
	return READ_ONCE(l->bytes);
}

u64 tdb_lpm_heap_bytes(const struct tdb_lpm *l)
{
	return l->mem ? tdb_heap_size(l->mem->heap) : 0;
}
