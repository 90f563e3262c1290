// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_index.c - unit tests of core/index.c: the split-ordered list, its
 * growth, batched lookups, scans and cursors, alone and with a writer
 * running against readers; bulk loads in order, out of order and past
 * their size.
 *
 * Records are malloc'd here (the engine uses pools); each carries a
 * struct rcu_head in front of it so that a removed record can go through
 * call_rcu() like the table's do.  Assertions run on the main thread only:
 * worker threads count what went wrong and the main thread checks the
 * counts.
 */
/* port_user.h wants glibc's extensions, which must come before any header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "index.h"

/* Sanitizer builds run the same tests on fewer records. */
#if defined(__SANITIZE_ADDRESS__)
#define SCALE_DOWN 2
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCALE_DOWN 2
#endif
#endif
#ifndef SCALE_DOWN
#define SCALE_DOWN 1
#endif

#define KLEN 16
#define BOX_HDR ((sizeof(struct rcu_head) + 15) & ~(size_t)15)

/* Test record allocation: an rcu_head, then the record. */
static struct tdb_rec *rec_alloc(const void *key, u32 klen, const void *val,
				 u32 vlen, u32 so_key)
{
	char *box = malloc(BOX_HDR + tdb_rec_size(klen, vlen));
	struct tdb_rec *r;

	if (!box)
		abort();
	r = (struct tdb_rec *)(box + BOX_HDR);
	r->next = NULL;
	r->so_key = so_key;
	r->len = klen | (vlen << TDB_REC_KLEN_BITS);
	memcpy(r->data, key, klen);
	memcpy(r->data + klen, val, vlen);
	return r;
}

static void rec_free(struct tdb_rec *r)
{
	free((char *)r - BOX_HDR);
}

static void rec_free_rcu(struct rcu_head *head)
{
	free(head);
}

/* Frees @r once no reader can see it any more. */
static void rec_retire(struct tdb_rec *r)
{
	call_rcu((struct rcu_head *)((char *)r - BOX_HDR), rec_free_rcu);
}

static void free_cb(struct tdb_rec *r, void *arg)
{
	long *calls = arg;

	if (calls) {
		/* Heads have the lowest so_key bit clear: never handed out. */
		if (!(r->so_key & 1))
			calls[1]++;
		calls[0]++;
	}
	rec_free(r);
}

