/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * table_util.h - what the unit tests of core/table.c (test_table.c,
 * test_stage.c) share: a registry of tables, db, set up and torn down
 * around each test, and helpers on tables of u64 keys and values.
 * Included by one test program each: all here is static.
 */
#ifndef TDB_TEST_TABLE_UTIL_H
#define TDB_TEST_TABLE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "table.h"

static struct tdb_db db;

/* cmocka's setup and teardown of each test: a fresh, empty db. */
static inline int setup(void **state)
{
	(void)state;
	return tdb_db_init(&db);
}

static inline int teardown(void **state)
{
	(void)state;
	tdb_db_fini(&db);
	return 0;
}

/* The table @name of db, or NULL. */
static inline struct tdb_table *table(const char *name)
{
	struct tdb_table *t;

	rcu_read_lock();
	t = tdb_table_find(&db, name);
	rcu_read_unlock();
	return t;
}

/* Puts the record @k -> @v, which must succeed. */
static inline void put_u64(struct tdb_table *t, u64 k, u64 v)
{
	assert_int_equal(tdb_table_put(t, &k, sizeof(k), &v, sizeof(v), 0), 0);
}

/* Reads the value of @k into @v: 0 (the value being 8 bytes), or -errno. */
static inline int get_u64(struct tdb_table *t, u64 k, u64 *v)
{
	u32 vlen = 0;
	int err = tdb_table_read(t, &k, sizeof(k), v, sizeof(*v), &vlen);

	if (!err)
		assert_int_equal(vlen, sizeof(*v));
	return err;
}

#endif /* TDB_TEST_TABLE_UTIL_H */
