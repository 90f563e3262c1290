/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * prefixes.h - generated IPv4 rule sets and a brute-force longest-prefix
 * match to check tdb's LOOKUP against (test_load.c).
 *
 *   pset_gen()      a set of distinct prefixes, lengths skewed as in real
 *                   firewall and routing tables (mostly /24 and /32, some
 *                   /16../23, a few short ones, a default route on demand),
 *                   a quarter of them nested inside earlier ones; seeded,
 *                   so every run makes the same set.
 *   ref_build()     the reference: one sorted array of network addresses
 *                   per prefix length; ref_lookup() tries the lengths from
 *                   32 down to 0 and binary-searches each.  Obviously
 *                   correct, and ref_linear() (a plain scan of the whole
 *                   set) checks it on a sample anyway.
 *   probes_gen()    addresses to look up: uniformly random ones, random
 *                   ones inside random prefixes, the edges of sampled
 *                   prefixes (first, last, one before, one past), and
 *                   0.0.0.0 and 255.255.255.255.
 *
 * Addresses are host-order uint32_t here; the wire has network order.
 * Every rule carries a tag that its value is derived from, so that two sets
 * holding the same prefix can give it different values.
 */
#ifndef TDB_TEST_PREFIXES_H
#define TDB_TEST_PREFIXES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct pfx {
	uint32_t addr; /* network address, host order, no host bits */
	uint8_t len; /* 0..32 */
	uint32_t tag; /* the value is derived from (tag, addr, len) */
};

struct pset {
	struct pfx *v;
	uint32_t n;
};

static inline uint32_t pfx_mask(unsigned int len)
{
	return len ? 0xffffffffU << (32 - len) : 0;
}

static inline int pfx_contains(const struct pfx *p, uint32_t addr)
{
	return (addr & pfx_mask(p->len)) == p->addr;
}

/* ---- a set of (addr, len) for de-duplication ----------------------------- */

struct pfx_hset {
	uint64_t *slot; /* (addr << 8 | len) + 1; 0: empty */
	uint64_t mask;
};

static inline uint64_t pfx_code(uint32_t addr, unsigned int len)
{
	return ((uint64_t)addr << 8 | len) + 1;
}

static inline int hset_init(struct pfx_hset *h, uint64_t n)
{
	uint64_t cap = 1024;

	while (cap < 2 * n + 16)
		cap *= 2;
	h->slot = calloc(cap, sizeof(*h->slot));
	h->mask = cap - 1;
	return h->slot ? 0 : -1;
}

static inline uint64_t hset_hash(uint64_t c)
{
	c ^= c >> 33;
	c *= 0xff51afd7ed558ccdULL;
	c ^= c >> 33;
	return c;
}

/* The slot of @code: where it is, or the empty one where it would go. */
static inline uint64_t *hset_slot(const struct pfx_hset *h, uint64_t code)
{
	uint64_t i = hset_hash(code) & h->mask;

	while (h->slot[i] && h->slot[i] != code)
		i = (i + 1) & h->mask;
	return &h->slot[i];
}

/* 1 when added, 0 when it was there. */
static inline int hset_add(struct pfx_hset *h, uint32_t addr, unsigned int len)
{
	uint64_t c = pfx_code(addr, len), *s = hset_slot(h, c);

	if (*s)
		return 0;
	*s = c;
	return 1;
}

static inline void hset_free(struct pfx_hset *h)
{
	free(h->slot);
	h->slot = NULL;
}

/* ---- generation ---------------------------------------------------------- */

/*
 * Weights (per million) of prefix lengths 1..32: roughly a BGP table's
 * shape (/24 dominating, /16../23 next, a handful of /8../12, nothing
 * shorter) plus a firewall's many host entries (/32) and small blocks
 * (/25../31).  A 200,000-rule set covers about a sixth of the address
 * space, so random addresses both hit and miss.
 */
