// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of what bulk loads need from core/table.c: staging tables
 * and their names, commits by swap (under concurrent readers) and by
 * merge (with the quota checked first), key types checked on every key,
 * schemas kept with tables, longest-prefix matches through the table,
 * and the registry snapshot a checkpoint takes.
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

static struct tdb_table *create(const char *name, u32 key_type, u32 flags,
				u64 quota)
{
	struct tdb_table_opts o = {
		.quota = quota, .mode = 0600, .key_type = key_type,
		.flags = flags, .schema = "{}", .schema_len = 2,
	};

	assert_int_equal(tdb_table_create(&db, name, &o), 0);
	return table(name);
}

static u64 records(struct tdb_table *t)
{
	struct tdb_table_stats st;

	tdb_table_stats(t, &st);
	return st.records;
}

static void test_staging_names(void **state)
{
	struct tdb_table_opts o = { .flags = TDB_TABLE_STAGING };
	struct tdb_table_opts bad = { .flags = 0x40 };

	/* '~' starts a staging table's name, and no other's. */
	assert_int_equal(tdb_table_create(&db, "~abc", NULL), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "abc", &o), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "~", &o), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "~a~b", &o), -EINVAL);
	assert_int_equal(tdb_table_create(&db, "~abc", &o), 0);
	assert_int_equal(tdb_table_create(&db, "x", &bad), -EINVAL);
	/* 63 bytes with the '~'; 64 is too long. */
	assert_int_equal(tdb_table_create(&db, "~12345678901234567890123456789012345678901234567890123456789012", &o), 0);
	assert_int_equal(tdb_table_create(&db, "~123456789012345678901234567890123456789012345678901234567890123", &o), -EINVAL);
}

static void test_key_types(void **state)
{
	static const u8 net8[5] = { 10, 0, 0, 0, 8 };
	static const u8 host[5] = { 10, 1, 0, 0, 8 };
	static const u8 long33[5] = { 10, 0, 0, 0, 33 };
	static const u8 any[5] = { 0, 0, 0, 0, 0 };
	static const u8 mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct tdb_table *t = create("c4", TDB_KEY_CIDR4, 0, 0);
	struct tdb_table *m = create("m", TDB_KEY_MAC, 0, 0);
	struct tdb_table *u = create("u", TDB_KEY_U32, 0, 0);

	assert_int_equal(tdb_table_put(t, net8, 5, "", 0, 0), 0);
	assert_int_equal(tdb_table_put(t, any, 5, "", 0, 0), 0);
	assert_int_equal(tdb_table_put(t, host, 5, "", 0, 0), -EINVAL);
	assert_int_equal(tdb_table_put(t, long33, 5, "", 0, 0), -EINVAL);
	assert_int_equal(tdb_table_put(t, net8, 4, "", 0, 0), -EINVAL);
	assert_int_equal(tdb_table_delete(t, host, 5), -EINVAL);
	assert_int_equal(tdb_table_put(m, mac, 6, "", 0, 0), 0);
	assert_int_equal(tdb_table_put(m, mac, 5, "", 0, 0), -EINVAL);
	assert_int_equal(tdb_table_put(u, "abcd", 4, "", 0, 0), 0);
	assert_int_equal(tdb_table_put(u, "abcdefgh", 8, "", 0, 0), -EINVAL);
	assert_int_equal(records(t), 2);
}

/* Longest-prefix matches through the table, with puts and deletes. */
static void test_match(void **state)
{
	static const u8 p8[5] = { 10, 0, 0, 0, 8 };
	static const u8 p16[5] = { 10, 1, 0, 0, 16 };
	static const u8 p32[5] = { 10, 1, 2, 3, 32 };
	static const u8 a1[4] = { 10, 1, 2, 3 }, a2[4] = { 10, 1, 9, 9 };
	static const u8 a3[4] = { 10, 200, 0, 1 }, a4[4] = { 11, 0, 0, 0 };
	const u8 *addrs[4] = { a1, a2, a3, a4 };
	const struct tdb_rec *out[4];
	struct tdb_table *t = create("fw", TDB_KEY_CIDR4, 0, 0);
	const struct tdb_rec *r;

	assert_int_equal(tdb_table_put(t, p8, 5, "a", 1, 0), 0);
	assert_int_equal(tdb_table_put(t, p16, 5, "b", 1, 0), 0);
	assert_int_equal(tdb_table_put(t, p32, 5, "c", 1, 0), 0);
	rcu_read_lock();
	tdb_table_match_batch(t, 4, addrs, out);
	assert_memory_equal(tdb_rec_key(out[0]), p32, 5);
	assert_memory_equal(tdb_rec_key(out[1]), p16, 5);
	assert_memory_equal(tdb_rec_key(out[2]), p8, 5);
	assert_null(out[3]);
	rcu_read_unlock();

	/* A replace is seen with its new value, a delete falls back. */
	assert_int_equal(tdb_table_put(t, p16, 5, "B", 1, 0), 0);
	assert_int_equal(tdb_table_delete(t, p32, 5), 0);
	rcu_read_lock();
	r = tdb_table_match(t, a1);
	assert_non_null(r);
	assert_memory_equal(tdb_rec_key(r), p16, 5);
	assert_memory_equal(tdb_rec_val(r), "B", 1);
	rcu_read_unlock();
	tdb_table_flush(t);
}

