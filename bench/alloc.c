// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * alloc.c - tdb's allocators against glibc malloc/free, on the workload of
 * Tempesta FW's article on memory pools ("Fast Memory Pool Allocators:
 * Boost, Nginx & Tempesta FW", 2015): N allocations of 24-byte "Small" and
 * 240-byte "Big" objects, with and without freeing every 4th object right
 * after allocating it, a Small/Big mix, and many short-lived pools.
 *
 *   alloc [--quick] [-n N]
 *
 * Every object is written to, so that no allocation is optimized away and
 * the memory is really used.  The malloc side frees every object (the free
 * cost counts, as in the article); the tdb pool side destroys its pool; the
 * tdb slab side frees every object and then destroys the slab.  Each
 * measurement runs once to warm up (so that both sides reuse memory that is
 * already mapped: glibc's trimming is turned off during a case) and then 3
 * times; the median is reported.  Ends with "result w7_caseK_malloc_mops
 * M" and "result w7_caseK_tdb_mops M" lines for scripts/bench.sh.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

#define RUNS 3
#define POOL_ORDER 4 /* 64 KiB chunks for the single long pool */
#define MANY_POOL_ORDER 0 /* 4 KiB: 100 Small objects fit one chunk */
#define PER_POOL 100

struct small {
	long l[3];
};

struct big {
	long l[30];
};

static long nr_ops;
/* Results go here so that the compiler must compute them. */
static volatile long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writes an object: the link to the previous one and a word at its end. */
#define TOUCH(o, prev, i)                             \
	do {                                          \
		(o)->l[0] = (long)(prev);             \
		(o)->l[ARRAY_SIZE((o)->l) - 1] = (i); \
	} while (0)

/* Frees a malloc'd list linked through l[0]; returns its length. */
static long free_list(long *head)
{
	long n = 0;

	while (head) {
		long *next = (long *)head[0];

		free(head);
		head = next;
		n++;
	}
	return n;
}

enum kind { SMALL, BIG, MIX };

static size_t obj_size(enum kind k, long i)
{
	if (k == SMALL)
		return sizeof(struct small);
	if (k == BIG)
		return sizeof(struct big);
	return i & 1 ? sizeof(struct big) : sizeof(struct small);
}

/* N objects from malloc; every 4th freed at once when @with_free. */
static void run_malloc(enum kind k, bool with_free)
{
	long *head = NULL, i;

	for (i = 0; i < nr_ops; i++) {
		size_t n = obj_size(k, i);
		long *o = malloc(n);

		o[0] = (long)head;
		o[n / sizeof(long) - 1] = i;
		if (with_free && (i & 3) == 3)
			free(o);
		else
			head = o;
	}
	sink = free_list(head);
}

/* N objects from one region pool; every 4th freed at once (it is last). */
static void run_pool(enum kind k, bool with_free)
{
	struct tdb_pool *pool = tdb_pool_create(POOL_ORDER);
	long *prev = NULL, i;

	for (i = 0; i < nr_ops; i++) {
		size_t n = obj_size(k, i);
		long *o = tdb_pool_alloc(pool, n);

		o[0] = (long)prev;
		o[n / sizeof(long) - 1] = i;
		if (with_free && (i & 3) == 3)
			tdb_pool_free(pool, o, n);
		else
			prev = o;
	}
	sink = (long)prev;
	tdb_pool_destroy(pool);
}

/* N objects from one slab; every object is freed, then the slab. */
static void run_slab(enum kind k, bool with_free)
{
	size_t n = obj_size(k, 0);
	struct tdb_slab *slab = tdb_slab_create(n);
	long *head = NULL, i, left = 0;

	for (i = 0; i < nr_ops; i++) {
		long *o = tdb_slab_alloc(slab);

		o[0] = (long)head;
		o[n / sizeof(long) - 1] = i;
		if (with_free && (i & 3) == 3)
			tdb_slab_free(slab, o);
		else
			head = o;
	}
	while (head) {
		long *next = (long *)head[0];

		tdb_slab_free(slab, head);
		head = next;
		left++;
	}
	sink = left;
	tdb_slab_destroy(slab);
}

/* N/100 rounds of 100 Small objects from malloc, all freed each round. */
static void run_malloc_many(enum kind k, bool with_free)
{
	struct small *o[PER_POOL];
	long r, i, rounds = nr_ops / PER_POOL, sum = 0;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < PER_POOL; i++) {
			o[i] = malloc(sizeof(struct small));
			TOUCH(o[i], r, i);
		}
		for (i = 0; i < PER_POOL; i++) {
			sum += o[i]->l[2];
			free(o[i]);
		}
	}
	sink = sum;
}

/* N/100 pools, each given 100 Small objects and destroyed. */
static void run_pool_many(enum kind k, bool with_free)
{
	long r, i, rounds = nr_ops / PER_POOL, sum = 0;

	for (r = 0; r < rounds; r++) {
		struct tdb_pool *pool = tdb_pool_create(MANY_POOL_ORDER);

		for (i = 0; i < PER_POOL; i++) {
			struct small *o = tdb_pool_alloc(pool, sizeof(*o));

			TOUCH(o, r, i);
			sum += o->l[2];
		}
		tdb_pool_destroy(pool);
	}
	sink = sum;
}