/* Key number @i as 16 bytes; distinct for distinct @i. */
static void key_of(u64 i, u8 *out)
{
	u64 a = i, b = (i * 0x9e3779b97f4a7c15ULL) ^ 0x0123456789abcdefULL;

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

static u64 val_of(u64 i, u64 version)
{
	return (i * 0xff51afd7ed558ccdULL) ^ (version << 56);
}

/* Inserts key number @i (value version @version); returns the record. */
static struct tdb_rec *put(struct tdb_index *ix, u64 i, u64 version)
{
	u8 kb[KLEN];
	u64 v = val_of(i, version);
	struct tdb_key k;
	struct tdb_rec **slot, *r;

	key_of(i, kb);
	tdb_index_key(ix, &k, kb, KLEN);
	r = rec_alloc(kb, KLEN, &v, sizeof(v), k.so_key);
	slot = tdb_index_slot(ix, &k);
	if (tdb_rec_matches(*slot, &k)) {
		rec_free(tdb_index_replace(slot, r));
	} else {
		tdb_index_insert(ix, slot, r);
	}
	return r;
}

/* Whether @r holds key number @i with a value of key @i (any version). */
static bool rec_is(const struct tdb_rec *r, u64 i)
{
	u8 kb[KLEN];
	u64 v;

	if (!r || tdb_rec_klen(r) != KLEN || tdb_rec_vlen(r) != sizeof(v))
		return false;
	key_of(i, kb);
	if (memcmp(tdb_rec_key(r), kb, KLEN))
		return false;
	memcpy(&v, tdb_rec_val(r), sizeof(v));
	return (v & ~(0xffULL << 56)) == (val_of(i, 0) & ~(0xffULL << 56));
}

/* Index order of two positions, as index.h defines it. */
static int pos_cmp(u32 so_a, const void *ka, u32 la, u32 so_b, const void *kb,
		   u32 lb)
{
	int c;

	if (so_a != so_b)
		return so_a < so_b ? -1 : 1;
	c = memcmp(ka, kb, la < lb ? la : lb);
	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static int rec_cmp(const struct tdb_rec *a, const struct tdb_rec *b)
{
	return pos_cmp(a->so_key, a->data, tdb_rec_klen(a), b->so_key, b->data,
		       tdb_rec_klen(b));
}

/* Index bytes must be exactly the heads of 1 << size_log buckets. */
static void check_bytes(const struct tdb_index *ix)
{
	assert_int_equal(ix->bytes, sizeof(struct tdb_rec) << ix->size_log);
}

static void test_basic(void **state)
{
	struct tdb_index ix;
	struct tdb_key k, k2;
	struct tdb_rec **slot, *r, *old;
	u8 kb[KLEN];
	u64 i;
	long calls[2] = { 0, 0 };

	assert_int_equal(tdb_index_init(&ix), 0);
	assert_int_equal(tdb_index_count(&ix), 0);
	assert_int_equal(ix.size_log, 0);
	check_bytes(&ix);

	/* Empty index: misses everywhere. */
	key_of(1, kb);
	tdb_index_key(&ix, &k, kb, KLEN);
	assert_int_equal(k.so_key & 1, 1);
	assert_ptr_equal(k.data, kb);
	assert_int_equal(k.len, KLEN);
	rcu_read_lock();
	assert_null(tdb_index_lookup(&ix, &k));
	assert_null(tdb_index_seek(&ix, &(struct tdb_key){ "", 0, 0 }));
	rcu_read_unlock();
	slot = tdb_index_slot(&ix, &k);
	assert_non_null(slot);
	assert_false(tdb_rec_matches(*slot, &k));

	/* The same bytes hash the same way; other bytes (almost) never. */
	tdb_index_key(&ix, &k2, kb, KLEN);
	assert_int_equal(k.so_key, k2.so_key);

	for (i = 0; i < 1000; i++) {
		put(&ix, i, 0);
		assert_int_equal(tdb_index_count(&ix), i + 1);
	}
	check_bytes(&ix);
	assert_true(ix.size_log >= 8);

	rcu_read_lock();
	for (i = 0; i < 2000; i++) {
		key_of(i, kb);
		tdb_index_key(&ix, &k, kb, KLEN);
		r = tdb_index_lookup(&ix, &k);
		if (i < 1000) {
			assert_true(rec_is(r, i));
			assert_true(tdb_rec_matches(r, &k));
		} else {
			assert_null(r);
		}
	}
	rcu_read_unlock();

	/* Slot of a present key holds it; of an absent key, something else. */
	key_of(7, kb);
	tdb_index_key(&ix, &k, kb, KLEN);
	slot = tdb_index_slot(&ix, &k);
	assert_true(tdb_rec_matches(*slot, &k));
	key_of(5000, kb);
	tdb_index_key(&ix, &k2, kb, KLEN);
	slot = tdb_index_slot(&ix, &k2);
	assert_false(tdb_rec_matches(*slot, &k2));
	/* ...and the record it points at, if any, comes after the key. */
	if (*slot)
		assert_true(pos_cmp((*slot)->so_key, (*slot)->data,
				    tdb_rec_klen(*slot), k2.so_key, k2.data,
				    k2.len) > 0);

	/* Replace: the new record is found, the old one is returned. */
	key_of(7, kb);
	slot = tdb_index_slot(&ix, &k);
	{
		u64 v = val_of(7, 3);

		r = rec_alloc(kb, KLEN, &v, sizeof(v), k.so_key);
	}
	old = tdb_index_replace(slot, r);
	assert_true(rec_is(old, 7));
	rec_free(old);
	assert_int_equal(tdb_index_count(&ix), 1000);
	rcu_read_lock();
	assert_ptr_equal(tdb_index_lookup(&ix, &k), r);
	rcu_read_unlock();

	/* Remove every odd key. */
	for (i = 1; i < 1000; i += 2) {
		key_of(i, kb);
		tdb_index_key(&ix, &k, kb, KLEN);
		slot = tdb_index_slot(&ix, &k);
		assert_true(tdb_rec_matches(*slot, &k));
		old = tdb_index_remove(&ix, slot);
		assert_true(rec_is(old, i));
		rec_free(old);
	}
	assert_int_equal(tdb_index_count(&ix), 500);
	rcu_read_lock();
	for (i = 0; i < 1000; i++) {
		key_of(i, kb);
		tdb_index_key(&ix, &k, kb, KLEN);
		r = tdb_index_lookup(&ix, &k);
		if (i & 1)
			assert_null(r);
		else
			assert_true(rec_is(r, i));
	}
	rcu_read_unlock();

	/* Empty and maximal keys. */
	{
		static u8 big[TDB_KEY_MAX];
		struct tdb_key ke, kbig;

		memset(big, 0xa5, sizeof(big));
		tdb_index_key(&ix, &ke, "", 0);
		tdb_index_key(&ix, &kbig, big, TDB_KEY_MAX);
		slot = tdb_index_slot(&ix, &ke);
		assert_false(tdb_rec_matches(*slot, &ke));
		tdb_index_insert(&ix, slot,
				 rec_alloc("", 0, "e", 1, ke.so_key));
		slot = tdb_index_slot(&ix, &kbig);
		assert_false(tdb_rec_matches(*slot, &kbig));
		tdb_index_insert(&ix, slot,
				 rec_alloc(big, TDB_KEY_MAX, "b", 1,
					   kbig.so_key));
		rcu_read_lock();
		r = tdb_index_lookup(&ix, &ke);
		assert_non_null(r);
		assert_int_equal(tdb_rec_klen(r), 0);
		assert_memory_equal(tdb_rec_val(r), "e", 1);
		r = tdb_index_lookup(&ix, &kbig);
		assert_non_null(r);
		assert_int_equal(tdb_rec_klen(r), TDB_KEY_MAX);
		assert_memory_equal(tdb_rec_val(r), "b", 1);
		/* The batch path agrees on them, and on an absent long key. */
		{
			static u8 big2[TDB_KEY_MAX];
			struct tdb_key ks[4];
			struct tdb_rec *out[4];

			memset(big2, 0xa5, sizeof(big2));
			big2[TDB_KEY_MAX - 1] = 0;
			ks[0] = ke;
			ks[1] = kbig;
			tdb_index_key(&ix, &ks[2], big2, TDB_KEY_MAX);
			key_of(998, kb);
			tdb_index_key(&ix, &ks[3], kb, KLEN);
			tdb_index_lookup_batch(&ix, 4, ks, out);
			assert_ptr_equal(out[0], tdb_index_lookup(&ix, &ke));
			assert_ptr_equal(out[1], r);
			assert_null(out[2]);
			assert_ptr_equal(out[3], tdb_index_lookup(&ix, &ks[3]));
			assert_true(rec_is(out[3], 998));
		}
		rcu_read_unlock();
	}
	assert_int_equal(tdb_index_count(&ix), 502);

	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 502);
	assert_int_equal(calls[1], 0);
}

/* Builds a key with a chosen so_key, as if its hash had collided. */
static struct tdb_key coll_key(u32 so_key, const char *s, u32 len)
{
	struct tdb_key k = { .data = s, .len = len, .so_key = so_key };

	return k;
}

static void coll_put(struct tdb_index *ix, u32 so_key, const char *s, u32 len)
{
	struct tdb_key k = coll_key(so_key, s, len);
	struct tdb_rec **slot = tdb_index_slot(ix, &k);

	assert_false(tdb_rec_matches(*slot, &k));
	tdb_index_insert(ix, slot, rec_alloc(s, len, &so_key, 4, so_key));
}

static void test_collisions(void **state)
{
	/* Sorted: memcmp over the shorter length, then shorter first. */
	static const struct {
		const char *s;
		u32 len;
	} sorted[] = {
		{ "", 0 },     { "\0", 1 },	  { "\0\0", 2 }, { "a", 1 },
		{ "a\0", 2 },  { "aa", 2 },	  { "aaa", 3 },	 { "ab", 2 },
		{ "b", 1 },    { "ba", 2 },	  { "\x7f", 1 }, { "\x80", 1 },
		{ "\xff", 1 }, { "\xff\xff", 2 },
	};
	static const unsigned int order[] = { 7, 2,  11, 0, 13, 5, 9,
					      3, 12, 1,	 6, 10, 4, 8 };
	const u32 so = 0x9abcdef1U; /* lowest bit set: a record's */
	const unsigned int n = ARRAY_SIZE(sorted);
	struct tdb_index ix;
	struct tdb_rec *r, **slot;
	struct tdb_key k;
	unsigned int i, j, round;
	long calls[2] = { 0, 0 };

	assert_int_equal(ARRAY_SIZE(order), n);
	assert_int_equal(tdb_index_init(&ix), 0);

	for (round = 0; round < 2; round++) {
		/* Round 1: with neighbours and a grown index around them. */
		if (round == 1) {
			for (i = 0; i < 5000; i++)
				put(&ix, i, 0);
			coll_put(&ix, so - 2, "z", 1);
			coll_put(&ix, so + 2, "", 0);
		}
		for (i = 0; i < n; i++)
			coll_put(&ix, so, sorted[order[i]].s,
				 sorted[order[i]].len);
		rcu_read_lock();
		for (i = 0; i < n; i++) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			r = tdb_index_lookup(&ix, &k);
			assert_true(tdb_rec_matches(r, &k));
		}
		/* A colliding key that is absent, and one with another so_key. */
		k = coll_key(so, "ac", 2);
		assert_null(tdb_index_lookup(&ix, &k));
		k = coll_key(so ^ 0x100, "a", 1);
		assert_null(tdb_index_lookup(&ix, &k));

		/* Scan order within the collision: exactly the sorted order. */
		k = coll_key(so - 1, "", 0);
		r = tdb_index_seek(&ix, &k);
		for (i = 0; i < n; i++, r = tdb_index_next(r)) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			assert_true(tdb_rec_matches(r, &k));
		}
		if (r)
			assert_true(r->so_key > so);
		/* Seek from each member returns the next member. */
		for (i = 0; i + 1 < n; i++) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			r = tdb_index_seek(&ix, &k);
			k = coll_key(so, sorted[i + 1].s, sorted[i + 1].len);
			assert_true(tdb_rec_matches(r, &k));
		}
		/* Seek from an absent key in the middle. */
		k = coll_key(so, "a\0\0", 3);
		r = tdb_index_seek(&ix, &k);
		k = coll_key(so, "aa", 2);
		assert_true(tdb_rec_matches(r, &k));
		rcu_read_unlock();

		/* Remove every other member; the rest are still found. */
		for (i = 0; i < n; i += 2) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			slot = tdb_index_slot(&ix, &k);
			assert_true(tdb_rec_matches(*slot, &k));
			rec_free(tdb_index_remove(&ix, slot));
		}
		rcu_read_lock();
		for (i = 0; i < n; i++) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			r = tdb_index_lookup(&ix, &k);
			if (i & 1)
				assert_true(tdb_rec_matches(r, &k));
			else
				assert_null(r);
		}
		rcu_read_unlock();
		for (i = 1; i < n; i += 2) {
			k = coll_key(so, sorted[i].s, sorted[i].len);
			slot = tdb_index_slot(&ix, &k);
			rec_free(tdb_index_remove(&ix, slot));
		}
	}

	/* A long chain of one so_key: 3000 colliding keys. */
	{
		static char keys[3000][8];
		struct tdb_key ks[64];
		struct tdb_rec *out[64];
		const u32 so2 = 0x00000001U;

		for (i = 0; i < 3000; i++) {
			snprintf(keys[i], sizeof(keys[i]), "%07u",
				 (i * 7919) % 3000);
			coll_put(&ix, so2, keys[i], 7);
		}
		rcu_read_lock();
		for (i = 0; i < 3000; i += 64) {
			for (j = 0; j < 64; j++)
				ks[j] = coll_key(so2, keys[(i + j) % 3000],
						 j & 1 ? 7 : 6);
			tdb_index_lookup_batch(&ix, 64, ks, out);
			for (j = 0; j < 64; j++) {
				assert_ptr_equal(out[j],
						 tdb_index_lookup(&ix, &ks[j]));
				if (j & 1)
					assert_true(tdb_rec_matches(out[j],
								    &ks[j]));
				else
					assert_null(out[j]);
			}
		}
		/* so2 is the smallest record so_key: they open the scan. */
		k = coll_key(0, "", 0);
		r = tdb_index_seek(&ix, &k);
		for (i = 0; i < 3000; i++, r = tdb_index_next(r)) {
			char want[8];

			snprintf(want, sizeof(want), "%07u", i);
			k = coll_key(so2, want, 7);
			assert_true(tdb_rec_matches(r, &k));
		}
		rcu_read_unlock();
	}

	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 5002 + 3000);
	assert_int_equal(calls[1], 0);
}

