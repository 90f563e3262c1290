// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of core/table.c: the registry, writes and their flags, every
 * size boundary, quotas, memory accounting, scans under concurrent writes,
 * drops under concurrent readers, and loads (tables created with another
 * table's hash key, records appended in its order or not).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "table.h"
#include "table_util.h"

static struct tdb_table *new_table(const char *name, u64 quota)
{
	struct tdb_table_opts o = { .quota = quota, .mode = 0600 };

	assert_int_equal(tdb_table_create(&db, name, &o), 0);
	return table(name);
}

static int count_table(void *arg, struct tdb_table *t)
{
	(*(int *)arg)++;
	return 0;
}

static int deny_drop(void *arg, const struct tdb_table_opts *opts)
{
	(*(int *)arg)++;
	return opts->mode == 0600 ? -EACCES : 0;
}

static void test_registry(void **state)
{
	char name[TDB_NAME_MAX + 1];
	int n = 0;

	assert_int_equal(tdb_table_create(&db, "a", NULL), 0);
	assert_int_equal(tdb_table_create(&db, "a", NULL), -EEXIST);
	assert_int_equal(tdb_table_create(&db, "b.c-d_9", NULL), 0);
	assert_int_equal(tdb_table_create(&db, "", NULL), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "sp ace", NULL), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "sl/ash", NULL), -EINVAL);
	memset(name, 'x', sizeof(name));
	name[TDB_NAME_MAX - 1] = 0;
	assert_int_equal(tdb_table_create(&db, name, NULL), 0);
	name[TDB_NAME_MAX - 1] = 'x';
	name[TDB_NAME_MAX] = 0;
	assert_int_equal(tdb_table_create(&db, name, NULL), -EINVAL);

	assert_int_equal(tdb_db_for_each(&db, count_table, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(table("a"));
	assert_string_equal(tdb_table_name(table("a")), "a");
	assert_null(table("nope"));
	assert_int_equal(tdb_table_drop(&db, "a", NULL, NULL), 0);
	assert_int_equal(tdb_table_drop(&db, "a", NULL, NULL), -ENOENT);

	/* A uid's table count is capped; root's is not. */
	db.tables_per_uid = 2;
	{
		struct tdb_table_opts u = { .uid = 1000 };

		assert_int_equal(tdb_table_create(&db, "u1", &u), 0);
		assert_int_equal(tdb_table_create(&db, "u2", &u), 0);
		assert_int_equal(tdb_table_create(&db, "u3", &u), -EDQUOT);
		u.uid = 1001;
		assert_int_equal(tdb_table_create(&db, "u3", &u), 0);
		assert_int_equal(tdb_table_drop(&db, "u1", NULL, NULL), 0);
		u.uid = 1000;
		assert_int_equal(tdb_table_create(&db, "u4", &u), 0);
		assert_int_equal(tdb_table_create(&db, "r1", NULL), 0);
		assert_int_equal(tdb_table_create(&db, "r2", NULL), 0);
		assert_int_equal(tdb_table_create(&db, "r3", NULL), 0);
	}

	/* The judge sees the table's options and can refuse. */
	new_table("judged", 0);
	n = 0;
	assert_int_equal(tdb_table_drop(&db, "judged", deny_drop, &n), -EACCES);
	assert_int_equal(n, 1);
	assert_non_null(table("judged"));
	assert_int_equal(tdb_table_drop(&db, "nope", deny_drop, &n), -ENOENT);
	assert_int_equal(n, 1);
	assert_null(table("a"));
	assert_int_equal(db.ntables, 9);
}

static void test_put_get_delete(void **state)
{
	struct tdb_table *t = new_table("kv", 0);
	struct tdb_table_stats st;
	u64 v = 0, one = 1;
	int i;

	for (i = 0; i < 1000; i++)
		put_u64(t, i, i * 3);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(get_u64(t, i, &v), 0);
		assert_int_equal(v, i * 3);
	}
	assert_int_equal(get_u64(t, 1000, &v), -ENOENT);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, 1000);

	/* Flags. */
	assert_int_equal(tdb_table_put(t, &one, 8, &one, 8, TDB_PUT_CREATE),
			 -EEXIST);
	v = 1001;
	assert_int_equal(tdb_table_put(t, &v, 8, &one, 8, TDB_PUT_REPLACE),
			 -ENOENT);
	assert_int_equal(tdb_table_put(t, &v, 8, &one, 8,
				       TDB_PUT_CREATE | TDB_PUT_REPLACE),
			 -EINVAL);
	assert_int_equal(tdb_table_put(t, &v, 8, &one, 8, 0x80), -EINVAL);
	assert_int_equal(tdb_table_put(t, &v, 8, &one, 8, TDB_PUT_CREATE), 0);
	assert_int_equal(tdb_table_put(t, &one, 8, &v, 8, TDB_PUT_REPLACE), 0);
	assert_int_equal(get_u64(t, 1, &v), 0);
	assert_int_equal(v, 1001);

	for (i = 0; i < 1000; i += 2) {
		u64 k = i;

		assert_int_equal(tdb_table_delete(t, &k, 8), 0);
		assert_int_equal(tdb_table_delete(t, &k, 8), -ENOENT);
	}
	for (i = 0; i < 1000; i++)
		assert_int_equal(get_u64(t, i, &v), i % 2 ? 0 : -ENOENT);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, 501);
}

