/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * index.h - records and the hash index that finds them.
 *
 * The index is a split-ordered list (Shalev and Shavit, "Split-ordered
 * lists: lock-free extensible hash tables", JACM 2006) with RCU readers and
 * one writer at a time:
 *
 *  - Every record of a table sits on ONE singly linked list sorted by its
 *    split-order key, the bit-reversed 32-bit keyed hash with the lowest
 *    bit set, then by key bytes (memcmp, shorter first on a tie) for the
 *    rare records whose hashes are equal.  The order is total and a record
 *    never moves, so a scan cursor is just a position (so_key, key) in it.
 *  - Bucket b is a head node (a struct tdb_rec without data, so_key =
 *    bit-reverse(b), lowest bit clear) that sits in the same list just
 *    before the records that hash to b.  Heads live in segments that never
 *    move: segment 0 holds bucket 0, segment i >= 1 buckets [2^(i-1), 2^i).
 *  - Growing doubles the number of buckets by allocating one segment and
 *    publishing the new size.  New heads are linked lazily by the writer
 *    the first time it touches their bucket; until then a reader starts from
 *    the nearest initialised ancestor bucket (b with its top bit cleared),
 *    which precedes b's records in the same list.  Readers never wait and
 *    never miss a record; no record is rehashed or copied.
 *  - The index grows when records outnumber buckets two to one; it never
 *    shrinks (a table that was once large keeps its heads: 16 bytes per
 *    bucket).
 *  - Records that arrive in index order (a checkpoint's, loaded into an
 *    index that hashes with the key of the one saved) can be appended at
 *    the end of the list without a walk: see "Bulk loading" below.
 *
 * Readers call the lookup and scan functions inside rcu_read_lock().  A
 * writer holds its table's write lock; it links a record by storing its
 * pointer with rcu_assign_pointer() after the record is complete, and
 * hands unlinked records to call_rcu() (never frees them directly).
 */
#ifndef TDB_CORE_INDEX_H
#define TDB_CORE_INDEX_H

#include "port.h"
#include "tdb/proto.h"	/* TDB_KEY_MAX, TDB_VAL_MAX */

#define TDB_REC_KLEN_BITS 11
#define TDB_REC_KLEN_MASK ((1U << TDB_REC_KLEN_BITS) - 1)

/*
 * A record: 16 bytes of header, then the key, then the value.  No RCU head
 * is embedded; the table retires records in batches (see table.c), which
 * keeps the per-record overhead at 16 bytes plus the bucket heads.
 */
struct tdb_rec {
	struct tdb_rec *next;	/* RCU-protected */
	u32 so_key;		/* split-order key; lowest bit set for records */
	u32 len;		/* key length in bits 0-10, value length above */
	u8 data[];		/* key, then value */
};

static inline u32 tdb_rec_klen(const struct tdb_rec *r)
{
	return r->len & TDB_REC_KLEN_MASK;
}

static inline u32 tdb_rec_vlen(const struct tdb_rec *r)
{
	return r->len >> TDB_REC_KLEN_BITS;
}

static inline const u8 *tdb_rec_key(const struct tdb_rec *r)
{
	return r->data;
}

static inline const u8 *tdb_rec_val(const struct tdb_rec *r)
{
	return r->data + tdb_rec_klen(r);
}

static inline size_t tdb_rec_size(u32 klen, u32 vlen)
{
	return sizeof(struct tdb_rec) + klen + vlen;
}

/* A key to look for, with its split-order key computed once. */
struct tdb_key {
	const void *data;
	u32 len;
	u32 so_key;
};

#define TDB_INDEX_SEGS 32

struct tdb_index_load;

struct tdb_index {
	struct tdb_rec *seg[TDB_INDEX_SEGS];	/* bucket heads, see above */
	u32 size_log;		/* 1 << size_log buckets; READ_ONCE */
	u64 count;		/* records; written by the writer only */
	size_t bytes;		/* bytes of segments */
	struct port_hash_key hash_key;	/* random per index, or handed over */
	struct tdb_index_load *load;	/* bulk load (below); writer only */
};

/* Prepares an empty index with a fresh random hash key.  0 or -ENOMEM. */
int tdb_index_init(struct tdb_index *ix);

/*
 * Bulk loading.  A checkpoint lists a table's records in index order (it
 * scans them), and an index that hashes with the same key puts them back
 * in the same order.  Each record then belongs at the end of the list,
 * after the bucket heads whose so_keys are below its own, and goes there
 * without a walk: tdb_index_append() links the record after the last one
 * at once, and the heads due before it a little later, in batches (see
 * index.c for why).  Until then those heads are not live, as heads may
 * be; they are linked in split order, which puts each parent before its
 * children, and each is made live as the writer makes any head live
 * (fields, link, then the mark: see index.c), so every rule above holds
 * at every step.
 *
 * tdb_index_init_keyed() opens a load on an empty index.  The load stays
 * open while records come strictly after the last one.  The first that
 * does not (out of order, or a key met twice) closes it: append returns
 * false and the caller links that record, and all later ones, with
 * tdb_index_slot() and tdb_index_insert() or tdb_index_replace().
 * Closing links the heads still due and then every head not linked yet
 * at the end of the list, where they belong, as no record lies beyond it:
 * one pass over the heads.  tdb_index_slot() closes an open load before
 * anything else, so that the writer's other calls never meet one.  The
 * loader closes it with tdb_index_append_end() after the last record; a
 * load left open is only untidy (the few dozen heads still queued and
 * those after the last record stay to be linked lazily, and a 1 KiB
 * queue stays allocated until the index is destroyed).
 *
 * Growing works as for inserts: a load that outgrows the size it was
 * given adds a segment when records pass two per bucket; the new heads
 * before the end of the list are left to lazy linking, those after it
 * are linked as records pass them.
 *
 * Readers.  A load runs before its table serves anyone (recovery), so no
 * reader needs to look records up during one.  Nothing relies on that
 * for safety (every node is published as an insert publishes it, and a
 * reader meets a head not linked yet as it meets any), but no test covers
 * readers during a load.
 */

/*
 * Prepares an empty index that hashes with @key, and opens a bulk load
 * on it.  @key NULL or all zero means none: a fresh random key and no
 * load, as tdb_index_init().  The index starts with the buckets that
 * @records records would have grown it to (fewer when memory is short):
 * each bucket costs 16 bytes at once, so @records must be bounded by the
 * caller (by the size of the checkpoint that claims it).  0 or -ENOMEM.
 *
 * Why a key is handed over, and what that costs: see
 * tdb_table_create_keyed() in table.h.
 */
int tdb_index_init_keyed(struct tdb_index *ix, const struct port_hash_key *key,
			 u64 records);

/*
 * Calls @free_rec on every record, then frees the segments.  @free_rec may
 * be NULL when the records go with their heap; the list is then not walked.
 * No reader or writer may use the index any more.
 */
void tdb_index_destroy(struct tdb_index *ix,
		       void (*free_rec)(struct tdb_rec *rec, void *arg),
		       void *arg);

/* Fills @k for @data/@len, hashing it with the index's key. */
void tdb_index_key(const struct tdb_index *ix, struct tdb_key *k,
		   const void *data, u32 len);

/* Whether @r holds exactly the key @k. */
static inline bool tdb_rec_matches(const struct tdb_rec *r,
				   const struct tdb_key *k)
{
	return r && r->so_key == k->so_key && tdb_rec_klen(r) == k->len &&
	       !memcmp(r->data, k->data, k->len);
}

/* Readers (inside rcu_read_lock()). */

/* The record holding @k, or NULL. */
struct tdb_rec *tdb_index_lookup(const struct tdb_index *ix,
				 const struct tdb_key *k);

/*
 * Looks up @n keys at once, overlapping their cache misses with prefetches;
 * out[i] is the record for keys[i] or NULL.  Same result as n lookups.
 */
void tdb_index_lookup_batch(const struct tdb_index *ix, unsigned int n,
			    const struct tdb_key *keys, struct tdb_rec **out);

/*
 * The first record strictly after position @pos in index order, or NULL at
 * the end.  A position of so_key 0 and length 0 is before every record.
 */
struct tdb_rec *tdb_index_seek(const struct tdb_index *ix,
			       const struct tdb_key *pos);

/* The record after @r in index order, or NULL (skips bucket heads). */
struct tdb_rec *tdb_index_next(const struct tdb_rec *r);

/* The writer (one at a time, under the table's write lock). */

/*
 * The link that points at the record holding @k, or at the record before
 * which @k belongs when there is none (check with tdb_rec_matches(*slot,
 * k)).  May link bucket heads; valid until the next writer call.  Closes
 * an open bulk load first.
 */
struct tdb_rec **tdb_index_slot(struct tdb_index *ix, const struct tdb_key *k);
/*
 * A hint for a writer that knows its next keys: starts loading what
 * tdb_index_slot(@k) reads first, so that the cache misses of several
 * keys overlap.  @step 0 fetches @k's bucket head; step 1, issued once
 * step 0 had time to land, fetches the record after it.  Reads only, and
 * only what a reader may read: any thread, under RCU or the write lock.
 */
void tdb_index_prefetch(const struct tdb_index *ix, const struct tdb_key *k,
			unsigned int step);

/*
 * Links @rec (so_key, len and data filled in, so_key from the same key
 * the slot was found for) at @slot, and grows the index when it is due.
 * Growing that fails for lack of memory is tried again later; the insert
 * itself cannot fail.
 */
void tdb_index_insert(struct tdb_index *ix, struct tdb_rec **slot,
		      struct tdb_rec *rec);

/* Puts @rec in the place of the matching record at @slot; returns the old. */
struct tdb_rec *tdb_index_replace(struct tdb_rec **slot, struct tdb_rec *rec);

/* Unlinks the matching record at @slot and returns it. */
struct tdb_rec *tdb_index_remove(struct tdb_index *ix, struct tdb_rec **slot);

static inline u64 tdb_index_count(const struct tdb_index *ix)
{
	return READ_ONCE(ix->count);
}

/*
 * Bulk loading (above).  Links @rec (so_key, len and data filled in, the
 * so_key from tdb_index_key() on this index) at the end of the list and
 * returns true, when a load is open and @rec comes strictly after the
 * last record.  Otherwise returns false without touching @rec, the load
 * being closed, and the caller inserts @rec as usual.  Grows the index
 * when it is due, as tdb_index_insert() does; cannot fail.
 */
bool tdb_index_append(struct tdb_index *ix, struct tdb_rec *rec);

/* Closes an open bulk load (above); nothing when none is open. */
void tdb_index_append_end(struct tdb_index *ix);

#endif /* TDB_CORE_INDEX_H */
