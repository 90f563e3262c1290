// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_lpm.c - unit tests of core/lpm.c, the longest-prefix-match index,
 * against a brute-force reference: a plain array of the stored prefixes,
 * scanned for the longest one that contains an address.
 *
 * Leaves are fake pointers (never dereferenced) that name the prefix and
 * its version.  Assertions run on the main thread only: worker threads
 * count what went wrong and the main thread checks the counts.
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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "lpm.h"

/* Sanitizer builds run the same tests on fewer operations. */
#if defined(__SANITIZE_ADDRESS__)
#define SCALE_DOWN 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCALE_DOWN 4
#endif
#endif
#ifndef SCALE_DOWN
#define SCALE_DOWN 1
#endif

#define MAXB 16

struct pfx {
	u8 addr[MAXB];
	unsigned int plen;
	void *leaf;
};

/* The reference: prefixes in no order. */
struct ref {
	unsigned int bits;
	unsigned int n, cap;
	struct pfx *p;
};

static u64 rng_next(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *leaf_of(u64 id)
{
	return (void *)(uintptr_t)((id + 1) << 4);
}

/* Clears every bit of @a from @plen on. */
static void mask_to(u8 *a, unsigned int plen, unsigned int bits)
{
	unsigned int i;

	for (i = plen; i < bits; i++)
		a[i / 8] &= (u8) ~(0x80 >> (i % 8));
}

static bool contains(const u8 *p, unsigned int plen, const u8 *a)
{
	unsigned int i = plen / 8;

	if (memcmp(p, a, i))
		return false;
	return !(plen % 8) || !((p[i] ^ a[i]) & (u8)(0xff00 >> (plen % 8)));
}

static int ref_find(const struct ref *r, const u8 *a, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < r->n; i++)
		if (r->p[i].plen == plen &&
		    !memcmp(r->p[i].addr, a, r->bits / 8))
			return (int)i;
	return -1;
}

static void *ref_lookup(const struct ref *r, const u8 *a)
{
	void *best = NULL;
	int blen = -1;
	unsigned int i;

	for (i = 0; i < r->n; i++)
		if ((int)r->p[i].plen > blen &&
		    contains(r->p[i].addr, r->p[i].plen, a)) {
			blen = (int)r->p[i].plen;
			best = r->p[i].leaf;
		}
	return best;
}

/* Inserts or replaces; returns the old leaf or NULL. */
static void *ref_put(struct ref *r, const u8 *a, unsigned int plen, void *leaf)
{
	int i = ref_find(r, a, plen);
	void *old;

	if (i >= 0) {
		old = r->p[i].leaf;
		r->p[i].leaf = leaf;
		return old;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->p = realloc(r->p, r->cap * sizeof(*r->p));
		assert_non_null(r->p);
	}
	memset(&r->p[r->n], 0, sizeof(r->p[0]));
	memcpy(r->p[r->n].addr, a, r->bits / 8);
	r->p[r->n].plen = plen;
	r->p[r->n].leaf = leaf;
	r->n++;
	return NULL;
}

static void *ref_del(struct ref *r, const u8 *a, unsigned int plen)
{
	int i = ref_find(r, a, plen);
	void *old;

	if (i < 0)
		return NULL;
	old = r->p[i].leaf;
	r->p[i] = r->p[--r->n];
	return old;
}

/* @a + @d (d = +1 or -1) as a bits-wide number; false on wrap-around. */
static bool addr_step(u8 *a, unsigned int bytes, int d)
{
	int i;

	for (i = (int)bytes - 1; i >= 0; i--) {
		if (d > 0 && a[i]++ != 0xff)
			return true;
		if (d < 0 && a[i]-- != 0)
			return true;
	}
	return false;
}

static void *lookup(const struct tdb_lpm *l, const u8 *a)
{
	void *v;

	rcu_read_lock();
	v = tdb_lpm_lookup(l, a);
	rcu_read_unlock();
	return v;
}

static void check_addr(const struct tdb_lpm *l, const struct ref *r,
		       const u8 *a)
{
	void *want = ref_lookup(r, a), *got = lookup(l, a);

	if (got != want) {
		char buf[64];
		unsigned int i, o = 0;

		for (i = 0; i < r->bits / 8; i++)
			o += snprintf(buf + o, sizeof(buf) - o, "%02x", a[i]);
		print_error("address %s: got %p, want %p\n", buf, got, want);
	}
	assert_ptr_equal(got, want);
}