typedef void (*run_fn)(enum kind k, bool with_free);

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Median seconds of RUNS timed runs of @base and of @tdb after one untimed
 * warm-up run of each.  The two sides take turns, so that a machine busy
 * with something else slows both alike.
 */
static void measure(run_fn base, run_fn tdb, enum kind k, bool with_free,
		    double *tb, double *tt)
{
	double b[RUNS], t[RUNS], t0;
	int i;

	base(k, with_free);
	tdb(k, with_free);
	for (i = 0; i < RUNS; i++) {
		t0 = now();
		base(k, with_free);
		b[i] = now() - t0;
		t0 = now();
		tdb(k, with_free);
		t[i] = now() - t0;
	}
	qsort(b, RUNS, sizeof(b[0]), cmp_double);
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	*tb = b[RUNS / 2];
	*tt = t[RUNS / 2];
}

struct bench_case {
	const char *name;
	run_fn base, tdb;
	enum kind kind;
	bool with_free;
};

static const struct bench_case cases[] = {
	{ "1 Small           [pool]", run_malloc, run_pool, SMALL, false },
	{ "2 Big             [pool]", run_malloc, run_pool, BIG, false },
	{ "3 Small, 1/4 free [pool]", run_malloc, run_pool, SMALL, true },
	{ "4 Big, 1/4 free   [pool]", run_malloc, run_pool, BIG, true },
	{ "5 Mix Small/Big   [pool]", run_malloc, run_pool, MIX, false },
	{ "6 Many pools      [pool]", run_malloc_many, run_pool_many, SMALL,
	  false },
	{ "7 Small, 1/4 free [slab]", run_malloc, run_slab, SMALL, true },
	{ "8 Big, 1/4 free   [slab]", run_malloc, run_slab, BIG, true },
};

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--quick] [-n N]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	double mops[ARRAY_SIZE(cases)][2];
	unsigned int i;
	int a;

	nr_ops = 20000000;
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--quick")) {
			nr_ops = 2000000;
		} else if (!strcmp(argv[a], "-n") && a + 1 < argc) {
			nr_ops = atol(argv[++a]);
			if (nr_ops < PER_POOL)
				usage(argv[0]);
		} else {
			usage(argv[0]);
		}
	}
	if (tdb_pcache_init()) {
		fprintf(stderr, "alloc: tdb_pcache_init failed\n");
		return 1;
	}

	printf("bench/alloc: N=%ld allocations per case, Small=%zu B, "
	       "Big=%zu B, each object written (first and last word)\n",
	       nr_ops, sizeof(struct small), sizeof(struct big));
	printf("  median of %d timed runs after 1 warm-up run (memory "
	       "already mapped on both sides), malloc and tdb runs "
	       "alternating, CLOCK_MONOTONIC\n",
	       RUNS);
	printf("  malloc: glibc malloc/free; every object is freed, the "
	       "free cost counts (1/4 free: right after its allocation)\n");
	printf("  [pool]: tdb_pool, %lu KiB chunks, destroyed at the end; "
	       "1/4 free = tdb_pool_free of the last allocation\n",
	       (PAGE_SIZE << POOL_ORDER) >> 10);
	printf("  [slab]: tdb_slab of the object size; every object freed "
	       "with tdb_slab_free, then tdb_slab_destroy\n");
	printf("  case 6: N/%d rounds; malloc: %d malloc + %d free; tdb: "
	       "tdb_pool_create(%lu KiB) + %d allocs + destroy\n",
	       PER_POOL, PER_POOL, PER_POOL,
	       (PAGE_SIZE << MANY_POOL_ORDER) >> 10, PER_POOL);
	printf("%-26s %14s %12s %11s\n", "case", "malloc Mops/s", "tdb Mops/s",
	       "tdb/malloc");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bench_case *c = &cases[i];
		double tb, tt, ops = nr_ops;

		/* Keep freed memory mapped within a case, give it back after. */
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
		measure(c->base, c->tdb, c->kind, c->with_free, &tb, &tt);
		mallopt(M_TRIM_THRESHOLD, 128 << 10);
		malloc_trim(0);
		if (c->tdb == run_pool_many)
			ops = (double)(nr_ops / PER_POOL * PER_POOL);
		printf("%-26s %14.1f %12.1f %10.2fx\n", c->name, ops / tb / 1e6,
		       ops / tt / 1e6, tb / tt);
		fflush(stdout);
		mops[i][0] = ops / tb / 1e6;
		mops[i][1] = ops / tt / 1e6;
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("result w7_case%u_malloc_mops %.2f\n", i + 1, mops[i][0]);
		printf("result w7_case%u_tdb_mops %.2f\n", i + 1, mops[i][1]);
	}
	tdb_pcache_fini();
	return 0;
}