static void test_boundaries(void **state)
{
	struct tdb_table *t = new_table("bounds", 0);
	size_t big = TDB_VAL_MAX + 1;
	u8 *key = malloc(TDB_KEY_MAX + 1), *val = malloc(big), *out;
	u32 vlen = 0;

	out = malloc(big);
	memset(key, 'k', TDB_KEY_MAX + 1);
	for (size_t i = 0; i < big; i++)
		val[i] = (u8)(i * 7);

	assert_int_equal(tdb_table_put(t, key, 0, val, 1, 0), -EINVAL);
	assert_int_equal(tdb_table_put(t, NULL, 4, val, 1, 0), -EINVAL);
	assert_int_equal(tdb_table_put(t, key, TDB_KEY_MAX + 1, val, 1, 0),
			 -E2BIG);
	assert_int_equal(tdb_table_put(t, key, 8, val, TDB_VAL_MAX + 1, 0),
			 -E2BIG);
	assert_int_equal(tdb_table_read(t, key, 0, out, 8, &vlen), -EINVAL);
	assert_int_equal(tdb_table_read(t, key, TDB_KEY_MAX + 1, out, 8, &vlen),
			 -E2BIG);
	assert_int_equal(tdb_table_delete(t, key, 0), -EINVAL);
	assert_int_equal(tdb_table_delete(t, key, TDB_KEY_MAX + 1), -E2BIG);

	/* The largest key with the largest value, and an empty value. */
	assert_int_equal(tdb_table_put(t, key, TDB_KEY_MAX, val, TDB_VAL_MAX,
				       0), 0);
	assert_int_equal(tdb_table_read(t, key, TDB_KEY_MAX, out, big, &vlen),
			 0);
	assert_int_equal(vlen, TDB_VAL_MAX);
	assert_memory_equal(out, val, TDB_VAL_MAX);
	assert_int_equal(tdb_table_put(t, key, 1, val, 0, 0), 0);
	assert_int_equal(tdb_table_read(t, key, 1, out, big, &vlen), 0);
	assert_int_equal(vlen, 0);

	/* A short buffer still learns the full length. */
	assert_int_equal(tdb_table_read(t, key, TDB_KEY_MAX, out, 10, &vlen),
			 0);
	assert_int_equal(vlen, TDB_VAL_MAX);
	assert_memory_equal(out, val, 10);

	/* Replacing a large value by a small one and back. */
	assert_int_equal(tdb_table_put(t, key, TDB_KEY_MAX, val, 3, 0), 0);
	assert_int_equal(tdb_table_read(t, key, TDB_KEY_MAX, out, big, &vlen),
			 0);
	assert_int_equal(vlen, 3);
	assert_int_equal(tdb_table_put(t, key, TDB_KEY_MAX, val + 1,
				       TDB_VAL_MAX, 0), 0);
	assert_int_equal(tdb_table_read(t, key, TDB_KEY_MAX, out, big, &vlen),
			 0);
	assert_memory_equal(out, val + 1, TDB_VAL_MAX);
	assert_int_equal(tdb_table_delete(t, key, TDB_KEY_MAX), 0);
	free(key);
	free(val);
	free(out);
}

