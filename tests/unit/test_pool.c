// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_pool.c - unit tests of core/pool.c: page cache, region pools, slabs
 * and the size-class heap, including multithreaded stress and checks that
 * create/destroy cycles do not grow the process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

#define MIB (1UL << 20)

static u64 rng_next(u64 *s)
{
	/* xorshift64*: deterministic, per thread, no locks. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Resident bytes of this process, from /proc/self/statm. */
static size_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu %lu", &size, &res), 2);
	fclose(f);
	return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void fill(void *p, size_t n, u8 seed)
{
	u8 *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (u8)(seed + i * 7);
}

static bool check(const void *p, size_t n, u8 seed)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (u8)(seed + i * 7))
			return false;
	return true;
}

static int group_setup(void **state)
{
	return tdb_pcache_init();
}

static int group_teardown(void **state)
{
	tdb_pcache_fini();
	return 0;
}

/* ---- page cache ---- */

/*
 * Reuse is per CPU: pin the thread so that put and get see the same list,
 * then restore the mask so that later threads spread over all CPUs.
 */
static void test_pcache_align_reuse(void **state)
{
	cpu_set_t old, one;
	unsigned int o;
	int cpu;

	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &old); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);

	for (o = 0; o <= TDB_PCACHE_MAX_ORDER + 3; o++) {
		size_t bytes = PAGE_SIZE << o;
		void *p = tdb_pages_get(o), *q;

		assert_non_null(p);
		assert_int_equal((uintptr_t)p & (bytes - 1), 0);
		memset(p, 0xa5, bytes);
		tdb_pages_put(p, o);
		q = tdb_pages_get(o);
		assert_non_null(q);
		assert_int_equal((uintptr_t)q & (bytes - 1), 0);
		if (o <= TDB_PCACHE_MAX_ORDER)
			assert_ptr_equal(q, p);
		memset(q, 0x5a, bytes);
		tdb_pages_put(q, o);
	}
	tdb_pages_put(NULL, 0);

	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

/* Many blocks at once: distinct, aligned, fully writable. */
static void test_pcache_many(void **state)
{
	enum { NR = 300 };
	static void *b[NR];
	unsigned int o, i, j;

	for (o = 0; o <= TDB_PCACHE_MAX_ORDER; o += 2) {
		size_t bytes = PAGE_SIZE << o;

		for (i = 0; i < NR; i++) {
			b[i] = tdb_pages_get(o);
			assert_non_null(b[i]);
			assert_int_equal((uintptr_t)b[i] & (bytes - 1), 0);
			memset(b[i], (int)i, bytes);
		}
		for (i = 0; i < NR; i++) {
			const u8 *p = b[i];

			assert_int_equal(p[0], (u8)i);
			assert_int_equal(p[bytes - 1], (u8)i);
			for (j = i + 1; j < NR; j++)
				assert_ptr_not_equal(b[i], b[j]);
		}
		for (i = 0; i < NR; i++)
			tdb_pages_put(b[i], o);
	}
}

/* ---- region pool ---- */

static void test_pool_align_distinct(void **state)
{
	enum { NR = 5000 };
	static void *p[NR];
	static size_t n[NR];
	struct tdb_pool *pool = tdb_pool_create(0);
	u64 s = 42;
	int i;

	assert_non_null(pool);
	assert_int_equal(tdb_pool_size(pool), PAGE_SIZE);
	for (i = 0; i < NR; i++) {
		n[i] = rng_next(&s) % 301;
		p[i] = tdb_pool_alloc(pool, n[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] & 7, 0);
		fill(p[i], n[i], (u8)i);
	}
	for (i = 0; i < NR; i++)
		assert_true(check(p[i], n[i], (u8)i));
	assert_true(tdb_pool_size(pool) >= NR * 150);
	assert_int_equal(tdb_pool_size(pool) % PAGE_SIZE, 0);
	tdb_pool_destroy(pool);

	/* Tiny allocations still step by 8. */
	pool = tdb_pool_create(0);
	assert_non_null(pool);
	p[0] = tdb_pool_alloc(pool, 1);
	p[1] = tdb_pool_alloc(pool, 1);
	assert_int_equal((char *)p[1] - (char *)p[0], 8);
	tdb_pool_destroy(pool);
	tdb_pool_destroy(NULL);
}