/*
 * Checks the index against the reference: the first and last address of
 * @nedge prefixes (every one when 0 or more than stored) and their
 * neighbours outside them, then @nrand random addresses, some inside
 * stored prefixes, single and batched.
 */
static void check_some(const struct tdb_lpm *l, const struct ref *r,
		       unsigned int nrand, unsigned int nedge, u64 *seed)
{
	unsigned int bytes = r->bits / 8, i, j, k;
	enum { B = 37 };
	u8 a[MAXB], ba[B][MAXB];
	const u8 *bp[B];
	void *out[B];
	bool all = !nedge || nedge >= r->n;

	assert_int_equal(tdb_lpm_count(l), r->n);
	for (i = 0; i < (all ? r->n : nedge); i++) {
		const struct pfx *p = &r->p[all ? i : rng_next(seed) % r->n];

		memcpy(a, p->addr, bytes);
		check_addr(l, r, a);
		if (addr_step(a, bytes, -1))
			check_addr(l, r, a);
		memcpy(a, p->addr, bytes);
		for (k = p->plen; k < r->bits; k++)
			a[k / 8] |= 0x80 >> (k % 8);
		check_addr(l, r, a);
		if (addr_step(a, bytes, 1))
			check_addr(l, r, a);
	}
	for (i = 0; i < nrand; i += B) {
		for (j = 0; j < B; j++) {
			u64 x = rng_next(seed);

			for (k = 0; k < bytes; k++)
				ba[j][k] = (u8)rng_next(seed);
			if (r->n && (x & 1)) {
				/* Inside a stored prefix, past its bits. */
				const struct pfx *p = &r->p[x / 2 % r->n];

				for (k = 0; k < p->plen; k++) {
					ba[j][k / 8] &= (u8) ~(0x80 >> (k % 8));
					ba[j][k / 8] |= p->addr[k / 8] &
							(0x80 >> (k % 8));
				}
			}
			bp[j] = ba[j];
		}
		rcu_read_lock();
		/* The writer's hint walks as lookups do and changes nothing. */
		tdb_lpm_prefetch(l, B, bp);
		tdb_lpm_lookup_batch(l, B, bp, out);
		rcu_read_unlock();
		for (j = 0; j < B; j++) {
			assert_ptr_equal(out[j], ref_lookup(r, ba[j]));
			assert_ptr_equal(out[j], lookup(l, ba[j]));
		}
	}
}

static void check_all(const struct tdb_lpm *l, const struct ref *r,
		      unsigned int nrand, u64 *seed)
{
	check_some(l, r, nrand, 0, seed);
}

/*
 * A random prefix clustered enough to nest: the first bits come from a
 * handful of values, so prefixes share paths, split each other's
 * compressed edges, and cover each other.
 */
static unsigned int rand_prefix(u8 *a, unsigned int bits, u64 *seed)
{
	unsigned int k, plen;
	u64 x = rng_next(seed);

	for (k = 0; k < bits / 8; k++)
		a[k] = (u8)rng_next(seed);
	a[0] = (u8)(0x0a + (x & 3));
	if (bits == 128 && (x & 4))
		a[1] = a[2] = a[3] = 0;
	plen = (unsigned int)(rng_next(seed) % (bits + 1));
	/* Extra weight on the edges of a node's levels and the full length. */
	if ((x >> 8) % 8 == 0)
		plen = bits;
	else if ((x >> 8) % 8 == 1)
		plen -= plen % 6;
	mask_to(a, plen, bits);
	return plen;
}

static void test_init(void **state)
{
	struct tdb_lpm l;
	u8 a[MAXB] = { 10 };

	assert_int_equal(tdb_lpm_init(&l, 0), -EINVAL);
	assert_int_equal(tdb_lpm_init(&l, 64), -EINVAL);
	assert_int_equal(tdb_lpm_init(&l, 32), 0);
	assert_int_equal(tdb_lpm_insert(&l, a, 33, leaf_of(1)), -EINVAL);
	assert_int_equal(tdb_lpm_insert(&l, a, 8, NULL), -EINVAL);
	assert_null(tdb_lpm_remove(&l, a, 33));
	assert_null(lookup(&l, a));
	assert_int_equal(tdb_lpm_count(&l), 0);
	tdb_lpm_destroy(&l);
	assert_int_equal(tdb_lpm_init(&l, 128), 0);
	assert_int_equal(tdb_lpm_insert(&l, a, 129, leaf_of(1)), -EINVAL);
	tdb_lpm_destroy(&l);
}

