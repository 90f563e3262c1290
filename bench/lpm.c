// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/lpm - the longest-prefix-match index (core/lpm.c) on one thread:
 * insert, private-mode bulk build, lookups and removal, with memory per
 * prefix.
 *
 *   lpm [--count N] [--dist uniform|route|v6|v6-128] [--rounds N]
 *       [--lookups N] [--batch N] [--seed N] [--clock cpu|wall]
 *
 * Distributions (prefixes are distinct; a length whose values run out is
 * drawn again, so the shortest lengths saturate):
 *   uniform  IPv4, lengths uniform in 8..32 (default, 1,000,000 prefixes)
 *   route    IPv4, a routing-table-like mix: 60% /24, 15% /16-/23,
 *            15% /25-/32, 10% /8-/15
 *   v6       IPv6, lengths uniform in 16..64 (default 100,000 prefixes)
 *   v6-128   IPv6, all /128
 * Each round builds a fresh index from the prefixes in random order
 * (public mode: copy-on-write and RCU retirement as under readers), builds
 * another in private mode, looks up random addresses ("random": uniform
 * over the address space; "hit": uniform inside a random stored prefix)
 * one at a time and in batches, then removes every prefix in another
 * random order.  Figures are medians of the rounds.  Memory is what
 * tdb_lpm_bytes() reports (live nodes at their size class) and what the
 * index's heap holds (pages, slack included), per prefix, after the build.
 * Times are the thread's CPU time by default, so that other jobs on the
 * machine do not count (their cache pressure still does); --clock wall
 * measures elapsed time instead.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lpm.h"

struct pfx {
	u8 addr[16];
	u32 plen;
	u32 id; /* its leaf */
};

static bool wall_clock;

/*
 * Seconds of this thread's CPU time, so that the figures hold on a
 * machine shared with other jobs (--wall: monotonic time instead).
 */