static void test_pool_free_last(void **state)
{
	struct tdb_pool *pool = tdb_pool_create(0);
	char *a, *b, *c, *x, *y, *z;

	assert_non_null(pool);
	a = tdb_pool_alloc(pool, 24);
	tdb_pool_free(pool, a, 24);
	b = tdb_pool_alloc(pool, 24);
	assert_ptr_equal(a, b);

	/* A size that is not a multiple of 8 is rounded the same way. */
	c = tdb_pool_alloc(pool, 13);
	tdb_pool_free(pool, c, 13);
	assert_ptr_equal(tdb_pool_alloc(pool, 13), c);

	/* Freeing anything but the last allocation changes nothing. */
	x = tdb_pool_alloc(pool, 24);
	y = tdb_pool_alloc(pool, 24);
	tdb_pool_free(pool, x, 24);
	z = tdb_pool_alloc(pool, 24);
	assert_ptr_equal(z, y + 24);

	/* Freeing several last allocations in turn unwinds them all. */
	tdb_pool_free(pool, z, 24);
	tdb_pool_free(pool, y, 24);
	tdb_pool_free(pool, x, 24);
	assert_ptr_equal(tdb_pool_alloc(pool, 72), x);
	tdb_pool_free(pool, NULL, 10);
	tdb_pool_destroy(pool);
}

static void test_pool_realloc(void **state)
{
	struct tdb_pool *pool = tdb_pool_create(0);
	char *a, *b, *c, *d, *e, *f, *g, *h, *k;
	size_t size;

	assert_non_null(pool);
	a = tdb_pool_alloc(pool, 100);
	fill(a, 100, 1);
	b = tdb_pool_realloc(pool, a, 100, 200);
	assert_ptr_equal(b, a); /* last: grows in place */
	fill(b, 200, 2);
	c = tdb_pool_alloc(pool, 8);
	d = tdb_pool_realloc(pool, b, 200, 400);
	assert_ptr_not_equal(d, b); /* not last: moves */
	assert_true(check(d, 200, 2));
	assert_ptr_equal(d, c + 8);
	fill(d, 400, 3);
	e = tdb_pool_realloc(pool, d, 400, 3500);
	assert_ptr_equal(e, d); /* still fits the first chunk */
	assert_true(check(e, 400, 3));
	fill(e, 3500, 4);

	/* Shrinking never moves. */
	assert_ptr_equal(tdb_pool_realloc(pool, b, 200, 50), b);

	/* Past the chunk's end: moves to a new chunk. */
	size = tdb_pool_size(pool);
	f = tdb_pool_realloc(pool, e, 3500, 4000);
	assert_ptr_not_equal(f, e);
	assert_true(check(f, 3500, 4));
	assert_int_equal(tdb_pool_size(pool), size + PAGE_SIZE);
	fill(f, 4000, 5);

	/* Larger than a chunk: a block of its own (8 KiB for 5000 bytes). */
	size = tdb_pool_size(pool);
	g = tdb_pool_realloc(pool, f, 4000, 5000);
	assert_true(check(g, 4000, 5));
	assert_int_equal(tdb_pool_size(pool), size + 2 * PAGE_SIZE);
	/* The 4000 bytes left behind were last: they are reused. */
	assert_ptr_equal(tdb_pool_alloc(pool, 8), f);
	fill(g, 5000, 6);
	h = tdb_pool_realloc(pool, g, 5000, 8000);
	assert_ptr_equal(h, g); /* within its own block */
	assert_true(check(h, 5000, 6));
	fill(h, 8000, 7);
	size = tdb_pool_size(pool);
	k = tdb_pool_realloc(pool, h, 8000, 20000);
	assert_ptr_not_equal(k, h);
	assert_true(check(k, 8000, 7));
	/* The old 8 KiB block went back, a 32 KiB one came. */
	assert_int_equal(tdb_pool_size(pool),
			 size - 2 * PAGE_SIZE + 8 * PAGE_SIZE);
	/* NULL reallocates as an allocation. */
	a = tdb_pool_realloc(pool, NULL, 0, 16);
	assert_non_null(a);
	tdb_pool_destroy(pool);
}