struct swap_reader {
	volatile int *stop;
	u64 reads, olds, news, wrong, back;
};

/*
 * Reads key 7 of "t" over and over: it must always be the old table's
 * value or the new one's, and once the new one was seen, never the old.
 */
static void *swap_reader(void *p)
{
	struct swap_reader *r = p;
	bool seen_new = false;
	u64 k = 7, v;

	rcu_register_thread();
	while (!*r->stop) {
		struct tdb_table *t;
		u32 vlen = 0;

		rcu_read_lock();
		t = tdb_table_find(&db, "t");
		if (t)
			tdb_table_hold(t);
		rcu_read_unlock();
		if (!t) {
			r->wrong++;	/* the name is never missing */
			continue;
		}
		if (!tdb_table_read(t, &k, 8, &v, 8, &vlen)) {
			if (v == 1007) {
				r->olds++;
				r->back += seen_new;
			} else if (v == 2007) {
				r->news++;
				seen_new = true;
			} else {
				r->wrong++;
			}
		} else {
			r->wrong++;
		}
		tdb_table_release(t);
		r->reads++;
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_swap(void **state)
{
	struct swap_reader r = { 0 };
	volatile int stop = 0;
	struct tdb_table_opts o;
	struct tdb_table *t, *s;
	pthread_t th;
	u64 k, v;

	t = create("t", TDB_KEY_U64, 0, 0);
	for (k = 0; k < 100; k++)
		put_u64(t, k, 1000 + k);
	s = create("~s", TDB_KEY_U64, TDB_TABLE_STAGING, 0);
	for (k = 0; k < 50; k++)
		put_u64(s, k, 2000 + k);
	r.stop = &stop;
	assert_int_equal(pthread_create(&th, NULL, swap_reader, &r), 0);
	while (READ_ONCE(r.reads) < 1000)
		usleep(100);

	/* A commit meant for another incarnation of the name is refused. */
	assert_int_equal(tdb_table_swap(&db, "t", "~s", s, true), -ESTALE);
	/* Wrong pairs change nothing. */
	assert_int_equal(tdb_table_swap(&db, "t", "nope", NULL, true), -ENOENT);
	assert_int_equal(tdb_table_swap(&db, "~s", "t", NULL, true), -ENOENT);
	assert_int_equal(tdb_table_swap(&db, "t", "~s", NULL, true), 0);
	while (READ_ONCE(r.news) < 1000)
		usleep(100);
	stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.back, 0);
	assert_true(r.olds > 0);

	/* "t" is the staging table now, under its new name, flag cleared. */
	t = table("t");
	assert_ptr_equal(t, s);
	assert_null(table("~s"));
	assert_int_equal(records(t), 50);
	assert_int_equal(get_u64(t, 60, &v), -ENOENT);
	assert_int_equal(get_u64(t, 3, &v), 0);
	assert_int_equal(v, 2003);
	tdb_table_opts(t, &o);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.schema_len, 2);
	assert_int_equal(db.ntables, 1);
	/* Swapped in, it is a table like any: it takes writes. */
	put_u64(t, 60, 60);
}