/* Checks lookup_batch against lookup on @n keys starting at @first. */
static void check_batch(struct tdb_index *ix, u64 first, unsigned int n,
			u64 present)
{
	struct tdb_key *ks = calloc(n + 1, sizeof(*ks));
	struct tdb_rec **out = calloc(n + 1, sizeof(*out));
	u8 *kb = malloc((size_t)(n + 1) * KLEN);
	unsigned int i;

	assert_non_null(ks);
	assert_non_null(out);
	assert_non_null(kb);
	for (i = 0; i < n; i++) {
		/* Alternate hits with misses beyond the present keys. */
		u64 id = (i % 3 == 2) ? present + first + i : first + i;

		key_of(id, kb + (size_t)i * KLEN);
		tdb_index_key(ix, &ks[i], kb + (size_t)i * KLEN, KLEN);
		out[i] = (struct tdb_rec *)&out; /* must be overwritten */
	}
	out[n] = (struct tdb_rec *)&out;
	rcu_read_lock();
	tdb_index_lookup_batch(ix, n, ks, out);
	for (i = 0; i < n; i++) {
		u64 id = (i % 3 == 2) ? present + first + i : first + i;

		assert_ptr_equal(out[i], tdb_index_lookup(ix, &ks[i]));
		if (id < present)
			assert_true(rec_is(out[i], id));
		else
			assert_null(out[i]);
	}
	rcu_read_unlock();
	/* Nothing written past n. */
	assert_ptr_equal(out[n], (struct tdb_rec *)&out);
	free(ks);
	free(out);
	free(kb);
}