static void test_pool_large(void **state)
{
	struct tdb_pool *pool = tdb_pool_create(1);
	size_t base, n = 3 * (PAGE_SIZE << 1);
	char *small, *big, *big2, *after;

	assert_non_null(pool);
	base = tdb_pool_size(pool);
	assert_int_equal(base, PAGE_SIZE << 1);
	small = tdb_pool_alloc(pool, 64);
	big = tdb_pool_alloc(pool, n);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big & 7, 0);
	fill(big, n, 9);
	assert_int_equal(tdb_pool_size(pool), base + (PAGE_SIZE << 3));
	/* The current chunk keeps serving small requests. */
	after = tdb_pool_alloc(pool, 64);
	assert_ptr_equal(after, small + 64);
	big2 = tdb_pool_alloc(pool, MIB);
	fill(big2, MIB, 10);
	assert_true(check(big, n, 9));
	assert_true(check(big2, MIB, 10));
	/* The newest large block is given back; older ones are not. */
	tdb_pool_free(pool, big, n);
	assert_int_equal(tdb_pool_size(pool),
			 base + (PAGE_SIZE << 3) + (PAGE_SIZE << 9));
	tdb_pool_free(pool, big2, MIB);
	assert_int_equal(tdb_pool_size(pool), base + (PAGE_SIZE << 3));
	tdb_pool_free(pool, big, n);
	assert_int_equal(tdb_pool_size(pool), base);
	assert_null(tdb_pool_alloc(pool, (size_t)-1));
	assert_null(tdb_pool_alloc(pool, (size_t)-1 - 6));
	tdb_pool_destroy(pool);
}

/* Pools created and destroyed many times do not grow the process. */
static void test_pool_cycles(void **state)
{
	size_t before, after;
	int i, j;

	/* Warm up, so that the port's arenas exist before measuring. */
	for (i = 0; i < 2; i++) {
		struct tdb_pool *pool = tdb_pool_create(0);

		for (j = 0; j < 2000; j++)
			memset(tdb_pool_alloc(pool, 24), 1, 24);
		memset(tdb_pool_alloc(pool, 100000), 1, 100000);
		tdb_pool_destroy(pool);
	}
	before = rss_bytes();
	for (i = 0; i < 20000; i++) {
		struct tdb_pool *pool = tdb_pool_create(0);

		assert_non_null(pool);
		for (j = 0; j < 2000; j++)
			memset(tdb_pool_alloc(pool, 24), 1, 24);
		memset(tdb_pool_alloc(pool, 100000), 1, 100000);
		assert_true(tdb_pool_size(pool) >= 2000 * 24 + 100000);
		tdb_pool_destroy(pool);
	}
	after = rss_bytes();
	/* A leak would be 20000 * 180 KiB = 3.4 GiB. */
	assert_true(after < before + 16 * MIB);
}

