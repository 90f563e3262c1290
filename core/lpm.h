/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * lpm.h - the longest-prefix-match index of tables keyed by cidr4 or cidr6.
 *
 * The index answers "which stored prefix is the longest one containing
 * this address" for lock-free RCU readers while one writer at a time
 * inserts and removes prefixes.  It maps a prefix (address bytes in
 * network order and a length) to a leaf: an opaque non-NULL pointer, the
 * table's record.  The index never looks into a leaf and never frees one;
 * the table retires its records through RCU itself.
 *
 * Structure (see lpm.c for the reasons): a multibit trie of stride 6 whose
 * nodes hold up to 63 prefixes of lengths d..d+5 and up to 64 children,
 * both compressed with bitmaps and counted with popcount (Tree Bitmap,
 * Eatherton et al., 2004), with path compression (a child that would be
 * alone on its way down hangs lower, and carries its own key).  An IPv4
 * lookup visits at most 6 nodes, an IPv6 one at most 22, and in practice
 * far fewer: a random address in a table of a million routes touches 3 or
 * 4, of which the top ones stay in cache.
 *
 * Memory: a node costs 16 bytes of bitmaps, 8 (IPv4) or 16 (IPv6) of key,
 * and 8 per child and per prefix, rounded up to the heap's size class.  A
 * million random IPv4 prefixes take 32 bytes each with lengths uniform in
 * 8..32, 41 with a routing-table mix (mostly /24, each in a node of its
 * own); 100,000 random IPv6 ones about 55 (bench/lpm).
 *
 * Concurrency.  Readers call tdb_lpm_lookup()/tdb_lpm_lookup_batch()
 * inside rcu_read_lock(); they never block, never write shared memory and
 * never retry.  Writers are serialised by the caller (the table's write
 * lock).  A write changes at most one node's bitmaps, which it does by
 * building a new copy of the node and publishing it with one
 * rcu_assign_pointer(); a new leaf for a stored prefix, or a new child for
 * a slot, is one pointer store.  So a reader sees every node either before
 * or after the write, never half-built: an address whose answer the write
 * does not change gets the right answer throughout, and one whose answer
 * it changes gets the old answer or the new one.  Nodes that a write
 * replaced are retired in batches, one call_rcu() per batch, and freed
 * after a grace period.
 *
 * Private mode (tdb_lpm_init_private()): for a staging table that no
 * reader can see yet (bulk load with replace, checkpoint load).  Replaced
 * nodes are freed at once instead of through RCU.  tdb_lpm_publish()
 * ends the mode; the caller publishes the table itself (with the pointer
 * exchange that makes the whole table visible), and nothing may look the
 * index up before that exchange.
 */
#ifndef TDB_CORE_LPM_H
#define TDB_CORE_LPM_H

#include "port.h"

struct lpm_node;
struct lpm_mem;
struct lpm_retire;

/* Embedded in struct tdb_table; the fields are the index's own. */
struct tdb_lpm {
	struct lpm_node *root; /* RCU; never NULL after init */
	unsigned int bits; /* 32 or 128 */
	bool private; /* no reader yet: free at once */
	u64 count; /* prefixes stored; READ_ONCE */
	u64 bytes; /* see tdb_lpm_bytes(); READ_ONCE */
	struct lpm_mem *mem; /* node heap, outlives @l for RCU */
	struct lpm_retire *retire; /* batch being filled; writer only */
};

/*
 * Prepares an empty index for addresses of @bits bits (32 for IPv4, 128
 * for IPv6).  Returns 0, -EINVAL for any other @bits, or -ENOMEM.
 */
int tdb_lpm_init(struct tdb_lpm *l, unsigned int bits);

/*
 * The same, in private mode (above): no reader may use the index until
 * tdb_lpm_publish() has been called and the index made reachable.
 */
int tdb_lpm_init_private(struct tdb_lpm *l, unsigned int bits);

/*
 * Ends private mode: from now on replaced nodes go through RCU.  Call it
 * before the pointer exchange that makes the index reachable (that
 * exchange orders every earlier write before readers).  Nothing when the
 * index is not private.
 */