/* Looks up a sample of keys [0, @present) singly and in a batch. */
static void check_sample(struct tdb_index *ix, u64 present)
{
	enum { S = 40 };
	struct tdb_key ks[S];
	struct tdb_rec *out[S];
	u8 kb[S][KLEN];
	u64 ids[S];
	unsigned int j;

	for (j = 0; j < S; j++) {
		/* Spread over the keys, the newest and the oldest included. */
		ids[j] = j < S / 2 ? present - 1 - j % present :
				     (present * (j - S / 2)) / (S / 2);
		key_of(ids[j], kb[j]);
		tdb_index_key(ix, &ks[j], kb[j], KLEN);
	}
	rcu_read_lock();
	tdb_index_lookup_batch(ix, S, ks, out);
	for (j = 0; j < S; j++) {
		assert_true(rec_is(tdb_index_lookup(ix, &ks[j]), ids[j]));
		assert_true(rec_is(out[j], ids[j]));
	}
	rcu_read_unlock();
}

static void test_growth(void **state)
{
	const u64 n = 1000000 / SCALE_DOWN;
	static const unsigned int sizes[] = { 0,  1,  2,  7,   15,   16,
					      17, 31, 64, 100, 1000, 4096 };
	struct tdb_index ix;
	u8 kb[KLEN];
	struct tdb_key k;
	u32 logs_seen = 0, last_log;
	u64 i;
	unsigned int s;
	long calls[2] = { 0, 0 };

	assert_int_equal(tdb_index_init(&ix), 0);
	last_log = ix.size_log;
	for (i = 0; i < n; i++) {
		put(&ix, i, 0);
		if (ix.size_log != last_log) {
			assert_int_equal(ix.size_log, last_log + 1);
			last_log = ix.size_log;
			logs_seen++;
			/* Right after growing, most new heads are not live. */
			check_sample(&ix, i + 1);
		}
		/* Load factor two: grows as soon as records pass 2 per bucket. */
		assert_true(tdb_index_count(&ix) <= (2ULL << ix.size_log));
	}
	assert_int_equal(tdb_index_count(&ix), n);
	assert_true(logs_seen >= 10);
	assert_true(tdb_index_count(&ix) > (1ULL << ix.size_log));
	check_bytes(&ix);

	rcu_read_lock();
	for (i = 0; i < n + n / 4; i++) {
		struct tdb_rec *r;

		key_of(i, kb);
		tdb_index_key(&ix, &k, kb, KLEN);
		r = tdb_index_lookup(&ix, &k);
		if (i < n) {
			if (!rec_is(r, i))
				fail_msg("key %llu not found",
					 (unsigned long long)i);
		} else if (r) {
			fail_msg("absent key %llu found",
				 (unsigned long long)i);
		}
	}
	rcu_read_unlock();

	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		check_batch(&ix, (u64)s * 5000, sizes[s], n);
	/* One big batch over everything, plus as many misses. */
	check_batch(&ix, 0, (unsigned int)(n + n / 2), n);

	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], n);
	assert_int_equal(calls[1], 0);
}

/* Scan whole index from position 0; returns records in scan order. */
static struct tdb_rec **scan_all(struct tdb_index *ix, u64 *n_out)
{
	u64 cap = tdb_index_count(ix) + 1, n = 0;
	struct tdb_rec **v = malloc(cap * sizeof(*v));
	struct tdb_key zero = { "", 0, 0 };
	struct tdb_rec *r;

	assert_non_null(v);
	for (r = tdb_index_seek(ix, &zero); r; r = tdb_index_next(r)) {
		assert_true(n < cap);
		assert_int_equal(r->so_key & 1, 1);
		v[n++] = r;
	}
	*n_out = n;
	return v;
}

static void test_scan(void **state)
{
	const u64 n = 200000 / SCALE_DOWN;
	struct tdb_index ix;
	struct tdb_rec **v;
	u8 *seen = calloc(n, 1);
	u64 i, got;
	long calls[2] = { 0, 0 };

	assert_non_null(seen);
	assert_int_equal(tdb_index_init(&ix), 0);
	for (i = 0; i < n; i++)
		put(&ix, i, 0);
	/* Some deletes so that buckets have holes. */
	for (i = 0; i < n; i += 5) {
		u8 kb[KLEN];
		struct tdb_key k;
		struct tdb_rec **slot;

		key_of(i, kb);
		tdb_index_key(&ix, &k, kb, KLEN);
		slot = tdb_index_slot(&ix, &k);
		rec_free(tdb_index_remove(&ix, slot));
	}

	rcu_read_lock();
	v = scan_all(&ix, &got);
	assert_int_equal(got, tdb_index_count(&ix));
	for (i = 0; i < got; i++) {
		u64 id;

		memcpy(&id, tdb_rec_key(v[i]), 8);
		assert_true(id < n && id % 5 != 0);
		assert_true(rec_is(v[i], id));
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		if (i)
			assert_true(rec_cmp(v[i - 1], v[i]) < 0);
	}

	/* Seek from each record's position gives the next one. */
	for (i = 0; i < got; i += 7) {
		struct tdb_key pos = { tdb_rec_key(v[i]), tdb_rec_klen(v[i]),
				       v[i]->so_key };

		assert_ptr_equal(tdb_index_seek(&ix, &pos),
				 i + 1 < got ? v[i + 1] : NULL);
	}
	/* Seek from absent positions: a deleted key, and in-between keys. */
	for (i = 0; i < n; i += 5 * 97) {
		u8 kb[KLEN];
		struct tdb_key pos;
		struct tdb_rec *r, *want = NULL;
		u64 lo = 0, hi = got;

		key_of(i, kb);
		tdb_index_key(&ix, &pos, kb, KLEN);
		if (i % 2)
			pos.so_key &= ~1U; /* a head's position */
		while (lo < hi) {
			u64 mid = (lo + hi) / 2;

			if (pos_cmp(v[mid]->so_key, v[mid]->data,
				    tdb_rec_klen(v[mid]), pos.so_key, pos.data,
				    pos.len) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < got)
			want = v[lo];
		r = tdb_index_seek(&ix, &pos);
		assert_ptr_equal(r, want);
	}
	{
		struct tdb_key last = { "\xff\xff", 2, 0xffffffffU };

		assert_null(tdb_index_seek(&ix, &last));
	}
	rcu_read_unlock();

	free(v);
	free(seen);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], n - (n + 4) / 5);
}