/* The default route alone answers every address; /0 and full lengths. */
static void test_default_and_edges(void **state)
{
	static const unsigned int fams[] = { 32, 128 };
	unsigned int f;
	u64 seed = 7;

	for (f = 0; f < 2; f++) {
		unsigned int bits = fams[f], bytes = bits / 8, i;
		struct ref r = { .bits = bits };
		struct tdb_lpm l;
		u8 a[MAXB], z[MAXB] = { 0 };
		u64 empty;

		assert_int_equal(tdb_lpm_init(&l, bits), 0);
		empty = tdb_lpm_bytes(&l);
		assert_true(empty > 0);
		assert_int_equal(tdb_lpm_insert(&l, z, 0, leaf_of(0)), 0);
		ref_put(&r, z, 0, leaf_of(0));
		for (i = 0; i < 200; i++) {
			for (unsigned int k = 0; k < bytes; k++)
				a[k] = (u8)rng_next(&seed);
			assert_ptr_equal(lookup(&l, a), leaf_of(0));
		}
		memset(a, 0xff, bytes);
		assert_ptr_equal(lookup(&l, a), leaf_of(0));

		/* A full-length prefix: its address only. */
		memset(a, 0xff, bytes);
		assert_int_equal(tdb_lpm_insert(&l, a, bits, leaf_of(1)), 0);
		ref_put(&r, a, bits, leaf_of(1));
		assert_int_equal(tdb_lpm_insert(&l, z, bits, leaf_of(2)), 0);
		ref_put(&r, z, bits, leaf_of(2));
		check_all(&l, &r, 500, &seed);

		/* Replace returns nothing but changes the answer. */
		assert_int_equal(tdb_lpm_insert(&l, z, 0, leaf_of(3)), 0);
		ref_put(&r, z, 0, leaf_of(3));
		assert_int_equal(tdb_lpm_count(&l), 3);
		check_all(&l, &r, 500, &seed);

		/* Absent prefixes: not removed. */
		assert_null(tdb_lpm_remove(&l, z, 1));
		assert_null(tdb_lpm_remove(&l, z, bits - 1));
		a[0] = 0x80;
		memset(a + 1, 0, bytes - 1);
		assert_null(tdb_lpm_remove(&l, a, 1));
		assert_int_equal(tdb_lpm_count(&l), 3);

		/* Every length on one path, then removed from the top. */
		memset(a, 0xa5, bytes);
		for (i = 0; i <= bits; i++) {
			u8 p[MAXB];

			memcpy(p, a, bytes);
			mask_to(p, i, bits);
			assert_int_equal(
				tdb_lpm_insert(&l, p, i, leaf_of(100 + i)), 0);
			ref_put(&r, p, i, leaf_of(100 + i));
		}
		check_all(&l, &r, 500, &seed);
		for (i = 0; i <= bits; i++) {
			u8 p[MAXB];

			memcpy(p, a, bytes);
			mask_to(p, i, bits);
			assert_ptr_equal(tdb_lpm_remove(&l, p, i),
					 ref_del(&r, p, i));
			if (i % 7 == 0)
				check_all(&l, &r, 50, &seed);
		}
		check_all(&l, &r, 500, &seed);

		/* The default route alone again, then nothing. */
		memset(a, 0xff, bytes);
		assert_ptr_equal(tdb_lpm_remove(&l, a, bits), leaf_of(1));
		assert_ptr_equal(tdb_lpm_remove(&l, z, bits), leaf_of(2));
		ref_del(&r, a, bits);
		ref_del(&r, z, bits);
		assert_ptr_equal(lookup(&l, a), NULL);
		assert_int_equal(tdb_lpm_count(&l), 0);
		assert_int_equal(tdb_lpm_bytes(&l), empty);
		tdb_lpm_flush(&l);
		tdb_lpm_destroy(&l);
		free(r.p);
	}
}