static void test_quota(void **state)
{
	const u64 quota = 256 * 1024;
	struct tdb_table *t = new_table("quota", quota);
	struct tdb_table_stats st;
	char val[4000] = { 0 };
	u64 k, n = 0, v;
	int err;

	for (k = 0;; k++) {
		err = tdb_table_put(t, &k, 8, val, 100, 0);
		if (err)
			break;
		n++;
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(n > 1000);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, n);
	assert_true(st.mem_bytes <= quota);
	/* Another record of the same size would not have fitted. */
	assert_true(st.mem_bytes + tdb_heap_usable(16 + 8 + 100) >
		    quota);
	/* Nothing stored before the refusal was lost. */
	for (k = 0; k < n; k++)
		assert_int_equal(tdb_table_read(t, &k, 8, &v, 8, &(u32){ 0 }),
				 0);
	/* Same-size replaces still work at the limit; growth does not. */
	k = 0;
	assert_int_equal(tdb_table_put(t, &k, 8, val, 100, 0), 0);
	assert_int_equal(tdb_table_put(t, &k, 8, val, 8, 0), 0);
	assert_int_equal(tdb_table_put(t, &k, 8, val, 4000, 0), -ENOSPC);
	/* Deleting makes room again. */
	for (k = 0; k < 10; k++)
		assert_int_equal(tdb_table_delete(t, &k, 8), 0);
	k = n;
	assert_int_equal(tdb_table_put(t, &k, 8, val, 100, 0), 0);
}

static void test_memory_accounting(void **state)
{
	struct tdb_table *t = new_table("mem", 0);
	struct tdb_table_stats st0, st;
	char val[100] = { 0 };
	u64 k;

	tdb_table_stats(t, &st0);
	for (k = 0; k < 10000; k++)
		assert_int_equal(tdb_table_put(t, &k, 8, val, sizeof(val), 0),
				 0);
	tdb_table_stats(t, &st);
	assert_true(st.mem_bytes >= st0.mem_bytes + 10000 * (16 + 8 + 100));
	assert_true(st.heap_bytes >= 10000 * (16 + 8 + 100));
	for (k = 0; k < 10000; k++)
		assert_int_equal(tdb_table_delete(t, &k, 8), 0);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, 0);
	/* Only the index heads remain accounted. */
	assert_true(st.mem_bytes < 16 * 2 * (u64)st.index_buckets + 64);

	/* Replacing one key over and over does not grow the heap. */
	for (k = 0; k < 200000; k++)
		assert_int_equal(tdb_table_put(t, "same", 4, &k, 8, 0), 0);
	tdb_table_flush(t);
	rcu_barrier();
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, 1);
	assert_true(st.heap_bytes < 4 << 20);
}

struct scan_state {
	u8 *seen;	/* per key: times returned */
	u64 nkeys;
	u64 stop_every;	/* stop (return 1) after this many, 0: never */
	u64 taken;
};

static int scan_take(void *arg, const struct tdb_rec *r)
{
	struct scan_state *s = arg;
	u64 k;

	if (s->stop_every && s->taken && s->taken % s->stop_every == 0) {
		s->stop_every = s->stop_every + 1;	/* vary the stops */
		return 1;
	}
	assert_int_equal(tdb_rec_klen(r), 8);
	memcpy(&k, tdb_rec_key(r), 8);
	if (k < s->nkeys)
		s->seen[k]++;
	s->taken++;
	return 0;
}