/*
 * Concurrency: stable keys [0, stable) are in the index before the readers
 * start and are never removed (some are replaced by a record with the same
 * key).  Keys from stable up are inserted, replaced and removed by the
 * writer while the index grows several times.  Keys from MISS_BASE up are
 * never inserted.
 */
#define MISS_BASE (1ULL << 40)

struct conc {
	struct tdb_index ix;
	u64 stable;
	u64 extra; /* keys the writer inserts */
	int writer_done; /* atomic */
	u64 misses; /* atomic: stable keys not found */
	u64 wrong; /* atomic: records of the wrong key */
	u64 lookups; /* atomic */
	u64 scans; /* atomic: complete cursor scans */
	u32 log_start, log_end;
};

static u64 rng_next(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	struct tdb_index *ix = &c->ix;
	u64 i, j, seed = 88172645463325252ULL;

	port_rcu_thread_online();
	for (i = 0; i < c->extra; i++) {
		u64 id = c->stable + i;
		u8 kb[KLEN];
		struct tdb_key k;
		struct tdb_rec **slot, *old, *r;
		u64 v;

		put(ix, id, 0);
		/* Remove one earlier extra key in four, replace one in eight. */
		if (i % 4 == 3) {
			j = c->stable + rng_next(&seed) % (i + 1);
			key_of(j, kb);
			tdb_index_key(ix, &k, kb, KLEN);
			slot = tdb_index_slot(ix, &k);
			if (tdb_rec_matches(*slot, &k))
				rec_retire(tdb_index_remove(ix, slot));
		}
		if (i % 8 == 5) {
			/* Stable keys get a new record too, same key. */
			j = (i & 16) ? rng_next(&seed) % c->stable :
				       c->stable + rng_next(&seed) % (i + 1);
			key_of(j, kb);
			tdb_index_key(ix, &k, kb, KLEN);
			slot = tdb_index_slot(ix, &k);
			if (tdb_rec_matches(*slot, &k)) {
				v = val_of(j, (i >> 3) & 0xff);
				r = rec_alloc(kb, KLEN, &v, sizeof(v),
					      k.so_key);
				old = tdb_index_replace(slot, r);
				rec_retire(old);
			}
		}
	}
	c->log_end = ix->size_log;
	__atomic_store_n(&c->writer_done, 1, __ATOMIC_RELEASE);
	port_rcu_thread_offline();
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	u64 seed = (u64)(uintptr_t)&seed | 1, lookups = 0, misses = 0,
	    wrong = 0;
	enum { B = 48 };
	struct tdb_key ks[B];
	struct tdb_rec *out[B];
	u64 ids[B];
	u8 kb[B][KLEN];
	unsigned int j;

	port_rcu_thread_online();
	while (!__atomic_load_n(&c->writer_done, __ATOMIC_ACQUIRE)) {
		/* Single lookups of stable keys. */
		for (j = 0; j < 64; j++) {
			u64 id = rng_next(&seed) % c->stable;
			struct tdb_key k;
			struct tdb_rec *r;

			key_of(id, kb[0]);
			tdb_index_key(&c->ix, &k, kb[0], KLEN);
			rcu_read_lock();
			r = tdb_index_lookup(&c->ix, &k);
			if (!r)
				misses++;
			else if (!rec_is(r, id))
				wrong++;
			rcu_read_unlock();
			lookups++;
		}
		/* A batch of stable keys, extra keys and absent keys. */
		for (j = 0; j < B; j++) {
			u64 x = rng_next(&seed);

			if (j % 3 == 0)
				ids[j] = x % c->stable;
			else if (j % 3 == 1)
				ids[j] = c->stable + x % c->extra;
			else
				ids[j] = MISS_BASE + x % c->extra;
			key_of(ids[j], kb[j]);
			tdb_index_key(&c->ix, &ks[j], kb[j], KLEN);
		}
		rcu_read_lock();
		tdb_index_lookup_batch(&c->ix, B, ks, out);
		for (j = 0; j < B; j++) {
			if (j % 3 == 0 && !out[j])
				misses++;
			else if (j % 3 == 2 && out[j])
				wrong++;
			else if (out[j] && !rec_is(out[j], ids[j]))
				wrong++;
		}
		rcu_read_unlock();
		lookups += B;
	}
	__atomic_add_fetch(&c->lookups, lookups, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->misses, misses, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->wrong, wrong, __ATOMIC_RELAXED);
	port_rcu_thread_offline();
	return NULL;
}

static void conc_setup(struct conc *c, u64 stable, u64 extra)
{
	u64 i;

	memset(c, 0, sizeof(*c));
	assert_int_equal(tdb_index_init(&c->ix), 0);
	c->stable = stable;
	c->extra = extra;
	for (i = 0; i < stable; i++)
		put(&c->ix, i, 0);
	c->log_start = c->ix.size_log;
}

static void conc_teardown(struct conc *c)
{
	long calls[2] = { 0, 0 };
	u64 count = tdb_index_count(&c->ix);

	/* Retired records go first, so that leak checks see them freed. */
	rcu_barrier();
	tdb_index_destroy(&c->ix, free_cb, calls);
	assert_int_equal(calls[0], count);
}