static const uint32_t pfx_len_weight[33] = {
	[8] = 20,     [9] = 15,	     [10] = 40,	   [11] = 100,	 [12] = 250,
	[13] = 500,   [14] = 1000,   [15] = 1700,  [16] = 13000, [17] = 7000,
	[18] = 12000, [19] = 25000,  [20] = 35000, [21] = 40000, [22] = 90000,
	[23] = 75000, [24] = 450000, [25] = 8000,  [26] = 10000, [27] = 10000,
	[28] = 12000, [29] = 12000,  [30] = 15000, [31] = 2000,	 [32] = 180375,
};

static inline unsigned int pfx_rand_len(uint64_t *rng)
{
	uint32_t r = h_rand_below(rng, 1000000), acc = 0;
	unsigned int l;

	for (l = 1; l <= 32; l++) {
		acc += pfx_len_weight[l];
		if (r < acc)
			return l;
	}
	return 24;
}

/*
 * Fills @s with @n distinct prefixes (plus 0.0.0.0/0 as the first when
 * @with_default, counted in @n), each tagged @tag.  About a quarter are
 * nested in an earlier prefix (1 to 12 bits longer), so that lookups find
 * chains of overlapping prefixes.  0, or -1 without memory.
 */
static inline int pset_gen(struct pset *s, uint32_t n, uint64_t seed,
			   uint32_t tag, int with_default)
{
	struct pfx_hset h;
	uint64_t rng = seed;
	uint32_t i = 0;

	s->v = calloc(n ? n : 1, sizeof(*s->v));
	s->n = 0;
	if (!s->v || hset_init(&h, n))
		return -1;
	if (with_default && n) {
		hset_add(&h, 0, 0);
		s->v[i++] = (struct pfx){ 0, 0, tag };
	}
	while (i < n) {
		uint32_t addr;
		unsigned int len;

		if (i > 16 && h_rand_below(&rng, 100) < 25) {
			const struct pfx *p = &s->v[h_rand_below(&rng, i)];
			unsigned int room = 32 - p->len;

			if (!room)
				continue;
			len = p->len + 1 +
			      h_rand_below(&rng, room < 12 ? room : 12);
			addr = p->addr |
			       ((uint32_t)h_rand(&rng) & ~pfx_mask(p->len));
		} else {
			len = pfx_rand_len(&rng);
			addr = (uint32_t)h_rand(&rng);
		}
		addr &= pfx_mask(len);
		if (!hset_add(&h, addr, len))
			continue;
		s->v[i++] = (struct pfx){ addr, (uint8_t)len, tag };
	}
	s->n = n;
	hset_free(&h);
	return 0;
}