static void test_scan_static(void **state)
{
	struct tdb_table *t = new_table("scan", 0);
	struct scan_state s = { .nkeys = 50000 };
	struct tdb_cursor *c = malloc(sizeof(*c));
	int ret, calls = 0;
	u64 k;

	s.seen = calloc(s.nkeys, 1);
	for (k = 0; k < s.nkeys; k++)
		put_u64(t, k, k);
	tdb_cursor_init(c);
	s.stop_every = 997;
	do {
		ret = tdb_table_scan(t, c, scan_take, &s);
		assert_true(ret >= 0);
		calls++;
	} while (!c->done);
	assert_true(calls > 40);
	assert_int_equal(s.taken, s.nkeys);
	for (k = 0; k < s.nkeys; k++)
		assert_int_equal(s.seen[k], 1);
	/* A finished cursor stays finished. */
	assert_int_equal(tdb_table_scan(t, c, scan_take, &s), 0);
	assert_int_equal(s.taken, s.nkeys);
	free(s.seen);
	free(c);
}

struct writer_arg {
	struct tdb_table *t;
	u64 base, n;
	volatile int *stop;
	u64 writes;
};

/* Churns keys [base, base + n): inserts, replaces and deletes. */
static void *churn(void *p)
{
	struct writer_arg *w = p;
	u64 i = 0;

	rcu_register_thread();
	while (!*w->stop) {
		u64 k = w->base + (i * 7919) % w->n, v = i;

		if (i % 3 == 2)
			tdb_table_delete(w->t, &k, 8);
		else
			tdb_table_put(w->t, &k, 8, &v, 8, 0);
		WRITE_ONCE(w->writes, ++i);
	}
	rcu_unregister_thread();
	return NULL;
}

/*
 * Waits until *@count reaches @min, for at most TEST_WAIT_S seconds.
 * Threads of a test may get no CPU at all for a while on a loaded
 * machine: a test that needs them to have done something waits for it
 * instead of assuming it after a fixed time.
 */
#define TEST_WAIT_S 30
static bool wait_count(const u64 *count, u64 min)
{
	int i;

	for (i = 0; i < TEST_WAIT_S * 1000; i++) {
		if (READ_ONCE(*count) >= min)
			return true;
		usleep(1000);
	}
	return READ_ONCE(*count) >= min;
}

static void test_scan_concurrent(void **state)
{
	struct tdb_table *t = new_table("scan2", 0);
	struct scan_state s = { .nkeys = 100000 };
	struct tdb_cursor *c = malloc(sizeof(*c));
	struct writer_arg w[2];
	pthread_t th[2];
	volatile int stop = 0;
	bool started = true;
	int round, i;
	u64 k;

	s.seen = calloc(s.nkeys, 1);
	for (k = 0; k < s.nkeys; k++)
		put_u64(t, k, k);
	for (i = 0; i < 2; i++) {
		w[i] = (struct writer_arg){ .t = t, .base = s.nkeys + i * 200000,
					    .n = 200000, .stop = &stop };
		assert_int_equal(pthread_create(&th[i], NULL, churn, &w[i]), 0);
	}
	/* Both writers at work before the scans, however loaded the host. */
	for (i = 0; i < 2 && started; i++)
		started = wait_count(&w[i].writes, 1001);
	for (round = 0; started && round < 3; round++) {
		memset(s.seen, 0, s.nkeys);
		s.stop_every = 101;
		tdb_cursor_init(c);
		while (!c->done)
			assert_true(tdb_table_scan(t, c, scan_take, &s) >= 0);
		for (k = 0; k < s.nkeys; k++)
			if (s.seen[k] != 1)
				fail_msg("round %d: stable key %llu seen %u times",
					 round, (unsigned long long)k, s.seen[k]);
	}
	stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_true(w[i].writes > 1000);
	}
	assert_true(started);
	free(s.seen);
	free(c);
}

struct reader_arg {
	volatile int *stop;
	u64 reads, hits, wrong;	/* hits: READ_ONCE from the main thread */
};