static void test_concurrent_lookups(void **state)
{
	struct conc *c = malloc(sizeof(*c));
	pthread_t rd[4], wr;
	unsigned int i;

	assert_non_null(c);
	conc_setup(c, 5000, 600000 / SCALE_DOWN);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, conc_reader, c),
				 0);
	assert_int_equal(pthread_create(&wr, NULL, conc_writer, c), 0);
	pthread_join(wr, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(rd[i], NULL);

	print_message("concurrent lookups: %llu lookups, size_log %u -> %u\n",
		      (unsigned long long)c->lookups, c->log_start, c->log_end);
	assert_int_equal(c->misses, 0);
	assert_int_equal(c->wrong, 0);
	assert_true(c->lookups > 0);
	assert_true(c->log_end >= c->log_start + 4);
	conc_teardown(c);
	free(c);
}

/*
 * One resumable cursor scan: @step records per read-side section, the
 * position kept as (so_key, key bytes) between sections.  Counts each
 * stable key seen in @seen; fails on order violations through *@bad.
 */
static void cursor_scan(struct conc *c, unsigned int step, u32 *seen, u64 *bad)
{
	u8 pos_key[TDB_KEY_MAX];
	struct tdb_key pos = { pos_key, 0, 0 };
	bool done = false;

	while (!done) {
		struct tdb_rec *r;
		unsigned int j;

		rcu_read_lock();
		r = tdb_index_seek(&c->ix, &pos);
		for (j = 0; j < step && r; j++, r = tdb_index_next(r)) {
			u64 id;

			if (pos_cmp(r->so_key, r->data, tdb_rec_klen(r),
				    pos.so_key, pos.data, pos.len) <= 0)
				(*bad)++;
			memcpy(&id, tdb_rec_key(r), 8);
			if (id < c->stable) {
				if (!rec_is(r, id))
					(*bad)++;
				seen[id]++;
			}
			pos.so_key = r->so_key;
			pos.len = tdb_rec_klen(r);
			memcpy(pos_key, r->data, pos.len);
		}
		done = !r;
		rcu_read_unlock();
	}
}

static void test_concurrent_cursor(void **state)
{
	struct conc *c = malloc(sizeof(*c));
	const u64 stable = 5000;
	u32 *seen = malloc(stable * sizeof(*seen));
	pthread_t wr;
	u64 bad = 0, scans = 0, i, wrong_count = 0;
	static const unsigned int steps[] = { 1, 3, 16, 100 };

	assert_non_null(c);
	assert_non_null(seen);
	conc_setup(c, stable, 400000 / SCALE_DOWN);
	assert_int_equal(pthread_create(&wr, NULL, conc_writer, c), 0);
	do {
		memset(seen, 0, stable * sizeof(*seen));
		cursor_scan(c, steps[scans % ARRAY_SIZE(steps)], seen, &bad);
		for (i = 0; i < stable; i++)
			if (seen[i] != 1)
				wrong_count++;
		scans++;
	} while (!__atomic_load_n(&c->writer_done, __ATOMIC_ACQUIRE) ||
		 scans < 2);
	pthread_join(wr, NULL);

	print_message("concurrent cursor: %llu scans, size_log %u -> %u\n",
		      (unsigned long long)scans, c->log_start, c->log_end);
	assert_int_equal(bad, 0);
	assert_int_equal(wrong_count, 0);
	assert_true(c->log_end >= c->log_start + 3);
	conc_teardown(c);
	free(seen);
	free(c);
}

static void test_destroy(void **state)
{
	struct tdb_index ix;
	long calls[2] = { 0, 0 };
	u64 i;

	/* Empty index. */
	assert_int_equal(tdb_index_init(&ix), 0);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 0);

	assert_int_equal(tdb_index_init(&ix), 0);
	for (i = 0; i < 12345; i++)
		put(&ix, i, 0);
	for (i = 0; i < 12345; i += 3)
		put(&ix, i, 1); /* replaces */
	assert_int_equal(tdb_index_count(&ix), 12345);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 12345);
	assert_int_equal(calls[1], 0);
	assert_int_equal(ix.bytes, 0);
}

/*
 * Bulk loading.  The checks look at the list itself: index.h's rules
 * must hold at every step of a load, not only after it.
 */

static u32 bitrev32(u32 x)
{
	u32 r = 0;
	int i;

	for (i = 0; i < 32; i++, x >>= 1)
		r = r << 1 | (x & 1);
	return r;
}

/* Bucket @b's head, computed as index.c lays the segments out. */
static struct tdb_rec *head_of(const struct tdb_index *ix, u32 b)
{
	unsigned int i = b ? 32 - __builtin_clz(b) : 0;

	return ix->seg[i] + (i ? b ^ (1U << (i - 1)) : 0);
}

/*
 * Walks the whole list from bucket 0: nodes strictly ascending in index
 * order, each head on it live and in its bucket's place, @records
 * records, and every live head met on the way.  With @all_live, every
 * bucket's head must be live too.
 */
static void check_list(const struct tdb_index *ix, u64 records, bool all_live)
{
	u32 nb = 1U << ix->size_log, b, live = 0, heads = 0;
	const struct tdb_rec *r, *prev = NULL;
	u64 n = 0;

	for (b = 0; b < nb; b++)
		live += head_of(ix, b)->len != 0;
	for (r = ix->seg[0]; r; prev = r, r = r->next) {
		if (prev && rec_cmp(prev, r) >= 0)
			fail_msg("list out of order after %llu records",
				 (unsigned long long)n);
		if (r->so_key & 1) {
			n++;
			continue;
		}
		/* A head: the head of bucket bit-reverse(so_key), live. */
		b = bitrev32(r->so_key);
		assert_true(b < nb);
		assert_ptr_equal(r, head_of(ix, b));
		assert_int_not_equal(r->len, 0);
		assert_int_equal(tdb_rec_klen(r), 0);
		heads++;
	}
	assert_int_equal(n, records);
	assert_int_equal(heads, live);
	if (all_live)
		assert_int_equal(live, nb);
}