/*
 * Random inserts, replaces and removes, checked against the reference
 * every @every operations; then everything removed, which must bring the
 * memory figure back to its empty value.
 */
static void random_ops(unsigned int bits, bool private, unsigned int ops,
		       unsigned int every, u64 seed)
{
	struct ref r = { .bits = bits };
	struct tdb_lpm l;
	unsigned int i, plen;
	u8 a[MAXB];
	u64 empty, id = 1000;

	if (private)
		assert_int_equal(tdb_lpm_init_private(&l, bits), 0);
	else
		assert_int_equal(tdb_lpm_init(&l, bits), 0);
	empty = tdb_lpm_bytes(&l);
	for (i = 0; i < ops; i++) {
		u64 x = rng_next(&seed) % 10;

		/* Grow to about 2000 prefixes, then churn. */
		if (x < (r.n < 2000 ? 6U : 3U) || !r.n) {
			plen = rand_prefix(a, bits, &seed);
			assert_int_equal(
				tdb_lpm_insert(&l, a, plen, leaf_of(id)), 0);
			ref_put(&r, a, plen, leaf_of(id));
			id++;
		} else if (x < 7) {
			/* Replace a stored prefix. */
			struct pfx *p = &r.p[rng_next(&seed) % r.n];

			assert_int_equal(tdb_lpm_insert(&l, p->addr, p->plen,
							leaf_of(id)),
					 0);
			p->leaf = leaf_of(id++);
		} else if (x < 9) {
			struct pfx p = r.p[rng_next(&seed) % r.n];

			assert_ptr_equal(tdb_lpm_remove(&l, p.addr, p.plen),
					 p.leaf);
			assert_ptr_equal(ref_del(&r, p.addr, p.plen), p.leaf);
		} else {
			/* Most random prefixes are absent. */
			plen = rand_prefix(a, bits, &seed);
			assert_ptr_equal(tdb_lpm_remove(&l, a, plen),
					 ref_del(&r, a, plen));
		}
		if (i % 64 == 0)
			tdb_lpm_flush(&l);
		if (i % every == every - 1) {
			if (private && i > ops / 2)
				tdb_lpm_publish(&l);
			check_some(&l, &r, 400, 300, &seed);
		}
	}
	check_all(&l, &r, 2000, &seed);
	assert_true(tdb_lpm_bytes(&l) > empty);
	while (r.n) {
		struct pfx p = r.p[rng_next(&seed) % r.n];

		assert_ptr_equal(tdb_lpm_remove(&l, p.addr, p.plen), p.leaf);
		ref_del(&r, p.addr, p.plen);
		if (r.n % 500 == 0)
			check_some(&l, &r, 200, 100, &seed);
	}
	assert_int_equal(tdb_lpm_count(&l), 0);
	assert_int_equal(tdb_lpm_bytes(&l), empty);
	tdb_lpm_flush(&l);
	tdb_lpm_destroy(&l);
	free(r.p);
}

static void test_random_v4(void **state)
{
	random_ops(32, false, 40000 / SCALE_DOWN, 4000 / SCALE_DOWN, 1);
}

static void test_random_v6(void **state)
{
	random_ops(128, false, 40000 / SCALE_DOWN, 4000 / SCALE_DOWN, 2);
}

static void test_private(void **state)
{
	random_ops(32, true, 20000 / SCALE_DOWN, 2000 / SCALE_DOWN, 3);
	random_ops(128, true, 20000 / SCALE_DOWN, 2000 / SCALE_DOWN, 4);
}

/* Many random prefixes left in place: destroy must free them (ASan). */
static void test_destroy_full(void **state)
{
	struct tdb_lpm l4, l6;
	unsigned int i, plen;
	u64 seed = 99;
	u8 a[MAXB];

	assert_int_equal(tdb_lpm_init(&l4, 32), 0);
	assert_int_equal(tdb_lpm_init(&l6, 128), 0);
	for (i = 0; i < 20000 / SCALE_DOWN; i++) {
		plen = rand_prefix(a, 32, &seed);
		assert_int_equal(tdb_lpm_insert(&l4, a, plen, leaf_of(i)), 0);
		plen = rand_prefix(a, 128, &seed);
		assert_int_equal(tdb_lpm_insert(&l6, a, plen, leaf_of(i)), 0);
		if (i % 3 == 0)
			tdb_lpm_remove(&l4, a, plen);
	}
	assert_true(tdb_lpm_heap_bytes(&l4) >= tdb_lpm_bytes(&l4));
	/* Batches still pending keep the heap until they run. */
	tdb_lpm_destroy(&l4);
	tdb_lpm_destroy(&l6);
	rcu_barrier();
}