static double clock_now(void)
{
	struct timespec ts;

	if (wall_clock)
		return now();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static u64 rng(u64 *s)
{
	*s = splitmix(*s);
	return *s;
}

static void mask_to(u8 *a, unsigned int plen, unsigned int bits)
{
	unsigned int i;

	for (i = plen; i < bits; i++)
		a[i / 8] &= (u8) ~(0x80 >> (i % 8));
}

static unsigned int draw_len(const char *dist, u64 *s)
{
	u64 x = rng(s) % 100;

	if (!strcmp(dist, "uniform"))
		return 8 + rng(s) % 25;
	if (!strcmp(dist, "route")) {
		if (x < 60)
			return 24;
		if (x < 75)
			return 16 + rng(s) % 8;
		if (x < 90)
			return 25 + rng(s) % 8;
		return 8 + rng(s) % 8;
	}
	if (!strcmp(dist, "v6"))
		return 16 + rng(s) % 49;
	return 128;
}

/* Distinct random prefixes, through an open-addressing set. */
static struct pfx *gen(const char *dist, unsigned int bits, u64 n, u64 seed)
{
	u64 cap = 1, i = 0, h, tries = 0;
	struct pfx *p = malloc(n * sizeof(*p));
	u32 *set;

	while (cap < 2 * n)
		cap <<= 1;
	set = calloc(cap, sizeof(*set));
	if (!p || !set)
		exit(1);
	while (i < n) {
		struct pfx *q = &p[i];
		u64 w[2] = { rng(&seed), rng(&seed) };

		memset(q, 0, sizeof(*q));
		memcpy(q->addr, w, bits / 8);
		q->plen = draw_len(dist, &seed);
		mask_to(q->addr, q->plen, bits);
		memcpy(w, q->addr, 16);
		h = splitmix(w[0] ^ splitmix(w[1] ^ q->plen)) & (cap - 1);
		for (; set[h]; h = (h + 1) & (cap - 1))
			if (p[set[h] - 1].plen == q->plen &&
			    !memcmp(p[set[h] - 1].addr, q->addr, 16))
				break;
		if (++tries > 100 * n) {
			fprintf(stderr, "lpm: cannot draw %llu distinct\n",
				(unsigned long long)n);
			exit(1);
		}
		if (set[h])
			continue;
		q->id = (u32)i;
		set[h] = (u32)++i;
	}
	free(set);
	return p;
}

/*
 * Shuffles the prefixes in place: the writes then read them in order, so
 * that the benchmark's own cache misses stay out of the figures.
 */
static void shuffle(struct pfx *v, u64 n, u64 seed)
{
	u64 i;

	for (i = n - 1; i > 0; i--) {
		u64 j = rng(&seed) % (i + 1);
		struct pfx t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static void *leaf_of(u64 i)
{
	return (void *)(uintptr_t)((i + 1) << 4);
}

/* Seconds to insert every prefix of @p in order, or remove when @del. */
static double build(struct tdb_lpm *l, const struct pfx *p, u64 n, bool del)
{
	double t0 = clock_now();
	u64 i;

	for (i = 0; i < n; i++)
		if (del ? tdb_lpm_remove(l, p[i].addr, p[i].plen) !=
				    leaf_of(p[i].id) :
			  tdb_lpm_insert(l, p[i].addr, p[i].plen,
					 leaf_of(p[i].id)) != 0) {
			fprintf(stderr, "lpm: write failed\n");
			exit(1);
		}
	tdb_lpm_flush(l);
	return clock_now() - t0;
}

/*
 * The same, with the writer's hint: each group of PF prefixes has its
 * walks prefetched (tdb_lpm_prefetch) before it is inserted, or removed
 * when @del.
 */
#define PF 32
static double build_pf(struct tdb_lpm *l, const struct pfx *p, u64 n, bool del)
{
	const u8 *ap[PF];
	double t0 = clock_now();
	u64 i, j, m;

	for (i = 0; i < n; i += PF) {
		m = n - i < PF ? n - i : PF;
		for (j = 0; j < m; j++)
			ap[j] = p[i + j].addr;
		tdb_lpm_prefetch(l, (unsigned int)m, ap);
		for (j = 0; j < m; j++) {
			const struct pfx *q = &p[i + j];

			if (del ? tdb_lpm_remove(l, q->addr, q->plen) !=
					    leaf_of(q->id) :
				  tdb_lpm_insert(l, q->addr, q->plen,
						 leaf_of(q->id)) != 0) {
				fprintf(stderr, "lpm: write failed\n");
				exit(1);
			}
		}
	}
	tdb_lpm_flush(l);
	return clock_now() - t0;
}

/* Lookups per second, one at a time; *@found counts matches. */
static double run_single(const struct tdb_lpm *l, const u8 (*addrs)[16], u64 na,
			 u64 nlook, u64 *found)
{
	u64 i, f = 0;
	double t0 = clock_now();

	rcu_read_lock();
	for (i = 0; i < nlook; i++) {
		f += tdb_lpm_lookup(l, addrs[i % na]) != NULL;
		if ((i & 1023) == 1023) {
			rcu_read_unlock();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	*found = f;
	return nlook / (clock_now() - t0);
}

static double run_batch(const struct tdb_lpm *l, const u8 (*addrs)[16], u64 na,
			u64 nlook, unsigned int batch, u64 *found)
{
	const u8 *bp[256];
	void *out[256];
	u64 i, f = 0;
	unsigned int j;
	double t0 = clock_now();

	rcu_read_lock();
	for (i = 0; i + batch <= nlook; i += batch) {
		for (j = 0; j < batch; j++)
			bp[j] = addrs[(i + j) % na];
		tdb_lpm_lookup_batch(l, batch, bp, out);
		for (j = 0; j < batch; j++)
			f += out[j] != NULL;
		if ((i & 1023) < batch) {
			rcu_read_unlock();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	*found = f;
	return i / (clock_now() - t0);
}

static void usage(void)
{
	fprintf(stderr, "usage: lpm [--count N] [--dist uniform|route|v6|"
			"v6-128] [--rounds N] [--lookups N] [--batch N] "
			"[--seed N] [--clock cpu|wall]\n");
	exit(2);
}

enum {
	F_INS,
	F_INSPF,
	F_PRIV,
	F_RND1,
	F_RNDB,
	F_HIT1,
	F_HITB,
	F_DEL,
	F_DELPF,
	F_MEM,
	F_HEAP,
	F_NR
};

int main(int argc, char **argv)
{
	static const char *const names[F_NR] = {
		"insert ns/prefix",
		"insert, prefetched ns/prefix",
		"private build ns/prefix",
		"lookup random, single Mlookups/s",
		"lookup random, batched Mlookups/s",
		"lookup hit, single Mlookups/s",
		"lookup hit, batched Mlookups/s",
		"remove ns/prefix",
		"remove, prefetched ns/prefix",
		"memory B/prefix (tdb_lpm_bytes)",
		"memory B/prefix (heap pages)",
	};
	const char *dist = "uniform";
	u64 count = 0, nlook = 4000000, seed = 1, na = 1 << 20, i, f1, fb;
	unsigned int rounds = 5, batch = 64, bits, r, k;
	double *fig[F_NR];
	struct pfx *p;
	u8(*rnd)[16], (*hit)[16];
	struct pfx *ins, *del;

	for (k = 1; k < (unsigned int)argc; k++) {
		if (k + 1 >= (unsigned int)argc)
			usage();
		if (!strcmp(argv[k], "--count"))
			count = strtoull(argv[++k], NULL, 0);
		else if (!strcmp(argv[k], "--dist"))
			dist = argv[++k];
		else if (!strcmp(argv[k], "--rounds"))
			rounds = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--lookups"))
			nlook = strtoull(argv[++k], NULL, 0);
		else if (!strcmp(argv[k], "--batch"))
			batch = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--clock"))
			wall_clock = !strcmp(argv[++k], "wall");
		else if (!strcmp(argv[k], "--seed"))
			seed = strtoull(argv[++k], NULL, 0);
		else
			usage();
	}
	if (strcmp(dist, "uniform") && strcmp(dist, "route") &&
	    strcmp(dist, "v6") && strcmp(dist, "v6-128"))
		usage();
	if (!rounds || !batch || batch > 256)
		usage();
	bits = !strncmp(dist, "v6", 2) ? 128 : 32;
	if (!count)
		count = bits == 32 ? 1000000 : 100000;

	port_rcu_thread_online();
	printf("lpm: %llu distinct IPv%u prefixes, dist %s, %u rounds, "
	       "%llu lookups per figure, batch %u, seed %llu, %s time\n",
	       (unsigned long long)count, bits == 32 ? 4 : 6, dist, rounds,
	       (unsigned long long)nlook, batch, (unsigned long long)seed,
	       wall_clock ? "wall" : "cpu");
	p = gen(dist, bits, count, seed);
	ins = malloc(count * sizeof(*ins));
	del = malloc(count * sizeof(*del));
	rnd = malloc(na * sizeof(*rnd));
	hit = malloc(na * sizeof(*hit));
	for (k = 0; k < F_NR; k++)
		fig[k] = calloc(rounds, sizeof(double));
	if (!ins || !del || !rnd || !hit)
		return 1;
	for (i = 0; i < na; i++) {
		u64 w[2] = { rng(&seed), rng(&seed) };
		const struct pfx *q = &p[rng(&seed) % count];
		unsigned int b;

		memcpy(rnd[i], w, 16);
		memcpy(hit[i], w, 16);
		for (b = 0; b < q->plen; b++) {
			hit[i][b / 8] &= (u8) ~(0x80 >> (b % 8));
			hit[i][b / 8] |= q->addr[b / 8] & (0x80 >> (b % 8));
		}
	}
	for (r = 0; r < rounds; r++) {
		struct tdb_lpm l, lp;

		memcpy(ins, p, count * sizeof(*p));
		shuffle(ins, count, seed + 2 * r);
		memcpy(del, p, count * sizeof(*p));
		shuffle(del, count, seed + 2 * r + 1);

		if (tdb_lpm_init_private(&lp, bits))
			return 1;
		fig[F_PRIV][r] = build(&lp, ins, count, false) * 1e9 / count;
		tdb_lpm_publish(&lp);
		tdb_lpm_destroy(&lp);
		rcu_barrier();

		if (tdb_lpm_init(&l, bits))
			return 1;
		fig[F_INS][r] = build(&l, ins, count, false) * 1e9 / count;
		/* Let the writer free what the last grace periods released. */
		rcu_barrier();
		tdb_lpm_flush(&l);
		fig[F_MEM][r] = (double)tdb_lpm_bytes(&l) / count;
		fig[F_HEAP][r] = (double)tdb_lpm_heap_bytes(&l) / count;

		fig[F_RND1][r] = run_single(&l, rnd, na, nlook, &f1) / 1e6;
		fig[F_RNDB][r] =
			run_batch(&l, rnd, na, nlook, batch, &fb) / 1e6;
		if (r == 0)
			printf("random addresses matched: %.1f%%\n",
			       100.0 * f1 / nlook);
		fig[F_HIT1][r] = run_single(&l, hit, na, nlook, &f1) / 1e6;
		fig[F_HITB][r] =
			run_batch(&l, hit, na, nlook, batch, &fb) / 1e6;
		if (f1 != nlook || fb != nlook / batch * batch) {
			fprintf(stderr, "lpm: a hit address missed\n");
			return 1;
		}
		fig[F_DEL][r] = build(&l, del, count, true) * 1e9 / count;
		if (tdb_lpm_count(&l))
			return 1;
		tdb_lpm_destroy(&l);
		rcu_barrier();

		/* Again with the writer's prefetch hint. */
		if (tdb_lpm_init(&l, bits))
			return 1;
		fig[F_INSPF][r] = build_pf(&l, ins, count, false) * 1e9 / count;
		fig[F_DELPF][r] = build_pf(&l, del, count, true) * 1e9 / count;
		if (tdb_lpm_count(&l))
			return 1;
		tdb_lpm_destroy(&l);
		rcu_barrier();
	}
	for (k = 0; k < F_NR; k++)
		printf("%-36s %8.1f\n", names[k], bench_median(fig[k], rounds));
	for (k = 0; k < F_NR; k++)
		free(fig[k]);
	free(p);
	free(ins);
	free(del);
	free(rnd);
	free(hit);
	port_rcu_thread_offline();
	return 0;
}