static void test_merge(void **state)
{
	struct tdb_table *t, *s;
	u64 k, v;

	t = create("t", TDB_KEY_U64, 0, 0);
	for (k = 0; k < 100; k++)
		put_u64(t, k, k);
	s = create("~s", TDB_KEY_U64, TDB_TABLE_STAGING, 0);
	for (k = 50; k < 150; k++)
		put_u64(s, k, 1000 + k);
	assert_int_equal(tdb_table_merge(&db, "t", "~s", NULL, true), 0);
	assert_null(table("~s"));
	assert_ptr_equal(table("t"), t);
	assert_int_equal(records(t), 150);
	assert_int_equal(get_u64(t, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(get_u64(t, 120, &v), 0);
	assert_int_equal(v, 1120);
	assert_int_equal(get_u64(t, 50, &v), 0);
	assert_int_equal(v, 1050);
	/* A load larger than its table: the table's records go into it. */
	s = create("~big", TDB_KEY_U64, TDB_TABLE_STAGING, 0);
	for (k = 140; k < 1000; k++)
		put_u64(s, k, 2000 + k);
	assert_int_equal(tdb_table_merge(&db, "t", "~big", NULL, true), 0);
	assert_ptr_equal(table("t"), s);
	assert_null(table("~big"));
	t = s;
	assert_int_equal(records(t), 1000);
	assert_int_equal(get_u64(t, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(get_u64(t, 120, &v), 0);
	assert_int_equal(v, 1120);
	assert_int_equal(get_u64(t, 145, &v), 0);
	assert_int_equal(v, 2145);
	/* Key types must agree. */
	create("~c", TDB_KEY_CIDR4, TDB_TABLE_STAGING, 0);
	assert_int_equal(tdb_table_merge(&db, "t", "~c", NULL, true), -EINVAL);
}

/* A merge that the target's quota cannot hold is refused whole. */
static void test_merge_quota(void **state)
{
	struct tdb_table_stats st;
	struct tdb_table *t, *s;
	u64 k, before;

	t = create("t", TDB_KEY_U64, 0, 1 << 20);
	for (k = 0; k < 100; k++)
		put_u64(t, k, k);
	tdb_table_stats(t, &st);
	before = st.mem_bytes;
	s = create("~s", TDB_KEY_U64, TDB_TABLE_STAGING, 0);
	for (k = 1000; k < 30000; k++)
		put_u64(s, k, k);
	assert_int_equal(tdb_table_merge(&db, "t", "~s", NULL, true), -ENOSPC);
	assert_int_equal(records(t), 100);
	tdb_table_stats(t, &st);
	assert_int_equal(st.mem_bytes, before);
	/* The load stays, for an abort. */
	assert_non_null(table("~s"));
	/*
	 * Recovery replays what was logged: no quota there.  The load is
	 * the larger, so t's records went into it and it took t's place.
	 */
	assert_int_equal(tdb_table_merge(&db, "t", "~s", NULL, false), 0);
	assert_ptr_equal(table("t"), s);
	assert_int_equal(records(s), 29100);
}

/* A prefix table's staging index goes public with the swap. */
static void test_swap_prefix(void **state)
{
	static const u8 p[5] = { 192, 168, 0, 0, 16 };
	static const u8 a[4] = { 192, 168, 7, 7 };
	struct tdb_table *t;

	create("fw", TDB_KEY_CIDR4, 0, 0);
	t = create("~fw", TDB_KEY_CIDR4, TDB_TABLE_STAGING, 0);
	assert_int_equal(tdb_table_put(t, p, 5, "drop", 4, 0), 0);
	assert_int_equal(tdb_table_swap(&db, "fw", "~fw", NULL, true), 0);
	rcu_read_lock();
	t = tdb_table_find(&db, "fw");
	assert_non_null(tdb_table_match(t, a));
	rcu_read_unlock();
}

static int snap_names(void *arg, struct tdb_table *t)
{
	char *buf = arg;

	strcat(buf, tdb_table_name(t));
	strcat(buf, ",");
	return 0;
}

static void test_schema_and_snapshot(void **state)
{
	struct tdb_table_opts o = { .schema = "{\"a\":2}", .schema_len = 7 };
	char names[256] = "";
	struct tdb_table *t;

	create("a", TDB_KEY_BYTES, 0, 0);
	create("~b", TDB_KEY_BYTES, TDB_TABLE_STAGING, 0);
	assert_int_equal(tdb_db_snapshot(&db, snap_names, names), 0);
	assert_string_equal(names, "~b,a,");

	/* Recovery's reset of the options replaces the schema too. */
	assert_int_equal(tdb_table_set_opts(&db, "a", &o), 0);
	t = table("a");
	tdb_table_opts(t, &o);
	assert_int_equal(o.schema_len, 7);
	assert_memory_equal(o.schema, "{\"a\":2}", 7);
	/* ... but not the key type the records were made for. */
	o.key_type = TDB_KEY_U32;
	assert_int_equal(tdb_table_set_opts(&db, "a", &o), -EINVAL);
	o = (struct tdb_table_opts){ .schema_len = TDB_SCHEMA_MAX + 1,
				     .schema = "x" };
	assert_int_equal(tdb_table_create(&db, "big", &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_staging_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_key_types, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_quota, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_swap_prefix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_schema_and_snapshot,
						setup, teardown),
	};

	int ret;

	rcu_register_thread();
	tdb_pcache_init();
	ret = cmocka_run_group_tests_name("stage", tests, NULL, NULL);
	tdb_pcache_fini();
	rcu_unregister_thread();
	return ret;
}