/* Looks the table "victim" up and reads from it until told to stop. */
static void *reader(void *p)
{
	struct reader_arg *r = p;
	u64 k = 0, v;

	rcu_register_thread();
	while (!*r->stop) {
		struct tdb_table *t;

		rcu_read_lock();
		t = tdb_table_find(&db, "victim");
		if (t)
			tdb_table_hold(t);
		rcu_read_unlock();
		if (t) {
			u64 want = k++ % 1000;

			if (!tdb_table_read(t, &want, 8, &v, 8, &(u32){ 0 })) {
				WRITE_ONCE(r->hits, r->hits + 1);
				r->wrong += v != want;
			}
			v = k;
			tdb_table_put(t, &k, 8, &v, 8, 0);
			tdb_table_release(t);
		}
		r->reads++;
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_drop_under_readers(void **state)
{
	struct reader_arg r[3] = { 0 };
	volatile int stop = 0;
	bool starved = false;
	pthread_t th[3];
	int i, round;
	u64 k;

	for (i = 0; i < 3; i++) {
		r[i].stop = &stop;
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r[i]), 0);
	}
	for (round = 0; round < 20; round++) {
		struct tdb_table *t = new_table("victim", 0);
		u64 hits[3];

		for (i = 0; i < 3; i++)
			hits[i] = READ_ONCE(r[i].hits);
		for (k = 0; k < 1000; k++)
			put_u64(t, k, k);
		usleep(2000);
		/*
		 * Every reader has had a hit since this table came before it
		 * goes.  Without the wait, scheduling alone decided whether
		 * the readers ran at all: on a loaded machine one could get
		 * no CPU for the whole test and fail it with no hit.
		 */
		for (i = 0; i < 3 && !starved; i++)
			starved = !wait_count(&r[i].hits, hits[i] + 1);
		assert_int_equal(tdb_table_drop(&db, "victim", NULL, NULL), 0);
	}
	stop = 1;
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_true(r[i].hits > 0);
		assert_int_equal(r[i].wrong, 0);
	}
	assert_false(starved);
}

/* A holder keeps a dropped table readable; writes fail; release frees. */
static void test_drop_while_held(void **state)
{
	struct tdb_table *t = new_table("held", 0);
	u64 v = 0;
	int i;

	for (i = 0; i < 100; i++)
		put_u64(t, i, i + 7);
	/* Retired records pending in a batch hold the table as well. */
	put_u64(t, 1, 1);
	tdb_table_hold(t);
	assert_int_equal(tdb_table_drop(&db, "held", NULL, NULL), 0);
	assert_null(table("held"));
	synchronize_rcu();
	rcu_barrier();
	assert_int_equal(get_u64(t, 5, &v), 0);
	assert_int_equal(v, 12);
	v = 3;
	assert_int_equal(tdb_table_put(t, &v, 8, &v, 8, 0), -ENOENT);
	assert_int_equal(tdb_table_delete(t, &v, 8), -ENOENT);
	/* A new table of the same name is another table. */
	assert_int_equal(get_u64(new_table("held", 0), 5, &v), -ENOENT);
	tdb_table_release(t);	/* frees it: ASan checks */
}

/* Records of a table in scan (index) order: 8-byte keys and values. */
struct kv_list {
	u64 n, cap;
	u64 *k, *v;
};

static int kv_take(void *arg, const struct tdb_rec *r)
{
	struct kv_list *l = arg;

	assert_int_equal(tdb_rec_klen(r), 8);
	assert_int_equal(tdb_rec_vlen(r), 8);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->k = realloc(l->k, l->cap * 8);
		l->v = realloc(l->v, l->cap * 8);
		assert_non_null(l->k);
		assert_non_null(l->v);
	}
	memcpy(&l->k[l->n], tdb_rec_key(r), 8);
	memcpy(&l->v[l->n], tdb_rec_val(r), 8);
	l->n++;
	return 0;
}

static void kv_scan(struct tdb_table *t, struct kv_list *l)
{
	struct tdb_cursor *c = malloc(sizeof(*c));

	memset(l, 0, sizeof(*l));
	tdb_cursor_init(c);
	assert_int_equal(tdb_table_scan(t, c, kv_take, l), 0);
	assert_true(c->done);
	free(c);
}

static void kv_free(struct kv_list *l)
{
	free(l->k);
	free(l->v);
}