/*
 * Readers against a writer.  The readers look up probe addresses inside
 * a fixed set of prefixes (each at least /16 in an even /16 of 10/8, or
 * of 2001:db8::/32 for IPv6, each inside /(8+L) where L is the family's
 * scale), whose answers no write changes: the writer inserts and removes
 * prefixes in the odd /16s, and shorter prefixes that cover the fixed
 * ones but lose to them.  They share the top nodes with the fixed set,
 * so every write copies nodes that readers walk through.
 */
struct conc {
	struct tdb_lpm l;
	unsigned int bits;
	unsigned int nprobe;
	u8 (*probe)[MAXB];
	void **want;
	u64 writes;
	int writer_done;
	u64 lookups, wrong;
};

/* Byte offset and value step of the /16 (or /32 for IPv6) parity bit. */
static unsigned int conc_region_byte(unsigned int bits)
{
	return bits == 32 ? 1 : 5;
}

static void conc_base(u8 *a, unsigned int bits)
{
	memset(a, 0, MAXB);
	if (bits == 32) {
		a[0] = 10;
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
	}
}

/* A prefix in the region of parity @odd: at least 8 bits past its base. */
static unsigned int conc_prefix(u8 *a, unsigned int bits, bool odd, u64 *s)
{
	unsigned int rb = conc_region_byte(bits), k, plen, lo = rb * 8 + 8;

	conc_base(a, bits);
	for (k = rb; k < bits / 8; k++)
		a[k] = (u8)rng_next(s);
	a[rb] = (u8)((a[rb] & ~1U) | odd);
	plen = lo + (unsigned int)(rng_next(s) % (bits - lo + 1));
	mask_to(a, plen, bits);
	return plen;
}

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	struct ref r = { .bits = c->bits };
	unsigned int i, plen, rb = conc_region_byte(c->bits);
	u64 seed = 0x9e3779b97f4a7c15ULL, id = 1u << 20;
	u8 a[MAXB];

	port_rcu_thread_online();
	for (i = 0; i < c->writes; i++) {
		u64 x = rng_next(&seed) % 16;

		if (x < 7 || r.n < 16) {
			plen = conc_prefix(a, c->bits, true, &seed);
			if (x == 0) {
				/* Covers fixed prefixes, shorter than them. */
				plen = (unsigned int)(rng_next(&seed) %
						      (rb * 8 + 8));
				conc_base(a, c->bits);
				mask_to(a, plen, c->bits);
			}
			if (!tdb_lpm_insert(&c->l, a, plen, leaf_of(id)))
				ref_put(&r, a, plen, leaf_of(id));
			id++;
		} else if (x < 9) {
			struct pfx *p = &r.p[rng_next(&seed) % r.n];

			if (!tdb_lpm_insert(&c->l, p->addr, p->plen,
					    leaf_of(id)))
				p->leaf = leaf_of(id);
			id++;
		} else {
			struct pfx p = r.p[rng_next(&seed) % r.n];

			if (tdb_lpm_remove(&c->l, p.addr, p.plen) == p.leaf)
				ref_del(&r, p.addr, p.plen);
		}
		if (i % 32 == 0)
			tdb_lpm_flush(&c->l);
	}
	/* Leave the writer's prefixes for the final check of the index. */
	tdb_lpm_flush(&c->l);
	free(r.p);
	__atomic_store_n(&c->writer_done, 1, __ATOMIC_RELEASE);
	port_rcu_thread_offline();
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct conc *c = arg;
	u64 seed = (u64)(uintptr_t)&seed | 1, lookups = 0, wrong = 0;
	enum { B = 24 };
	const u8 *bp[B];
	unsigned int idx[B], j;
	void *out[B];

	port_rcu_thread_online();
	while (!__atomic_load_n(&c->writer_done, __ATOMIC_ACQUIRE)) {
		for (j = 0; j < 32; j++) {
			unsigned int p =
				(unsigned int)(rng_next(&seed) % c->nprobe);

			rcu_read_lock();
			if (tdb_lpm_lookup(&c->l, c->probe[p]) != c->want[p])
				wrong++;
			rcu_read_unlock();
		}
		for (j = 0; j < B; j++) {
			idx[j] = (unsigned int)(rng_next(&seed) % c->nprobe);
			bp[j] = c->probe[idx[j]];
		}
		rcu_read_lock();
		tdb_lpm_lookup_batch(&c->l, B, bp, out);
		rcu_read_unlock();
		for (j = 0; j < B; j++)
			if (out[j] != c->want[idx[j]])
				wrong++;
		lookups += 32 + B;
	}
	__atomic_add_fetch(&c->lookups, lookups, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->wrong, wrong, __ATOMIC_RELAXED);
	port_rcu_thread_offline();
	return NULL;
}