/* ---- slab ---- */

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* @nr objects of @size: distinct, aligned, not overlapping, kept intact. */
static void slab_exercise(size_t size, int nr)
{
	struct tdb_slab *slab = tdb_slab_create(size);
	void **p = calloc((size_t)nr, sizeof(*p));
	size_t full, block = 0, align = size % 16 ? 8 : 16;
	size_t rs = (size + 7) & ~7UL;
	void *again;
	int i;

	assert_non_null(slab);
	assert_non_null(p);
	assert_int_equal(tdb_slab_size(slab), 0);
	for (i = 0; i < nr; i++) {
		p[i] = tdb_slab_alloc(slab);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] & (align - 1), 0);
		fill(p[i], size, (u8)i);
		if (!i)
			block = tdb_slab_size(slab);
	}
	for (i = 0; i < nr; i++)
		assert_true(check(p[i], size, (u8)i));
	full = tdb_slab_size(slab);
	assert_true(full >= (size_t)nr * size);
	/* Objects are packed: less than 1/8 lost (for nr large enough). */
	if (nr >= 1000)
		assert_true(full <= (size_t)nr * rs * 9 / 8 + (64 << 10));
	qsort(p, (size_t)nr, sizeof(*p), cmp_ptr);
	for (i = 1; i < nr; i++)
		assert_true((uintptr_t)p[i] - (uintptr_t)p[i - 1] >= size);

	/* The last freed object is the next one handed out. */
	tdb_slab_free(slab, p[nr / 2]);
	again = tdb_slab_alloc(slab);
	assert_ptr_equal(again, p[nr / 2]);

	for (i = 0; i < nr; i += 2)
		tdb_slab_free(slab, p[i]);
	for (i = 1; i < nr; i += 2)
		tdb_slab_free(slab, p[i]);
	tdb_slab_free(slab, NULL);
	/* Empty blocks went back but for one cached. */
	assert_int_equal(tdb_slab_size(slab), block);
	assert_int_equal(full % block, 0);
	/* Reuse after everything was freed. */
	for (i = 0; i < nr; i++) {
		p[i] = tdb_slab_alloc(slab);
		assert_non_null(p[i]);
		fill(p[i], size, (u8)(i + 1));
	}
	for (i = 0; i < nr; i++)
		assert_true(check(p[i], size, (u8)(i + 1)));
	assert_int_equal(tdb_slab_size(slab), full);
	/* Destroy with every object still live. */
	tdb_slab_destroy(slab);
	free(p);
}

static void test_slab_basic(void **state)
{
	slab_exercise(24, 20000);
	slab_exercise(144, 20000);
}

static void test_slab_sizes(void **state)
{
	static const size_t sizes[] = {
		1, 8, 12, 16, 100, 240, 1000, 4096, 5000, 16384, 70000,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		slab_exercise(sizes[i], sizes[i] > 10000 ? 100 : 2000);
	slab_exercise(3 * MIB, 3);
	assert_null(tdb_slab_create(5 * MIB));
	tdb_slab_destroy(NULL);
}

/* ---- heap ---- */

#define HEAP_MAX_CLASS 16384

static void test_heap_classes(void **state)
{
	size_t n, u, prev = 0;

	for (n = 0; n <= HEAP_MAX_CLASS; n++) {
		u = tdb_heap_usable(n);
		assert_true(u >= n && u >= 8);
		assert_int_equal(u % 8, 0);
		assert_true(u >= prev);
		/* A class size maps to itself. */
		assert_int_equal(tdb_heap_usable(u), u);
		if (n <= 128)
			assert_true(u < n + 8 || n == 0);
		else
			assert_true(8 * u <= 9 * n + 128);
		prev = u;
	}
	assert_int_equal(tdb_heap_usable(1), 8);
	assert_int_equal(tdb_heap_usable(8), 8);
	assert_int_equal(tdb_heap_usable(9), 16);
	assert_int_equal(tdb_heap_usable(128), 128);
	assert_int_equal(tdb_heap_usable(129), 144);
	assert_true(tdb_heap_usable(132) <= 144);
	assert_int_equal(tdb_heap_usable(256), 256);
	assert_int_equal(tdb_heap_usable(257), 288);
	assert_int_equal(tdb_heap_usable(HEAP_MAX_CLASS), HEAP_MAX_CLASS);
	/* Past the largest class: exact size plus a header, in pages. */
	u = tdb_heap_usable(HEAP_MAX_CLASS + 1);
	assert_true(u > HEAP_MAX_CLASS + 1);
	assert_int_equal(u % PAGE_SIZE, 0);
	assert_int_equal(tdb_heap_usable(MIB + 1040), MIB + PAGE_SIZE);
	assert_int_equal(tdb_heap_usable(MIB), MIB + PAGE_SIZE);
	assert_int_equal(tdb_heap_usable(MIB - 64), MIB);
	assert_int_equal(tdb_heap_usable((size_t)-1), 0);
}

static void test_heap_boundaries(void **state)
{
	/* clang-format off */
	static const size_t sizes[] = {
		0, 1, 7, 8, 9, 16, 17, 120, 127, 128, 129, 132, 144, 145,
		255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2048, 2049,
		4095, 4096, 4097, 8191, 8192, 8193, 12288, 16383, 16384,
		16385, 20000, 65536, 65537, MIB, MIB + 1040,
	};
	/* clang-format on */
	struct tdb_heap *heap = tdb_heap_create();
	void *p[ARRAY_SIZE(sizes)][3];
	unsigned int i, j;

	assert_non_null(heap);
	assert_int_equal(tdb_heap_size(heap), 0);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < 3; j++) {
			p[i][j] = tdb_heap_alloc(heap, sizes[i]);
			assert_non_null(p[i][j]);
			assert_int_equal((uintptr_t)p[i][j] & 7, 0);
			if (tdb_heap_usable(sizes[i]) % 16 == 0)
				assert_int_equal((uintptr_t)p[i][j] & 15, 0);
			fill(p[i][j], sizes[i], (u8)(i * 3 + j));
		}
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (j = 0; j < 3; j++)
			assert_true(check(p[i][j], sizes[i], (u8)(i * 3 + j)));
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (j = 0; j < 3; j++)
			tdb_heap_free(heap, p[i][j], sizes[i]);
	tdb_heap_free(heap, NULL, 10);
	tdb_heap_free(heap, NULL, 10 * MIB);
	tdb_heap_destroy(heap);
}