/* A copy of @r (another allocation), for another index. */
static struct tdb_rec *rec_copy(const struct tdb_rec *r)
{
	return rec_alloc(tdb_rec_key(r), tdb_rec_klen(r), tdb_rec_val(r),
			 tdb_rec_vlen(r), r->so_key);
}

/* What @ix holds for the key of @r (another index's record), or NULL. */
static struct tdb_rec *lookup_key_of(struct tdb_index *ix,
				     const struct tdb_rec *r)
{
	struct tdb_key k = { tdb_rec_key(r), tdb_rec_klen(r), r->so_key };

	return tdb_index_lookup(ix, &k);
}

/* Links @r the writer's usual way: replaces a record of its key. */
static void insert_rec(struct tdb_index *ix, struct tdb_rec *r)
{
	struct tdb_key k = { r->data, tdb_rec_klen(r), r->so_key };
	struct tdb_rec **slot = tdb_index_slot(ix, &k);

	if (tdb_rec_matches(*slot, &k))
		rec_free(tdb_index_replace(slot, r));
	else
		tdb_index_insert(ix, slot, r);
}

/* An index of keys [0, @n) built by inserts, and its records in order. */
static struct tdb_rec **ordered_source(struct tdb_index *src, u64 n)
{
	struct tdb_rec **v;
	u64 i, got;

	assert_int_equal(tdb_index_init(src), 0);
	for (i = 0; i < n; i++)
		put(src, i, 0);
	rcu_read_lock();
	v = scan_all(src, &got);
	rcu_read_unlock();
	assert_int_equal(got, n);
	return v;
}

/* Every key of [0, @n) found, singly and in batches; some misses. */
static void check_all_found(struct tdb_index *ix, u64 n)
{
	u8 kb[KLEN];
	struct tdb_key k;
	u64 i;

	rcu_read_lock();
	for (i = 0; i < n + n / 8; i++) {
		key_of(i, kb);
		tdb_index_key(ix, &k, kb, KLEN);
		if (i < n ? !rec_is(tdb_index_lookup(ix, &k), i) :
			    tdb_index_lookup(ix, &k) != NULL)
			fail_msg("key %llu wrong", (unsigned long long)i);
	}
	rcu_read_unlock();
	check_batch(ix, 0, (unsigned int)n, n);
}

/*
 * Records appended in the order of an index with the same key: every
 * append is taken, the index has the size inserts would have grown it
 * to, lookups work during the load, and the result is the same list.
 */
static void test_load_in_order(void **state)
{
	const u64 n = 100000 / SCALE_DOWN;
	struct tdb_index src, ix;
	struct tdb_rec **v, *r;
	struct tdb_key k;
	long calls[2] = { 0, 0 };
	u64 i, got;

	v = ordered_source(&src, n);
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, n), 0);
	assert_memory_equal(&ix.hash_key, &src.hash_key, sizeof(ix.hash_key));
	assert_int_equal(ix.size_log, src.size_log);
	assert_int_equal(tdb_index_count(&ix), 0);
	check_bytes(&ix);
	check_list(&ix, 0, false);

	for (i = 0; i < n; i++) {
		/* The same key hashes the same: the order is the same. */
		tdb_index_key(&ix, &k, tdb_rec_key(v[i]), KLEN);
		assert_int_equal(k.so_key, v[i]->so_key);
		if (!tdb_index_append(&ix, rec_copy(v[i])))
			fail_msg("append %llu refused", (unsigned long long)i);
		assert_int_equal(tdb_index_count(&ix), i + 1);
		if (i % (n / 7) == 0 || i == n - 1) {
			/* Mid-load: the list is whole, lookups work. */
			check_list(&ix, i + 1, false);
			rcu_read_lock();
			r = tdb_index_lookup(&ix, &k);
			assert_true(tdb_rec_matches(r, &k));
			r = lookup_key_of(&ix, v[i / 2]);
			assert_non_null(r);
			assert_memory_equal(tdb_rec_key(r),
					    tdb_rec_key(v[i / 2]), KLEN);
			if (i + 1 < n)
				assert_null(lookup_key_of(&ix, v[i + 1]));
			rcu_read_unlock();
		}
	}
	assert_int_equal(ix.size_log, src.size_log);
	tdb_index_append_end(&ix);
	assert_null(ix.load);
	tdb_index_append_end(&ix); /* closing twice does nothing */
	check_list(&ix, n, true);
	check_bytes(&ix);
	check_all_found(&ix, n);

	/* The same order as the source's. */
	free(v);
	rcu_read_lock();
	v = scan_all(&ix, &got);
	{
		struct tdb_rec **w = scan_all(&src, &got);

		assert_int_equal(got, n);
		for (i = 0; i < n; i++)
			assert_memory_equal(tdb_rec_key(v[i]),
					    tdb_rec_key(w[i]), KLEN);
		free(w);
	}
	rcu_read_unlock();

	/* An ordinary index from then on: inserts, growth, deletes. */
	r = rec_copy(v[n - 1]);
	assert_false(tdb_index_append(&ix, r));
	rec_free(r);
	for (i = n; i < 3 * n; i++)
		put(&ix, i, 0);
	assert_true(ix.size_log > src.size_log);
	check_list(&ix, 3 * n, false);
	check_all_found(&ix, 3 * n);
	free(v);

	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 3 * n);
	assert_int_equal(calls[1], 0);
	tdb_index_destroy(&src, free_cb, NULL);
}

/*
 * The first record out of order, a key met twice, or any other write
 * closes the load; the refused record and those after it go in the usual
 * way, and nothing is lost.  No key, or a zero key: no load at all.
 */