static void concurrent(unsigned int bits, unsigned int nfixed, u64 writes)
{
	struct conc *c = calloc(1, sizeof(*c));
	struct ref fixed = { .bits = bits };
	unsigned int i, k, plen, bytes = bits / 8;
	pthread_t rd[2], wr;
	u64 seed = 31337;
	u8 a[MAXB];

	assert_non_null(c);
	c->bits = bits;
	c->writes = writes;
	assert_int_equal(tdb_lpm_init(&c->l, bits), 0);
	for (i = 0; i < nfixed; i++) {
		plen = conc_prefix(a, bits, false, &seed);
		assert_int_equal(tdb_lpm_insert(&c->l, a, plen, leaf_of(i)), 0);
		ref_put(&fixed, a, plen, leaf_of(i));
	}
	/* Probes: edges of each fixed prefix and random points inside. */
	c->nprobe = fixed.n * 4;
	c->probe = calloc(c->nprobe, sizeof(*c->probe));
	c->want = calloc(c->nprobe, sizeof(*c->want));
	assert_non_null(c->probe);
	assert_non_null(c->want);
	for (i = 0; i < c->nprobe; i++) {
		const struct pfx *p = &fixed.p[i / 4];

		memcpy(c->probe[i], p->addr, bytes);
		for (k = p->plen; k < bits; k++)
			if (i % 4 == 1 || (i % 4 >= 2 && (rng_next(&seed) & 1)))
				c->probe[i][k / 8] |= 0x80 >> (k % 8);
		c->want[i] = ref_lookup(&fixed, c->probe[i]);
		assert_non_null(c->want[i]);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, conc_reader, c),
				 0);
	assert_int_equal(pthread_create(&wr, NULL, conc_writer, c), 0);
	pthread_join(wr, NULL);
	for (i = 0; i < 2; i++)
		pthread_join(rd[i], NULL);
	print_message("concurrent IPv%u: %llu lookups during %llu writes\n",
		      bits == 32 ? 4 : 6, (unsigned long long)c->lookups,
		      (unsigned long long)writes);
	assert_int_equal(c->wrong, 0);
	assert_true(c->lookups > 0);
	/* The fixed set is intact after the writer's churn. */
	for (i = 0; i < c->nprobe; i++)
		assert_ptr_equal(lookup(&c->l, c->probe[i]), c->want[i]);
	tdb_lpm_destroy(&c->l);
	rcu_barrier();
	free(c->probe);
	free(c->want);
	free(fixed.p);
	free(c);
}

static void test_concurrent_v4(void **state)
{
	concurrent(32, 3000, 400000 / SCALE_DOWN);
}

static void test_concurrent_v6(void **state)
{
	concurrent(128, 3000, 200000 / SCALE_DOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_default_and_edges),
		cmocka_unit_test(test_random_v4),
		cmocka_unit_test(test_random_v6),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_destroy_full),
		cmocka_unit_test(test_concurrent_v4),
		cmocka_unit_test(test_concurrent_v6),
	};
	int ret;

	port_rcu_thread_online();
	ret = cmocka_run_group_tests_name("lpm", tests, NULL, NULL);
	rcu_barrier();
	port_rcu_thread_offline();
	return ret;
}