static void test_heap_size(void **state)
{
	struct tdb_heap *heap = tdb_heap_create();
	size_t one, with_large;
	void *a, *b, *c;

	assert_non_null(heap);
	a = tdb_heap_alloc(heap, MIB + 1040);
	assert_int_equal(tdb_heap_size(heap), MIB + PAGE_SIZE);
	tdb_heap_free(heap, a, MIB + 1040);
	assert_int_equal(tdb_heap_size(heap), 0);

	a = tdb_heap_alloc(heap, 132);
	one = tdb_heap_size(heap);
	assert_true(one >= 144 && one <= 64 * 1024);
	b = tdb_heap_alloc(heap, 140); /* same class, same block */
	assert_int_equal(tdb_heap_size(heap), one);
	tdb_heap_free(heap, a, 132);
	tdb_heap_free(heap, b, 140);
	/* The empty block stays cached for the next allocation. */
	assert_int_equal(tdb_heap_size(heap), one);
	c = tdb_heap_alloc(heap, 130);
	assert_int_equal(tdb_heap_size(heap), one);

	/* Destroy with live small and large objects (ASan checks leaks). */
	a = tdb_heap_alloc(heap, MIB + 1040);
	b = tdb_heap_alloc(heap, 20000);
	assert_non_null(a);
	assert_non_null(b);
	with_large = tdb_heap_size(heap);
	assert_int_equal(with_large, one + tdb_heap_usable(MIB + 1040) +
					     tdb_heap_usable(20000));
	assert_int_equal(tdb_heap_usable(20000), 5 * PAGE_SIZE);
	memset(a, 1, MIB + 1040);
	memset(b, 2, 20000);
	memset(c, 3, 130);
	tdb_heap_destroy(heap);
	tdb_heap_destroy(NULL);
}

/* Heaps with live records created and dropped do not grow the process. */
static void test_heap_cycles(void **state)
{
	size_t before = 0, after;
	int i, j;

	for (i = 0; i < 3000; i++) {
		struct tdb_heap *heap = tdb_heap_create();
		struct tdb_slab *slab = tdb_slab_create(48);

		if (i == 100)
			before = rss_bytes();
		assert_non_null(heap);
		assert_non_null(slab);
		for (j = 0; j < 500; j++) {
			memset(tdb_heap_alloc(heap, 132), 1, 132);
			memset(tdb_slab_alloc(slab), 2, 48);
		}
		memset(tdb_heap_alloc(heap, 100000), 3, 100000);
		tdb_heap_destroy(heap);
		tdb_slab_destroy(slab);
	}
	after = rss_bytes();
	/*
	 * A leak would be 2900 * 220 KiB = 620 MiB.  Under ASan, freed large
	 * blocks wait in its quarantine (256 MiB at most) before reuse.
	 */
#ifdef __SANITIZE_ADDRESS__
	assert_true(after < before + 320 * MIB);
#else
	assert_true(after < before + 32 * MIB);
#endif
}

/* ---- multithreaded stress ---- */

#define MT_THREADS 4
#define MT_SLOTS 1024
#define MT_ITERS 300000