static inline void pset_free(struct pset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* A copy of @src, or -1 without memory. */
static inline int pset_copy(struct pset *dst, const struct pset *src)
{
	dst->v = malloc((src->n ? src->n : 1) * sizeof(*dst->v));
	if (!dst->v)
		return -1;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

/*
 * @base upserted with @upd, as a load without replace does: every prefix
 * of @upd (with its tag), then those of @base that @upd does not hold.
 */
static inline int pset_merge(struct pset *dst, const struct pset *base,
			     const struct pset *upd)
{
	struct pfx_hset h;
	uint32_t i;

	dst->v = malloc(((size_t)base->n + upd->n + 1) * sizeof(*dst->v));
	dst->n = 0;
	if (!dst->v || hset_init(&h, (uint64_t)base->n + upd->n))
		return -1;
	for (i = 0; i < upd->n; i++)
		if (hset_add(&h, upd->v[i].addr, upd->v[i].len))
			dst->v[dst->n++] = upd->v[i];
	for (i = 0; i < base->n; i++)
		if (hset_add(&h, base->v[i].addr, base->v[i].len))
			dst->v[dst->n++] = base->v[i];
	hset_free(&h);
	return 0;
}

/* ---- the reference ------------------------------------------------------- */

struct lpm_ref {
	const struct pset *s;
	uint32_t *idx[33]; /* rule indices of length L, by address */
	uint32_t cnt[33];
};

static inline int ref_cmp(const void *a, const void *b, void *arg)
{
	const struct pset *s = arg;
	uint32_t x = s->v[*(const uint32_t *)a].addr;
	uint32_t y = s->v[*(const uint32_t *)b].addr;

	return x < y ? -1 : x > y;
}

static inline int ref_build(struct lpm_ref *r, const struct pset *s)
{
	uint32_t fill[33] = { 0 }, i;
	unsigned int l;

	memset(r, 0, sizeof(*r));
	r->s = s;
	for (i = 0; i < s->n; i++)
		r->cnt[s->v[i].len]++;
	for (l = 0; l <= 32; l++) {
		r->idx[l] =
			malloc((r->cnt[l] ? r->cnt[l] : 1) * sizeof(uint32_t));
		if (!r->idx[l])
			return -1;
	}
	for (i = 0; i < s->n; i++)
		r->idx[s->v[i].len][fill[s->v[i].len]++] = i;
	for (l = 0; l <= 32; l++)
		qsort_r(r->idx[l], r->cnt[l], sizeof(uint32_t), ref_cmp,
			(void *)s);
	return 0;
}

static inline void ref_free(struct lpm_ref *r)
{
	unsigned int l;

	for (l = 0; l <= 32; l++)
		free(r->idx[l]);
	memset(r, 0, sizeof(*r));
}

/* The index of the rule with network address @net among those of @len. */
static inline int64_t ref_find(const struct lpm_ref *r, uint32_t net,
			       unsigned int len)
{
	uint32_t lo = 0, hi = r->cnt[len];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t a = r->s->v[r->idx[len][mid]].addr;

		if (a == net)
			return r->idx[len][mid];
		if (a < net)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The longest prefix holding @addr: its index in the set, or -1. */
static inline int64_t ref_lookup(const struct lpm_ref *r, uint32_t addr)
{
	int l;

	for (l = 32; l >= 0; l--) {
		int64_t i = ref_find(r, addr & pfx_mask((unsigned int)l),
				     (unsigned int)l);

		if (i >= 0)
			return i;
	}
	return -1;
}

/* The same by scanning every rule: slow, for checking ref_lookup(). */
static inline int64_t ref_linear(const struct pset *s, uint32_t addr)
{
	int64_t best = -1;
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (pfx_contains(&s->v[i], addr) &&
		    (best < 0 || s->v[i].len > s->v[best].len))
			best = i;
	return best;
}

/* ---- probes -------------------------------------------------------------- */

/*
 * 0.0.0.0 and 255.255.255.255, @nrand random addresses (half uniform,
 * half inside random prefixes of @s) and the edges of @nedge random
 * prefixes: the first and last address, one before the first and one past
 * the last (where those exist).  A malloc'd array, its length in *@n; NULL without memory.
 */
static inline uint32_t *probes_gen(const struct pset *s, uint32_t nrand,
				   uint32_t nedge, uint64_t seed, uint32_t *n)
{
	uint32_t *p =
		malloc(((size_t)nrand + 4 * (size_t)nedge + 3) * sizeof(*p));
	uint64_t rng = seed;
	uint32_t i, k = 0;

	*n = 0;
	if (!p || !s->n)
		return p;
	p[k++] = 0; /* the ends of the address space */
	p[k++] = 0xffffffffU;
	for (i = 0; i < nrand; i++) {
		if (i % 2 == 0) {
			p[k++] = (uint32_t)h_rand(&rng);
		} else {
			const struct pfx *q = &s->v[h_rand_below(&rng, s->n)];

			p[k++] = q->addr |
				 ((uint32_t)h_rand(&rng) & ~pfx_mask(q->len));
		}
	}
	for (i = 0; i < nedge; i++) {
		const struct pfx *q = &s->v[h_rand_below(&rng, s->n)];
		uint32_t last = q->addr | ~pfx_mask(q->len);

		p[k++] = q->addr;
		p[k++] = last;
		if (q->addr)
			p[k++] = q->addr - 1;
		if (last != 0xffffffffU)
			p[k++] = last + 1;
	}
	*n = k;
	return p;
}

#endif /* TDB_TEST_PREFIXES_H */