static void test_load_fallback(void **state)
{
	const u64 n = 20000 / SCALE_DOWN, half = n / 2;
	struct tdb_index src, ix;
	struct port_hash_key zero = { { 0, 0 } };
	struct tdb_rec **v, *r, *dup;
	long calls[2] = { 0, 0 };
	u64 i, want;

	v = ordered_source(&src, n);

	/* Out of order: v[half + 1] before v[half]. */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, n), 0);
	for (i = 0; i < half; i++)
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
	assert_true(tdb_index_append(&ix, rec_copy(v[half + 1])));
	r = rec_copy(v[half]);
	assert_false(tdb_index_append(&ix, r));
	assert_null(ix.load);
	/* Closed: every head live, the list whole, @r still the caller's. */
	check_list(&ix, half + 1, true);
	insert_rec(&ix, r);
	for (i = half + 2; i < n; i++) {
		r = rec_copy(v[i]);
		assert_false(tdb_index_append(&ix, r));
		insert_rec(&ix, r);
	}
	check_list(&ix, n, false);
	check_all_found(&ix, n);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], n);

	/* A key twice: the second copy replaces the first. */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, n), 0);
	for (i = 0; i < 10; i++)
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
	want = val_of(0, 5);
	dup = rec_alloc(tdb_rec_key(v[9]), KLEN, &want, sizeof(want),
			v[9]->so_key);
	assert_false(tdb_index_append(&ix, dup));
	insert_rec(&ix, dup);
	check_list(&ix, 10, true);
	rcu_read_lock();
	assert_ptr_equal(lookup_key_of(&ix, v[9]), dup);
	rcu_read_unlock();
	tdb_index_destroy(&ix, free_cb, NULL);

	/* Any write closes it: tdb_index_slot() first. */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, n), 0);
	for (i = 0; i < 100; i++)
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
	put(&ix, n + 1, 0);
	assert_null(ix.load);
	r = rec_copy(v[100]);
	assert_false(tdb_index_append(&ix, r));
	insert_rec(&ix, r);
	check_list(&ix, 102, true);
	tdb_index_destroy(&ix, free_cb, NULL);

	/* Destroyed while open: the queue goes with it (ASan checks). */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, n), 0);
	for (i = 0; i < 1000; i++)
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
	assert_non_null(ix.load);
	calls[0] = 0;
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 1000);

	/* No key, or the zero key: a fresh key, presized, no load. */
	assert_int_equal(tdb_index_init_keyed(&ix, NULL, n), 0);
	assert_null(ix.load);
	assert_int_equal(ix.size_log, src.size_log);
	r = rec_copy(v[0]);
	assert_false(tdb_index_append(&ix, r));
	rec_free(r);
	tdb_index_destroy(&ix, free_cb, NULL);
	assert_int_equal(tdb_index_init_keyed(&ix, &zero, 0), 0);
	assert_null(ix.load);
	assert_int_equal(ix.size_log, 0);
	assert_memory_not_equal(&ix.hash_key, &zero, sizeof(zero));
	assert_memory_not_equal(&ix.hash_key, &src.hash_key, sizeof(zero));
	tdb_index_destroy(&ix, free_cb, NULL);

	free(v);
	tdb_index_destroy(&src, free_cb, NULL);
}

/*
 * A load that outgrows its size grows as inserts would, heads of the new
 * segments below the end left to lazy linking; an empty load links every
 * head; and a load into an index sized for far more works as well.
 */
static void test_load_growth(void **state)
{
	const u64 n = 100000 / SCALE_DOWN;
	struct tdb_index src, ix;
	struct tdb_rec **v;
	long calls[2] = { 0, 0 };
	u32 last_log;
	u64 i;

	v = ordered_source(&src, n);

	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, 0), 0);
	last_log = ix.size_log;
	assert_int_equal(last_log, 0);
	for (i = 0; i < n; i++) {
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
		assert_true(tdb_index_count(&ix) <= (2ULL << ix.size_log));
		if (ix.size_log != last_log) {
			assert_int_equal(ix.size_log, last_log + 1);
			last_log = ix.size_log;
			check_list(&ix, i + 1, false);
		}
	}
	assert_int_equal(ix.size_log, src.size_log);
	check_bytes(&ix);
	tdb_index_append_end(&ix);
	check_list(&ix, n, false);
	check_all_found(&ix, n);
	/* Inserts make the lazy heads live as they need them. */
	for (i = 0; i < n; i += 3)
		put(&ix, i, 1);
	check_list(&ix, n, false);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], n);

	/* Nothing loaded: closing makes every head of the size live. */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, 5000), 0);
	assert_int_equal(ix.size_log, 12);
	tdb_index_append_end(&ix);
	check_list(&ix, 0, true);
	tdb_index_destroy(&ix, free_cb, NULL);

	/* Sized for 64 times more: all heads, few records between. */
	assert_int_equal(tdb_index_init_keyed(&ix, &src.hash_key, 64 * n), 0);
	for (i = 0; i < n; i++)
		assert_true(tdb_index_append(&ix, rec_copy(v[i])));
	tdb_index_append_end(&ix);
	check_list(&ix, n, true);
	check_all_found(&ix, n);
	tdb_index_destroy(&ix, free_cb, NULL);

	free(v);
	tdb_index_destroy(&src, free_cb, NULL);
}

/*
 * An index sized ahead for a bulk load without a key has every head live
 * from the start, in order; inserts, lookups and growth past the hint
 * work as in an index that grew.
 */
static void test_sized(void **state)
{
	struct tdb_index ix;
	long calls[2] = { 0, 0 };
	u64 i;

	assert_int_equal(tdb_index_init_keyed(&ix, NULL, 20000), 0);
	assert_true(ix.size_log >= 13);
	check_list(&ix, 0, true);
	for (i = 0; i < 50000; i++)
		put(&ix, i, 0);
	check_list(&ix, 50000, false);
	check_all_found(&ix, 50000);
	tdb_index_destroy(&ix, free_cb, calls);
	assert_int_equal(calls[0], 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_concurrent_lookups),
		cmocka_unit_test(test_concurrent_cursor),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_load_in_order),
		cmocka_unit_test(test_load_fallback),
		cmocka_unit_test(test_load_growth),
		cmocka_unit_test(test_sized),
	};
	int ret;

	port_rcu_thread_online();
	ret = cmocka_run_group_tests_name("index", tests, NULL, NULL);
	rcu_barrier();
	port_rcu_thread_offline();
	return ret;
}