struct mt_arg {
	struct tdb_slab *slab;
	struct tdb_heap *heap;
	size_t obj_size;
	unsigned int id;
	long errors;
};

struct mt_obj {
	void *p;
	size_t n;
	u8 seed;
};

static size_t mt_heap_size(u64 *s)
{
	u64 r = rng_next(s);

	switch (r % 16) {
	case 0:
		return 16385 + (r >> 8) % 60000; /* large */
	case 1:
	case 2:
		return 1000 + (r >> 8) % 15385;
	default:
		return (r >> 8) % 300;
	}
}

static void *mt_worker(void *arg)
{
	struct mt_arg *a = arg;
	struct mt_obj *o = calloc(MT_SLOTS, sizeof(*o));
	u64 s = 0x9e3779b97f4a7c15ULL * (a->id + 1);
	int i;

	if (!o) {
		a->errors++;
		return NULL;
	}
	for (i = 0; i < MT_ITERS; i++) {
		struct mt_obj *x = &o[rng_next(&s) % MT_SLOTS];

		if (x->p) {
			if (!check(x->p, x->n, x->seed))
				a->errors++;
			if (a->slab)
				tdb_slab_free(a->slab, x->p);
			else
				tdb_heap_free(a->heap, x->p, x->n);
			x->p = NULL;
			continue;
		}
		if (a->slab) {
			x->n = a->obj_size;
			x->p = tdb_slab_alloc(a->slab);
		} else {
			x->n = mt_heap_size(&s);
			x->p = tdb_heap_alloc(a->heap, x->n);
		}
		if (!x->p) {
			a->errors++;
			continue;
		}
		x->seed = (u8)(a->id * 64 + i);
		fill(x->p, x->n, x->seed);
	}
	for (i = 0; i < MT_SLOTS; i++) {
		if (!o[i].p)
			continue;
		if (!check(o[i].p, o[i].n, o[i].seed))
			a->errors++;
		if (a->slab)
			tdb_slab_free(a->slab, o[i].p);
		else
			tdb_heap_free(a->heap, o[i].p, o[i].n);
	}
	free(o);
	return NULL;
}

static void run_mt(struct tdb_slab *slab, struct tdb_heap *heap, size_t sz)
{
	pthread_t t[MT_THREADS];
	struct mt_arg a[MT_THREADS];
	unsigned int i;

	for (i = 0; i < MT_THREADS; i++) {
		a[i] = (struct mt_arg){
			.slab = slab, .heap = heap, .obj_size = sz, .id = i
		};
		assert_int_equal(pthread_create(&t[i], NULL, mt_worker, &a[i]),
				 0);
	}
	for (i = 0; i < MT_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].errors, 0);
	}
}

static void test_slab_mt(void **state)
{
	struct tdb_slab *slab = tdb_slab_create(40);
	size_t block;

	assert_non_null(slab);
	run_mt(slab, NULL, 40);
	/* Everything was freed: at most the cached empty block remains. */
	block = tdb_slab_size(slab);
	assert_true(block <= 64 * 1024);
	tdb_slab_destroy(slab);
}

static void test_heap_mt(void **state)
{
	struct tdb_heap *heap = tdb_heap_create();

	assert_non_null(heap);
	run_mt(NULL, heap, 0);
	/* No large block is left; each class keeps one empty block at most. */
	assert_true(tdb_heap_size(heap) <= 72 * 256 * 1024);
	tdb_heap_destroy(heap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcache_align_reuse),
		cmocka_unit_test(test_pcache_many),
		cmocka_unit_test(test_pool_align_distinct),
		cmocka_unit_test(test_pool_free_last),
		cmocka_unit_test(test_pool_realloc),
		cmocka_unit_test(test_pool_large),
		cmocka_unit_test(test_pool_cycles),
		cmocka_unit_test(test_slab_basic),
		cmocka_unit_test(test_slab_sizes),
		cmocka_unit_test(test_heap_classes),
		cmocka_unit_test(test_heap_boundaries),
		cmocka_unit_test(test_heap_size),
		cmocka_unit_test(test_heap_cycles),
		cmocka_unit_test(test_slab_mt),
		cmocka_unit_test(test_heap_mt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
