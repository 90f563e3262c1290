// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * index.c - the split-ordered list behind every table (see index.h).
 *
 * Head initialisation.  A head of a segment starts as zeroes.  The writer
 * makes bucket b's head live in three steps: it fills so_key and next while
 * nobody can see the head, links it into the list with rcu_assign_pointer()
 * (release), and only then stores INDEX_HEAD_READY into its len with
 * smp_store_release().  A reader that finds len set with smp_load_acquire()
 * therefore also sees the head's fields and the fact that it sits in the
 * list; one that finds len clear touches nothing else in it and starts from
 * the parent bucket (b less its highest set bit) instead, whose head the
 * writer always makes live before its children's, down to bucket 0, which
 * tdb_index_init() makes live.  A live head is never unlinked, and every
 * head's so_key is at most the so_key of any record of its bucket's
 * descendants, so walking forward from it reaches every record that
 * belongs to the bucket looked for.  INDEX_HEAD_READY sits in the value
 * length bits: a head's key length stays 0, so the one order function
 * puts a head before any position of its so_key (such as the scan start,
 * so_key 0 and no key) without a special case.
 *
 * Growing.  The writer allocates segment size_log + 1 (zeroed), stores its
 * pointer, then publishes size_log + 1 with smp_store_release(); readers
 * load size_log with smp_load_acquire() before they index a segment, so
 * they never see a segment pointer that is not there yet.  A reader with a
 * stale size_log uses an ancestor bucket, which is correct, only slower.
 *
 * Eager heads.  Heads would otherwise be made live only when the writer
 * touches their bucket, and a reader of a bucket whose head is not live
 * pays an extra miss for the parent head and walks the parent's records
 * as well.  So every insert also makes a few heads of the newest segment
 * live, in bucket order, chosen from the record count: the whole segment
 * is live after an eighth of the inserts that lead to the next growth.
 * That is no extra work, only earlier: each head is made live once.
 *
 * Bulk loading.  With 1 << L buckets, the heads' so_keys are exactly the
 * multiples of 1 << (32 - L), and the head of so_key s is bucket
 * bit-reverse(s).  An open load (struct tdb_index_load) keeps the last
 * record (the tail) and the so_key of the first head not dealt with yet.
 * Appending a record links it after the tail, then queues the heads whose
 * so_keys lie between the two records, each with the record before it.
 * Every INDEX_LOAD_BATCH heads, the queue is linked in one tight pass:
 * each head after its record, or after the head linked just before it
 * when both lie between the same two records.  Those records are recent:
 * their lines are still in the cache.
 *
 * Why the queue.  Consecutive heads in split order lie far apart in the
 * segments (their bucket numbers differ in the top bits), so each head
 * costs a cache miss and a TLB miss of its own.  Linked one at a time
 * among the work of each record, and even prefetched well ahead there,
 * those misses hardly overlapped: ten million records (eight million
 * heads) took about 1.5 s longer than without the heads, where the
 * records alone took about 0.8 s.  Linked in batches whose heads are all
 * prefetched first, the misses overlap and the heads cost about 0.4 s.
 * The segments also get huge pages where the host has them (see
 * port_zalloc() in port_user.c).
 *
 * A head whose batch has not been linked yet is simply not live, which
 * the rules above allow: readers start from an ancestor.  Heads are linked
 * in so_key order, so a parent (its child's so_key less one bit) is live
 * before its children.  Growing during a load halves the step between
 * heads: the next head is the first multiple of the new step above the
 * tail, so the new heads below the tail are left unlinked (lazy, as after
 * any growth) and those above it are queued as records pass them; the
 * heads queued already stay valid, a head being known by its so_key
 * whatever the size, and still come first in so_key order.  Closing empties
 * the queue and links the heads left, which all come after the last
 * record, at the end of the list.
 */
#include "index.h"

/* The mark of a live head, in its len (see above). */
#define INDEX_HEAD_READY (1U << TDB_REC_KLEN_BITS)
/* Buckets are numbered by the low 31 bits of the hash. */
#define INDEX_MAX_LOG 31U
/* Heads made live ahead of need per insert (see above). */
#define INDEX_AHEAD 4
/*
 * Keys looked up together by tdb_index_lookup_batch(): enough misses in
 * flight to cover a memory latency, few enough for the kernel's stack.
 */
#define INDEX_BATCH_GROUP 32
/* List sections walked at once by tdb_index_destroy(). */
#define INDEX_DESTROY_WINDOW 16
/* Heads a bulk load queues before it links them (see above). */
#define INDEX_LOAD_BATCH 64
/* Heads prefetched ahead when a load links the last ones at the end. */
#define INDEX_LOAD_AHEAD 16

/* An open bulk load: see above. */
struct tdb_index_load {
	struct tdb_rec *tail;	/* the last record, or bucket 0's head */
	u64 next_so;		/* so_key of the first head not queued yet */
	struct tdb_rec *last_pred, *last_head;	/* the last head linked */
	u32 n;			/* heads queued */
	struct {
		struct tdb_rec *pred;	/* the last record before the head */
		u32 so_key;
	} q[INDEX_LOAD_BATCH];
};

/* Reverses the bits of @x: hash order to split order and back. */
static __always_inline u32 index_bitrev32(u32 x)
{
	x = ((x >> 1) & 0x55555555U) | ((x & 0x55555555U) << 1);
	x = ((x >> 2) & 0x33333333U) | ((x & 0x33333333U) << 2);
	x = ((x >> 4) & 0x0f0f0f0fU) | ((x & 0x0f0f0f0fU) << 4);
	return __builtin_bswap32(x);
}

/* The bucket number that split-order key @so_key hashes to (31 bits). */
static __always_inline u32 index_hash_of(u32 so_key)
{
	return index_bitrev32(so_key) & 0x7fffffffU;
}

/* The bucket of @so_key among @mask + 1 buckets. */
static __always_inline u32 index_bucket(u32 so_key, u32 mask)
{
	return index_hash_of(so_key) & mask;
}

/* Index of the segment holding bucket @b: 0 for bucket 0, else fls(b). */
static __always_inline unsigned int index_seg_of(u32 b)
{
	return b ? 32 - __builtin_clz(b) : 0;
}

/* Number of heads in segment @i (i from 0 to INDEX_MAX_LOG). */
static __always_inline size_t index_seg_heads(unsigned int i)
{
	return i ? (size_t)1 << (i - 1) : 1;
}

/*
 * The head of bucket @b.  The segment must exist: the caller got @b from
 * a size_log it loaded with acquire (readers) or owns (the writer).
 */
static __always_inline struct tdb_rec *index_head(const struct tdb_index *ix,
						  u32 b)
{
	unsigned int i = index_seg_of(b);
	struct tdb_rec *seg = READ_ONCE(ix->seg[i]);

	/* Clearing the top bit gives the offset in segments 1 and up. */
	return seg + (i ? b ^ (1U << (i - 1)) : 0);
}

/* Bucket @b's parent: @b without its highest set bit.  @b is not 0. */
static __always_inline u32 index_parent(u32 b)
{
	return b ^ (1U << (31 - __builtin_clz(b)));
}

/*
 * For a reader: the head of bucket @b, or of its nearest ancestor when
 * that one is not live yet; it precedes every record of @b in the list.
 * At most 31 steps, ending at bucket 0 at worst.
 */
static __always_inline const struct tdb_rec *
index_head_live(const struct tdb_index *ix, u32 b)
{
	const struct tdb_rec *h = index_head(ix, b);

	while (unlikely(!smp_load_acquire(&h->len))) {
		b = index_parent(b);
		h = index_head(ix, b);
	}
	return h;
}

/*
 * Orders node @r against position (@so_key, @key, @klen): negative when @r
 * comes first, 0 when equal, positive when after.  Heads have key length
 * 0, so they come before records and positions of their so_key.
 */
static __always_inline int index_cmp(const struct tdb_rec *r, u32 so_key,
				     const void *key, u32 klen)
{
	u32 rlen;
	int c;

	if (r->so_key != so_key)
		return r->so_key < so_key ? -1 : 1;
	rlen = tdb_rec_klen(r);
	c = memcmp(r->data, key, rlen < klen ? rlen : klen);
	if (c)
		return c;
	return rlen < klen ? -1 : rlen > klen;
}

/* Makes @ix an empty index of one bucket with a fresh hash key. */
int tdb_index_init(struct tdb_index *ix)
{
	return tdb_index_init_keyed(ix, NULL, 0);
}

/*
 * The first node of the next list section for tdb_index_destroy(): the
 * successor of the first live head from bucket *@b on, or NULL past the
 * last bucket.  Advances *@b past that head.
 */
static struct tdb_rec *index_next_section(const struct tdb_index *ix, u32 *b)
{
	u32 nb = 1U << ix->size_log;
	const struct tdb_rec *h;

	while (*b < nb) {
		h = index_head(ix, (*b)++);
		if (h->len && h->next)
			return h->next;
	}
	return NULL;
}

/*
 * Hands every record to @free_rec.  The live heads cut the list into
 * sections, each ending at the next head; up to INDEX_DESTROY_WINDOW
 * sections are walked at once, so that the misses of a large table's
 * records overlap as in tdb_index_lookup_batch().  Heads are visited in
 * bucket order, which keeps the walk over the segments sequential.
 */
static void index_free_records(struct tdb_index *ix,
			       void (*free_rec)(struct tdb_rec *rec, void *arg),
			       void *arg)
{
	struct tdb_rec *win[INDEX_DESTROY_WINDOW] = { NULL };
	unsigned int s, busy;
	u32 b = 0;

	do {
		busy = 0;
		for (s = 0; s < INDEX_DESTROY_WINDOW; s++) {
			struct tdb_rec *r = win[s];

			if (r && (r->so_key & 1)) {
				/* @free_rec may free @r: step off it first. */
				win[s] = r->next;
				free_rec(r, arg);
			} else {
				win[s] = index_next_section(ix, &b);
			}
			if (win[s]) {
				prefetch(win[s]);
				busy++;
			}
		}
	} while (busy);
}

/* Frees the records (when @free_rec is given), then every segment. */
void tdb_index_destroy(struct tdb_index *ix,
		       void (*free_rec)(struct tdb_rec *rec, void *arg),
		       void *arg)
{
	unsigned int i;

	if (!ix->seg[0])
		return;
	if (free_rec)
		index_free_records(ix, free_rec, arg);
	for (i = 0; i < TDB_INDEX_SEGS; i++) {
		if (!ix->seg[i])
			continue;
		port_free(ix->seg[i],
			  index_seg_heads(i) * sizeof(struct tdb_rec));
		ix->seg[i] = NULL;
	}
	ix->bytes = 0;
	ix->count = 0;
	if (ix->load) {
		port_free(ix->load, sizeof(*ix->load));
		ix->load = NULL;
	}
}

/* Fills @k; the so_key has its lowest bit set, as every record's does. */
void tdb_index_key(const struct tdb_index *ix, struct tdb_key *k,
		   const void *data, u32 len)
{
	k->data = data;
	k->len = len;
	k->so_key = index_bitrev32(port_hash(data, len, &ix->hash_key) |
				   0x80000000U);
}

/*
 * Finds the first node at or after @from (a live head or a record) that
 * is not before (@so_key, @key, @klen).  Reader side.  The walk is short:
 * records of one bucket, plus those of unborn descendants.
 */
static __always_inline struct tdb_rec *index_walk(const struct tdb_rec *from,
						  u32 so_key, const void *key,
						  u32 klen, int *cmp)
{
	struct tdb_rec *r;

	for (r = rcu_dereference(from->next); r; r = rcu_dereference(r->next)) {
		if (r->so_key < so_key)
			continue;
		*cmp = index_cmp(r, so_key, key, klen);
		if (*cmp >= 0)
			return r;
	}
	return NULL;
}

/* The record for @k or NULL.  Inside rcu_read_lock(). */
struct tdb_rec *tdb_index_lookup(const struct tdb_index *ix,
				 const struct tdb_key *k)
{
	u32 log = smp_load_acquire(&ix->size_log);
	u32 b = index_bucket(k->so_key, (1U << log) - 1);
	struct tdb_rec *r;
	int cmp = 1;

	r = index_walk(index_head_live(ix, b), k->so_key, k->data, k->len,
		       &cmp);
	return cmp ? NULL : r;
}

/*
 * Looks up @n keys INDEX_BATCH_GROUP at a time, in rounds that each touch
 * one node per key still looking and prefetch the next, so that the cache
 * misses of a group overlap instead of following each other: the heads of
 * the whole group, then their first nodes, then the second nodes of the
 * keys not decided yet, and so on.  Each round is a short loop with few
 * unpredictable branches, which keeps small, cached tables as fast as
 * single lookups.  Same result as @n calls to tdb_index_lookup().  Inside
 * rcu_read_lock().
 */
void tdb_index_lookup_batch(const struct tdb_index *ix, unsigned int n,
			    const struct tdb_key *keys, struct tdb_rec **out)
{
	u32 mask = (1U << smp_load_acquire(&ix->size_log)) - 1;
	struct tdb_rec *node[INDEX_BATCH_GROUP];
	u8 idx[INDEX_BATCH_GROUP];
	unsigned int base, g, i, live, left;

	for (base = 0; base < n; base += g, keys += g, out += g) {
		g = n - base < INDEX_BATCH_GROUP ? n - base : INDEX_BATCH_GROUP;
		for (i = 0; i < g; i++) {
			node[i] = index_head(ix, index_bucket(keys[i].so_key,
							      mask));
			prefetch(node[i]);
		}
		/* Heads to first nodes; node[] then lists the keys still on. */
		live = 0;
		for (i = 0; i < g; i++) {
			const struct tdb_rec *h = node[i];
			struct tdb_rec *r;

			if (unlikely(!smp_load_acquire(&h->len)))
				h = index_head_live(
					ix, index_bucket(keys[i].so_key, mask));
			r = rcu_dereference(h->next);
			out[i] = NULL;
			if (r) {
				prefetch(r);
				node[live] = r;
				idx[live++] = i;
			}
		}
		for (; live; live = left) {
			for (i = 0, left = 0; i < live; i++) {
				const struct tdb_key *k = &keys[idx[i]];
				struct tdb_rec *r = node[i];
				int cmp;

				if (r->so_key >= k->so_key) {
					cmp = index_cmp(r, k->so_key, k->data,
							k->len);
					if (cmp >= 0) {
						out[idx[i]] = cmp ? NULL : r;
						continue;
					}
				}
				r = rcu_dereference(r->next);
				if (r) {
					prefetch(r);
					node[left] = r;
					idx[left++] = idx[i];
				}
			}
		}
	}
}

/*
 * The first record strictly after @pos, starting from the bucket that
 * @pos hashes to, whose head precedes it.  Inside rcu_read_lock().
 */
struct tdb_rec *tdb_index_seek(const struct tdb_index *ix,
			       const struct tdb_key *pos)
{
	u32 log = smp_load_acquire(&ix->size_log);
	u32 b = index_bucket(pos->so_key, (1U << log) - 1);
	const struct tdb_rec *h = index_head_live(ix, b);
	struct tdb_rec *r;
	int cmp = 0;

	r = index_walk(h, pos->so_key, pos->data, pos->len, &cmp);
	/* Step over @pos itself when it is still there, then over heads. */
	if (r && !cmp)
		r = rcu_dereference(r->next);
	while (r && !(r->so_key & 1))
		r = rcu_dereference(r->next);
	return r;
}

/* The record after @r, skipping heads; NULL at the end of the list. */
struct tdb_rec *tdb_index_next(const struct tdb_rec *r)
{
	struct tdb_rec *n = rcu_dereference(r->next);

	while (n && !(n->so_key & 1))
		n = rcu_dereference(n->next);
	return n;
}

/*
 * Writer: makes bucket @b's head live, linking it after its parent's,
 * which must be live already.  One walk of the parent's records.
 */
static void index_head_link(struct tdb_index *ix, struct tdb_rec *parent, u32 b)
{
	struct tdb_rec *h = index_head(ix, b);
	u32 so_key = index_bitrev32(b);
	struct tdb_rec **prev = &parent->next;

	while (*prev && (*prev)->so_key < so_key)
		prev = &(*prev)->next;
	h->so_key = so_key;
	h->next = *prev;
	rcu_assign_pointer(*prev, h);
	smp_store_release(&h->len, INDEX_HEAD_READY);
}

/*
 * Writer: bucket @b's head, made live first if need be, with every
 * missing ancestor before it (at most 31 of them).
 */
static struct tdb_rec *index_head_get(struct tdb_index *ix, u32 b)
{
	struct tdb_rec *h = index_head(ix, b);
	u32 a, rest, bit;

	if (likely(h->len))
		return h;
	a = b;
	do {
		a = index_parent(a);
	} while (!index_head(ix, a)->len);
	/* @b's ancestors are @b less its highest bits: add them back. */
	for (rest = b ^ a; rest; rest ^= bit, a |= bit) {
		bit = rest & -rest;
		index_head_link(ix, index_head(ix, a), a | bit);
	}
	return h;
}

/* The writer's lookup: see index.h.  Links heads on the way if needed. */
struct tdb_rec **tdb_index_slot(struct tdb_index *ix, const struct tdb_key *k)
{
	struct tdb_rec **prev;
	u32 b;

	if (unlikely(ix->load))
		tdb_index_append_end(ix);
	b = index_bucket(k->so_key, (1U << ix->size_log) - 1);
	prev = &index_head_get(ix, b)->next;

	while (*prev && index_cmp(*prev, k->so_key, k->data, k->len) < 0)
		prev = &(*prev)->next;
	return prev;
}

void tdb_index_prefetch(const struct tdb_index *ix, const struct tdb_key *k,
			unsigned int step)
{
	u32 b = index_bucket(k->so_key,
			     (1U << smp_load_acquire(&ix->size_log)) - 1);
	const struct tdb_rec *h = index_head(ix, b);

	if (!step)
		prefetch(h);
	else if (smp_load_acquire(&h->len))
		prefetch(rcu_dereference(h->next));
}

/*
 * Writer: adds segment size_log + 1, doubling the buckets.  Leaves the
 * index as it was when memory is short; the next insert tries again.
 */
static void index_grow(struct tdb_index *ix)
{
	unsigned int i = ix->size_log + 1;
	size_t size = index_seg_heads(i) * sizeof(struct tdb_rec);
	struct tdb_rec *seg;

	seg = port_zalloc(size);
	if (!seg)
		return;
	WRITE_ONCE(ix->seg[i], seg);
	ix->bytes += size;
	/* Orders the zeroed segment and its pointer before the new size. */
	smp_store_release(&ix->size_log, i);
}

/*
 * Writer: makes INDEX_AHEAD heads of the newest segment live, picked by
 * the count so that successive inserts sweep the segment in bucket order
 * (see the top of this file).  Their parents are consecutive heads, so
 * their first records are prefetched together before the walks.  Deletes
 * may move the count back: a head already live costs one check.
 */
static void index_head_ahead(struct tdb_index *ix)
{
	u32 log = ix->size_log, half, j;
	u64 i;

	/* Growth to size_log happened when count passed 1 << size_log. */
	if (!log || ix->count <= (1ULL << log))
		return;
	half = 1U << (log - 1);
	i = (ix->count - (1ULL << log) - 1) * INDEX_AHEAD;
	if (i >= half)
		return;
	for (j = 0; j < INDEX_AHEAD && i + j < half; j++) {
		const struct tdb_rec *parent = index_head(ix, (u32)i + j);

		if (parent->len && parent->next)
			prefetch(parent->next);
	}
	for (j = 0; j < INDEX_AHEAD && i + j < half; j++)
		index_head_get(ix, half + (u32)i + j);
}

/* Writer: links @rec at @slot, then grows when due.  Cannot fail. */
void tdb_index_insert(struct tdb_index *ix, struct tdb_rec **slot,
		      struct tdb_rec *rec)
{
	rec->next = *slot;
	rcu_assign_pointer(*slot, rec);
	WRITE_ONCE(ix->count, ix->count + 1);
	if (ix->count > (2ULL << ix->size_log) && ix->size_log < INDEX_MAX_LOG)
		index_grow(ix);
	index_head_ahead(ix);
}

/*
 * Writer: swaps @rec in for the record at @slot.  Readers on the old
 * record go on through its next, which stays valid.
 */
struct tdb_rec *tdb_index_replace(struct tdb_rec **slot, struct tdb_rec *rec)
{
	struct tdb_rec *old = *slot;

	rec->next = old->next;
	rcu_assign_pointer(*slot, rec);
	return old;
}

/*
 * Writer: unlinks the record at @slot.  Its next is left as it is, so a
 * reader standing on it still reaches the rest of the list.
 */
struct tdb_rec *tdb_index_remove(struct tdb_index *ix, struct tdb_rec **slot)
{
	struct tdb_rec *old = *slot;

	/* old->next was published when it was linked: no barrier needed. */
	WRITE_ONCE(*slot, old->next);
	WRITE_ONCE(ix->count, ix->count - 1);
	return old;
}

/* Whether @key is a key: all zero stands for none. */
static bool index_key_given(const struct port_hash_key *key)
{
	return key && (key->k[0] | key->k[1]);
}

/* See index.h.  Only bucket 0 is live; it is the tail of an empty list. */
/*
 * Makes every head of an empty index live, in one pass in split order:
 * with no record between them, each head just points at the next.  An
 * index sized for a bulk load (a staging table) would otherwise make
 * them live one by one as inserts reach them, each time walking from its
 * parent; here each costs a write, and the writes' misses overlap.
 */
static void index_link_heads(struct tdb_index *ix)
{
	u32 n = 1U << ix->size_log, shift = 32 - ix->size_log, k;
	struct tdb_rec *prev = index_head(ix, 0), *h;

	if (!ix->size_log)
		return;
	for (k = 1; k < n; k++) {
		if (k + INDEX_LOAD_AHEAD < n)
			prefetchw(index_head(ix, index_bitrev32(
					 (k + INDEX_LOAD_AHEAD) << shift)));
		h = index_head(ix, index_bitrev32(k << shift));
		h->so_key = k << shift;
		h->next = NULL;
		h->len = INDEX_HEAD_READY;
		prev->next = h;
		prev = h;
	}
}

int tdb_index_init_keyed(struct tdb_index *ix, const struct port_hash_key *key,
			 u64 records)
{
	struct tdb_index_load *ld;
	struct tdb_rec *h;
	u32 log;

	memset(ix, 0, sizeof(*ix));
	h = port_zalloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* Nobody sees the index yet: bucket 0 needs no ordering. */
	h->len = INDEX_HEAD_READY;
	ix->seg[0] = h;
	ix->bytes = sizeof(*h);
	/* The size that inserting @records would have grown it to. */
	while (ix->size_log < INDEX_MAX_LOG &&
	       (2ULL << ix->size_log) < records) {
		log = ix->size_log;
		index_grow(ix);
		if (ix->size_log == log)
			break;
	}
	if (!index_key_given(key)) {
		port_hash_key_init(&ix->hash_key);
		index_link_heads(ix);
		return 0;
	}
	ix->hash_key = *key;
	/* Without memory for the queue, the records are inserted instead. */
	ld = port_alloc(sizeof(*ld));
	if (ld) {
		ld->tail = h;
		ld->next_so = 1ULL << (32 - ix->size_log);
		ld->last_pred = NULL;
		ld->last_head = NULL;
		ld->n = 0;
		ix->load = ld;
	}
	return 0;
}

/*
 * Writer, bulk load: links the queued heads, in so_key order, each after
 * the record it was queued with, or after the last head linked when that
 * head was queued with the same record (heads between two records are
 * queued together, in order).  All of them are prefetched first, so that
 * their misses overlap.
 */
static void index_load_flush(struct tdb_index *ix, struct tdb_index_load *ld)
{
	struct tdb_rec *prev, *h;
	u32 i, so;

	for (i = 0; i < ld->n; i++)
		prefetchw(index_head(ix, index_bitrev32(ld->q[i].so_key)));
	for (i = 0; i < ld->n; i++) {
		so = ld->q[i].so_key;
		h = index_head(ix, index_bitrev32(so));
		prev = ld->q[i].pred;
		if (prev == ld->last_pred)
			prev = ld->last_head;
		h->so_key = so;
		h->next = prev->next;
		rcu_assign_pointer(prev->next, h);
		smp_store_release(&h->len, INDEX_HEAD_READY);
		ld->last_pred = ld->q[i].pred;
		ld->last_head = h;
	}
	ld->n = 0;
}

/*
 * Writer, bulk load: grows by one segment.  The heads queued stay valid
 * (a head is known by its so_key, whatever the size).  The new heads
 * below the tail stay unlinked (lazy); the load goes on from the first
 * head of the new size above the tail, which is a record (odd so_key) or
 * bucket 0's head (so_key 0): either way no head of the new size sits on
 * it.
 */
static void index_load_grow(struct tdb_index *ix, struct tdb_index_load *ld)
{
	u32 log = ix->size_log;
	u64 step;

	index_grow(ix);
	if (ix->size_log == log)
		return;
	step = 1ULL << (32 - ix->size_log);
	ld->next_so = ((u64)ld->tail->so_key & ~(step - 1)) + step;
}

/* See index.h.  The writer's, under its lock. */
bool tdb_index_append(struct tdb_index *ix, struct tdb_rec *rec)
{
	struct tdb_index_load *ld = ix->load;
	struct tdb_rec *prev;
	u64 step;

	if (!ld)
		return false;
	prev = ld->tail;
	/* Heads (the tail of an empty list) come before every record. */
	if (unlikely(index_cmp(prev, rec->so_key, rec->data,
			       tdb_rec_klen(rec)) >= 0)) {
		tdb_index_append_end(ix);
		return false;
	}
	rec->next = NULL;
	rcu_assign_pointer(prev->next, rec);
	ld->tail = rec;
	/* The heads between the two records, for the next flush. */
	step = 1ULL << (32 - ix->size_log);
	for (; ld->next_so < rec->so_key; ld->next_so += step) {
		ld->q[ld->n].pred = prev;
		ld->q[ld->n].so_key = (u32)ld->next_so;
		if (++ld->n == INDEX_LOAD_BATCH)
			index_load_flush(ix, ld);
	}
	WRITE_ONCE(ix->count, ix->count + 1);
	if (ix->count > (2ULL << ix->size_log) && ix->size_log < INDEX_MAX_LOG)
		index_load_grow(ix, ld);
	return true;
}

/*
 * See index.h.  After the queue, the heads not queued yet all come after
 * the last record: they are linked at the end of the list in one pass,
 * each prefetched INDEX_LOAD_AHEAD heads before its turn.
 */
void tdb_index_append_end(struct tdb_index *ix)
{
	struct tdb_index_load *ld = ix->load;
	u32 shift = 32 - ix->size_log;
	struct tdb_rec *tail, *h;
	u64 so, ahead;

	if (!ld)
		return;
	index_load_flush(ix, ld);
	tail = ld->tail;
	so = ld->next_so;
	ahead = so + ((u64)INDEX_LOAD_AHEAD << shift);
	for (; so < (1ULL << 32); so += 1ULL << shift, ahead += 1ULL << shift) {
		if (ahead < (1ULL << 32))
			prefetchw(index_head(ix, index_bitrev32((u32)ahead)));
		h = index_head(ix, index_bitrev32((u32)so));
		h->so_key = (u32)so;
		h->next = NULL;
		rcu_assign_pointer(tail->next, h);
		smp_store_release(&h->len, INDEX_HEAD_READY);
		tail = h;
	}
	ix->load = NULL;
	port_free(ld, sizeof(*ld));
}