void tdb_lpm_publish(struct tdb_lpm *l);

/*
 * Frees every node now.  No reader or writer may use the index any more
 * (a grace period has passed since it was last reachable).  Batches
 * already handed to RCU keep the node heap alive until they have run, so
 * this may be called from an RCU callback; rcu_barrier() afterwards
 * guarantees that every byte is back.
 */
void tdb_lpm_destroy(struct tdb_lpm *l);

/* Writers: the caller serialises them (the table's write lock). */

/*
 * Stores @leaf (non-NULL) for the prefix @addr/@plen, or replaces the leaf
 * when the prefix is present (readers then see the old leaf or the new
 * one).  @addr holds bits/8 bytes in network order with no bit set past
 * @plen (the caller guarantees it), @plen is 0..bits.  Returns 0, -EINVAL
 * for a bad @plen or NULL @leaf, or -ENOMEM, in which case nothing
 * changed.  Allocates at most three nodes.
 */
int tdb_lpm_insert(struct tdb_lpm *l, const u8 *addr, unsigned int plen,
		   void *leaf);

/*
 * Removes the prefix @addr/@plen and returns its leaf, or NULL when it is
 * not stored.  Never fails: it needs at most one new node, and when the
 * heap has none it waits for a grace period, frees the nodes retired so
 * far and tries again, then waits for memory (as __GFP_NOFAIL does).
 */
void *tdb_lpm_remove(struct tdb_lpm *l, const u8 *addr, unsigned int plen);

/*
 * Hands the nodes retired by earlier writes to RCU now instead of when
 * their batch fills, and frees those whose grace period is over: call it
 * at the end of a write burst.  Retired nodes are freed by the writer,
 * not by RCU callbacks (see lpm.c), so the nodes of the last burst wait
 * for the next write or flush, or for tdb_lpm_destroy().
 */
void tdb_lpm_flush(struct tdb_lpm *l);

/*
 * A hint for a writer that knows its next prefixes: walks the index as
 * lookups of @addrs would, with their cache misses overlapping as in
 * tdb_lpm_lookup_batch(), so that the writes at those addresses that
 * follow find their nodes in cache.  Worth it for bursts of writes to an
 * index larger than the cache (a bulk load: about 3x fewer stalls); the
 * writes must follow soon, before the lines are evicted.  Reads only, and
 * only what a reader may: the caller holds the write lock or
 * rcu_read_lock().
 */
void tdb_lpm_prefetch(const struct tdb_lpm *l, unsigned int n,
		      const u8 *const *addrs);

/* Readers: inside rcu_read_lock(); never block, never write. */

/*
 * The leaf of the longest stored prefix that contains @addr (bits/8 bytes,
 * network order), or NULL when none does.
 */
void *tdb_lpm_lookup(const struct tdb_lpm *l, const u8 *addr);

/*
 * Looks up @n addresses at once, out[i] for addrs[i], with the cache
 * misses of up to 16 walks overlapping.  Same results as @n lookups.
 */
void tdb_lpm_lookup_batch(const struct tdb_lpm *l, unsigned int n,
			  const u8 *const *addrs, void **out);

/* Any thread. */

/* Prefixes stored. */
static inline u64 tdb_lpm_count(const struct tdb_lpm *l)
{
	return READ_ONCE(l->count);
}

/*
 * Bytes of live nodes, each counted at its heap size class: what the
 * table adds to its memory figure and quota.  Nodes waiting for a grace
 * period are not counted, and the figure is the same after the last
 * prefix is removed as right after init (the root node alone).
 */
u64 tdb_lpm_bytes(const struct tdb_lpm *l);

/*
 * Bytes of pages the index's heap holds: live nodes, slab slack, cached
 * empty blocks and nodes waiting for RCU.  For benchmarks and tuning;
 * a racy snapshot while a writer runs.
 */
u64 tdb_lpm_heap_bytes(const struct tdb_lpm *l);

#endif /* TDB_CORE_LPM_H */