static struct tdb_table *new_keyed(const char *name, u64 quota,
				   const struct port_hash_key *key, u64 records)
{
	struct tdb_table_opts o = { .quota = quota, .mode = 0600 };

	assert_int_equal(tdb_table_create_keyed(&db, name, &o, key, records),
			 0);
	return table(name);
}

/*
 * A table created with another's hash key and loaded in that table's
 * scan order comes out the same: same order, same index size, same
 * memory, every record readable; then it is an ordinary table.
 */
static void test_load_keyed(void **state)
{
	const u64 n = 50000;
	struct tdb_table *src = new_table("src", 0), *dst;
	struct tdb_table_stats ss, sd;
	struct port_hash_key hk, hk2;
	struct kv_list a, b;
	u64 i, v;

	for (i = 0; i < n; i++)
		put_u64(src, i, i * 7);
	kv_scan(src, &a);
	assert_int_equal(a.n, n);
	tdb_table_hash_key(src, &hk);

	dst = new_keyed("dst", 0, &hk, n);
	tdb_table_hash_key(dst, &hk2);
	assert_memory_equal(&hk, &hk2, sizeof(hk));
	tdb_table_stats(src, &ss);
	tdb_table_stats(dst, &sd);
	assert_int_equal(sd.index_buckets, ss.index_buckets);
	assert_int_equal(sd.records, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(tdb_table_load(dst, &a.k[i], 8, &a.v[i], 8),
				 0);
	tdb_table_load_end(dst);
	tdb_table_load_end(dst);	/* a second end does nothing */

	tdb_table_stats(dst, &sd);
	assert_int_equal(sd.records, n);
	assert_int_equal(sd.index_buckets, ss.index_buckets);
	assert_int_equal(sd.index_bytes, ss.index_bytes);
	assert_int_equal(sd.mem_bytes, ss.mem_bytes);
	kv_scan(dst, &b);
	assert_int_equal(b.n, n);
	assert_memory_equal(a.k, b.k, n * 8);
	assert_memory_equal(a.v, b.v, n * 8);
	for (i = 0; i < n; i++) {
		assert_int_equal(get_u64(dst, i, &v), 0);
		assert_int_equal(v, i * 7);
	}
	kv_free(&b);

	/* From now on an ordinary table. */
	for (i = n; i < 2 * n; i++)
		put_u64(dst, i, i);
	for (i = 0; i < n; i += 2)
		assert_int_equal(tdb_table_delete(dst, &i, 8), 0);
	tdb_table_stats(dst, &sd);
	assert_int_equal(sd.records, n + n / 2);
	assert_true(sd.index_buckets > ss.index_buckets);
	for (i = 0; i < 2 * n; i++)
		assert_int_equal(get_u64(dst, i, &v),
				 i < n && !(i % 2) ? -ENOENT : 0);

	/* Create's own errors. */
	assert_int_equal(tdb_table_create_keyed(&db, "dst", NULL, &hk, 1),
			 -EEXIST);
	assert_int_equal(tdb_table_create_keyed(&db, "a/b", NULL, &hk, 1),
			 -EINVAL);
	kv_free(&a);
}

/*
 * Loads out of order, twice the same key, over the quota, into a table
 * without a key, or with a put in the middle: all end as the puts would
 * have.  Bad arguments and dropped tables fail as puts do.
 */
static void test_load_fallback(void **state)
{
	const u64 n = 20000;
	struct tdb_table *src = new_table("src", 0), *t;
	struct port_hash_key hk, hk2, zero = { { 0, 0 } };
	struct tdb_table_stats ss, st;
	struct kv_list a, b;
	u64 i, v, one = 1;
	u8 *big;

	for (i = 0; i < n; i++)
		put_u64(src, i, i * 7);
	kv_scan(src, &a);
	tdb_table_hash_key(src, &hk);
	tdb_table_stats(src, &ss);

	/* Backwards, each key twice, over a tiny quota: the last one wins. */
	t = new_keyed("back", 4096, &hk, n);
	for (i = n; i-- > 0;) {
		v = a.v[i] + 1;
		assert_int_equal(tdb_table_load(t, &a.k[i], 8, &v, 8), 0);
		assert_int_equal(tdb_table_load(t, &a.k[i], 8, &a.v[i], 8), 0);
	}
	tdb_table_load_end(t);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, n);
	assert_true(st.mem_bytes > 4096);
	assert_int_equal(st.mem_bytes, ss.mem_bytes);
	kv_scan(t, &b);
	assert_int_equal(b.n, n);
	assert_memory_equal(a.k, b.k, n * 8);
	assert_memory_equal(a.v, b.v, n * 8);
	kv_free(&b);

	/* In order, then a put, then in order again. */
	t = new_keyed("mixed", 0, &hk, n);
	for (i = 0; i < n / 2; i++)
		assert_int_equal(tdb_table_load(t, &a.k[i], 8, &a.v[i], 8), 0);
	v = n + 5;
	put_u64(t, v, v);
	for (i = n / 2; i < n; i++)
		assert_int_equal(tdb_table_load(t, &a.k[i], 8, &a.v[i], 8), 0);
	tdb_table_load_end(t);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, n + 1);
	for (i = 0; i <= n + 5; i++) {
		if (i >= n && i < n + 5)
			continue;
		assert_int_equal(get_u64(t, i, &v), 0);
		assert_int_equal(v, i < n ? i * 7 : n + 5);
	}

	/* Without a key (or the zero key): a fresh key, plain inserts. */
	t = new_keyed("nokey", 0, NULL, n);
	tdb_table_hash_key(t, &hk2);
	assert_memory_not_equal(&hk2, &zero, sizeof(zero));
	assert_memory_not_equal(&hk2, &hk, sizeof(hk));
	for (i = 0; i < n; i++)
		assert_int_equal(tdb_table_load(t, &a.k[i], 8, &a.v[i], 8), 0);
	tdb_table_load_end(t);
	tdb_table_stats(t, &st);
	assert_int_equal(st.records, n);
	t = new_keyed("zerokey", 0, &zero, 0);
	tdb_table_hash_key(t, &hk);
	assert_memory_not_equal(&hk, &zero, sizeof(zero));
	assert_memory_not_equal(&hk, &hk2, sizeof(hk));
	t = new_table("plain", 0);
	assert_int_equal(tdb_table_load(t, &one, 8, &one, 8), 0);
	assert_int_equal(get_u64(t, 1, &v), 0);
	assert_int_equal(v, 1);

	/* The put's argument errors. */
	big = calloc(1, TDB_VAL_MAX + 1);
	assert_int_equal(tdb_table_load(t, &one, 0, &one, 8), -EINVAL);
	assert_int_equal(tdb_table_load(t, NULL, 8, &one, 8), -EINVAL);
	assert_int_equal(tdb_table_load(t, big, TDB_KEY_MAX + 1, &one, 8),
			 -E2BIG);
	assert_int_equal(tdb_table_load(t, &one, 8, big, TDB_VAL_MAX + 1),
			 -E2BIG);
	assert_int_equal(tdb_table_load(t, &one, 8, NULL, 8), -EINVAL);
	assert_int_equal(tdb_table_load(t, big, TDB_KEY_MAX, big, TDB_VAL_MAX),
			 0);
	free(big);

	/* A dropped table takes no more records. */
	t = new_keyed("gone", 0, &hk, 10);
	tdb_table_hold(t);
	assert_int_equal(tdb_table_drop(&db, "gone", NULL, NULL), 0);
	assert_int_equal(tdb_table_load(t, &a.k[0], 8, &a.v[0], 8), -ENOENT);
	tdb_table_load_end(t);
	tdb_table_release(t);
	kv_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_boundaries, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_accounting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scan_static, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scan_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drop_under_readers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drop_while_held, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_keyed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_fallback, setup,
						teardown),
	};
	int ret;

	rcu_register_thread();
	tdb_pcache_init();
	ret = cmocka_run_group_tests_name("table", tests, NULL, NULL);
	tdb_pcache_fini();
	rcu_unregister_thread();
	return ret;
}
