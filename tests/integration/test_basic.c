// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Integration tests of libtdb against a running owner (TDB_SOCKET): tables,
 * records and their flags, every size boundary (keys, values, frames),
 * error codes and their messages, scans (exactly once, also while another
 * connection writes), the batched API (also when a value cannot be
 * allocated), and fork().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "harness.h"

#define MIB (1024 * 1024)

/*
 * Fault injection without LD_PRELOAD: the program's own malloc() comes
 * before the C library's for every caller, libtdb.a included, and forwards
 * to glibc's allocator, so free() and realloc() need no replacement.  The
 * next malloc() of exactly @fail_size bytes fails.  Not under
 * AddressSanitizer, whose allocator must see every block: test_batch_nomem
 * is skipped there.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_FAULTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALLOC_FAULTS 0
#endif
#endif
#if !defined(MALLOC_FAULTS) && defined(__GLIBC__)
#define MALLOC_FAULTS 1
#endif
#ifndef MALLOC_FAULTS
#define MALLOC_FAULTS 0
#endif

static size_t fail_size;

#if MALLOC_FAULTS
extern void *__libc_malloc(size_t size);

void *malloc(size_t size)
{
	if (size && size == fail_size) {
		fail_size = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}
#endif

static struct tdb *db;
static uint8_t *vbuf;		/* 1 MiB + a page: values read back */
static uint8_t *wbuf;		/* 1 MiB + a page: values written */
static uint32_t frame_size;	/* learned from a raw handshake */

static int setup(void **state)
{
	struct raw r;
	int rc;

	(void)state;
	vbuf = malloc(MIB + 4096);
	wbuf = malloc(MIB + 4096);
	if (!vbuf || !wbuf)
		return -1;
	rc = h_connect(&db);
	if (rc) {
		fprintf(stderr, "tdb_connect(%s): %d %s\n", h_socket_path(), rc,
			tdb_strerror(rc));
		return -1;
	}
	rc = raw_open(&r);
	if (rc == 0) {
		frame_size = r.fsz;
		raw_close(&r);
	} else {
		fprintf(stderr, "raw handshake failed (%d): frame size unknown\n",
			rc);
		raw_close(&r);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdb_close(db);
	free(vbuf);
	free(wbuf);
	return 0;
}

static const char *new_table(char *buf, size_t cap, const char *prefix,
			     uint32_t durability)
{
	struct tdb_create_opts o = { .durability = durability };

	h_table(buf, cap, prefix);
	assert_int_equal(tdb_create(db, buf, &o), 0);
	return buf;
}

/* Reads @key back and compares it with @len bytes made from @seed. */
static void check_value(const char *t, const void *key, size_t klen,
			 size_t len, uint64_t seed)
{
	size_t vlen = (size_t)-1;

	assert_int_equal(tdb_get(db, t, key, klen, vbuf, MIB + 4096, &vlen),
			 0);
	assert_int_equal(vlen, len);
	h_fill(wbuf, len, seed);
	assert_memory_equal(vbuf, wbuf, len);
}

static void put_seeded(const char *t, const void *key, size_t klen,
		       size_t len, uint64_t seed)
{
	h_fill(wbuf, len, seed);
	assert_int_equal(tdb_put(db, t, key, klen, wbuf, len, 0), 0);
}

/* A put and a get through @c in a table of its own. */
static void normal_check(struct tdb *c)
{
	char t[64];
	char v[8];
	size_t vlen;

	h_table(t, sizeof(t), "basic_chk");
	assert_int_equal(tdb_create(c, t, NULL), 0);
	assert_int_equal(tdb_put(c, t, "k", 1, "value", 5, 0), 0);
	assert_int_equal(tdb_get(c, t, "k", 1, v, sizeof(v), &vlen), 0);
	assert_int_equal(vlen, 5);
	assert_memory_equal(v, "value", 5);
	assert_int_equal(tdb_drop(c, t), 0);
}

/* ---- errors ------------------------------------------------------------- */

static void test_strerror(void **state)
{
	static const int errs[] = { ENOENT, EEXIST,	EACCES,	    E2BIG,
				    EINVAL, ENOSPC,	EPROTO,	    ECONNRESET,
				    EPIPE,  ECHILD,	ENOMEM,	    EIO };
	const char *msg[sizeof(errs) / sizeof(errs[0])];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		msg[i] = tdb_strerror(-errs[i]);
		assert_non_null(msg[i]);
		assert_true(strlen(msg[i]) > 0);
		for (j = 0; j < i; j++)
			/* tdb.h groups these two: "the owner closed ..." */
			if (strcmp(msg[i], msg[j]) == 0 &&
			    !(errs[i] == EPIPE && errs[j] == ECONNRESET))
				fail_msg("tdb_strerror(-%d) == tdb_strerror(-%d) "
					 "== \"%s\"", errs[i], errs[j], msg[i]);
	}
	/* positive values are taken as their negation */
	assert_string_equal(tdb_strerror(ENOENT), tdb_strerror(-ENOENT));
	assert_non_null(tdb_strerror(0));
	assert_non_null(tdb_strerror(-99999));
	assert_true(strlen(tdb_strerror(-99999)) > 0);
}

/* ---- tables ------------------------------------------------------------- */

static void test_tables(void **state)
{
	char t[64], t2[64], name63[80];
	struct tdb_table_info info, *list = NULL;
	struct tdb_create_opts o = { .quota = 1 << 20, .mode = 0640,
				     .key_type = TDB_KEY_STR,
				     .durability = TDB_DUR_MEMORY };
	struct tdb_stats st0, st1;
	int n, i, found = 0, found2 = 0;

	(void)state;
	assert_int_equal(tdb_stats(db, &st0), 0);
	assert_true(st0.connections >= 1);

	h_table(t, sizeof(t), "basic_tab");
	h_table(t2, sizeof(t2), "basic_tab_opts");
	assert_int_equal(tdb_info(db, t, &info), -ENOENT);
	assert_int_equal(tdb_drop(db, t), -ENOENT);
	assert_int_equal(tdb_create(db, t, NULL), 0);
	assert_int_equal(tdb_create(db, t, NULL), -EEXIST);
	assert_int_equal(tdb_create(db, t2, &o), 0);

	/* Defaults: 0600, owned by the caller, bytes keys, async. */
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_string_equal(info.name, t);
	assert_int_equal(info.records, 0);
	assert_int_equal(info.quota, 0);
	assert_int_equal(info.mode & 07777, 0600);
	assert_int_equal(info.uid, getuid());
	assert_int_equal(info.gid, getgid());
	assert_int_equal(info.key_type, TDB_KEY_BYTES);
	assert_int_equal(info.durability, TDB_DUR_ASYNC);

	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(tdb_info(db, t2, &info), 0);
	assert_string_equal(info.name, t2);
	assert_int_equal(info.quota, 1 << 20);
	assert_int_equal(info.mode & 07777, 0640);
	assert_int_equal(info.key_type, TDB_KEY_STR);
	assert_int_equal(info.durability, TDB_DUR_MEMORY);

	/* Records and memory show in info. */
	put_seeded(t, "a", 1, 1000, 1);
	put_seeded(t, "b", 1, 1000, 2);
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, 2);
	assert_true(info.mem_bytes >= 2000);

	n = tdb_tables(db, &list);
	assert_true(n >= 2);
	assert_non_null(list);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].name, t) == 0) {
			found++;
			assert_int_equal(list[i].records, 2);
			assert_int_equal(list[i].mode & 07777, 0600);
		}
		if (strcmp(list[i].name, t2) == 0) {
			found2++;
			assert_int_equal(list[i].key_type, TDB_KEY_STR);
		}
	}
	free(list);
	assert_int_equal(found, 1);
	assert_int_equal(found2, 1);

	assert_int_equal(tdb_stats(db, &st1), 0);
	assert_true(st1.tables >= st0.tables + 2);
	assert_true(st1.requests > st0.requests);
	assert_true(st1.mem_bytes > 0);

	/* Bad options. */
	{
		struct tdb_create_opts bad = { .mode = 01777 };

		h_table(name63, sizeof(name63), "basic_badopt");
		assert_int_equal(tdb_create(db, name63, &bad), -EINVAL);
		bad.mode = 0600;
		bad.key_type = 99;
		assert_int_equal(tdb_create(db, name63, &bad), -EINVAL);
		bad.key_type = TDB_KEY_BYTES;
		bad.durability = 99;
		assert_int_equal(tdb_create(db, name63, &bad), -EINVAL);
		assert_int_equal(tdb_info(db, name63, &info), -ENOENT);
	}

	/* Bad names. */
	assert_int_equal(tdb_create(db, "", NULL), -EINVAL);
	assert_int_equal(tdb_create(db, "has space", NULL), -EINVAL);
	assert_int_equal(tdb_create(db, "has/slash", NULL), -EINVAL);
	memset(name63, 'n', 64);
	name63[64] = 0;		/* 64 characters: one too many */
	assert_int_equal(tdb_create(db, name63, NULL), -EINVAL);
	/* 63: the longest */
	snprintf(name63, sizeof(name63), "N%d.", (int)getpid());
	memset(name63 + strlen(name63), 'x', 63 - strlen(name63));
	name63[63] = 0;
	assert_int_equal(strlen(name63), 63);
	assert_int_equal(tdb_create(db, name63, NULL), 0);
	assert_int_equal(tdb_info(db, name63, &info), 0);
	assert_string_equal(info.name, name63);
	assert_int_equal(tdb_drop(db, name63), 0);

	/* Drop removes the table and its records. */
	assert_int_equal(tdb_drop(db, t), 0);
	assert_int_equal(tdb_drop(db, t), -ENOENT);
	assert_int_equal(tdb_info(db, t, &info), -ENOENT);
	assert_int_equal(tdb_get(db, t, "a", 1, vbuf, 16, NULL), -ENOENT);
	assert_int_equal(tdb_create(db, t, NULL), 0);
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, 0);
	assert_int_equal(tdb_get(db, t, "a", 1, vbuf, 16, NULL), -ENOENT);
	assert_int_equal(tdb_drop(db, t), 0);
	assert_int_equal(tdb_drop(db, t2), 0);

	n = tdb_tables(db, &list);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		assert_string_not_equal(list[i].name, t);
		assert_string_not_equal(list[i].name, t2);
	}
	free(list);
}

/* ---- records ------------------------------------------------------------ */

static void test_records(void **state)
{
	char t[64];
	size_t vlen;
	void *p = NULL;
	struct tdb_table_info info;
	int rc;

	(void)state;
	new_table(t, sizeof(t), "basic_rec", TDB_DUR_ASYNC);

	/* Missing table, missing key. */
	assert_int_equal(tdb_put(db, "no_such_table_xyz", "k", 1, "v", 1, 0),
			 -ENOENT);
	assert_int_equal(tdb_get(db, "no_such_table_xyz", "k", 1, vbuf, 16,
				 &vlen), -ENOENT);
	assert_int_equal(tdb_del(db, "no_such_table_xyz", "k", 1), -ENOENT);
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 16, &vlen), -ENOENT);
	assert_int_equal(tdb_del(db, t, "k", 1), -ENOENT);

	/* put, get, replace, del. */
	assert_int_equal(tdb_put(db, t, "k", 1, "hello", 5, 0), 0);
	vlen = 0;
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 64, &vlen), 0);
	assert_int_equal(vlen, 5);
	assert_memory_equal(vbuf, "hello", 5);
	assert_int_equal(tdb_put(db, t, "k", 1, "world!", 6, 0), 0);
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 64, &vlen), 0);
	assert_int_equal(vlen, 6);
	assert_memory_equal(vbuf, "world!", 6);

	/* A short buffer: the prefix, and the full length to retry with. */
	memset(vbuf, 0, 64);
	vlen = 0;
	rc = tdb_get(db, t, "k", 1, vbuf, 3, &vlen);
	assert_int_equal(rc, 0);	/* tdb.h: compare *vlen with cap */
	assert_int_equal(vlen, 6);
	assert_memory_equal(vbuf, "wor", 3);
	assert_int_equal(vbuf[3], 0);	/* nothing past cap */
	vlen = 0;
	assert_int_equal(tdb_get(db, t, "k", 1, NULL, 0, &vlen), 0);
	assert_int_equal(vlen, 6);
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 64, NULL), 0);

	/* get_alloc: the value and a NUL after it */
	assert_int_equal(tdb_get_alloc(db, t, "k", 1, &p, &vlen), 0);
	assert_non_null(p);
	assert_int_equal(vlen, 6);
	assert_memory_equal(p, "world!", 6);
	assert_int_equal(((char *)p)[6], 0);
	free(p);
	p = (void *)1;
	assert_int_equal(tdb_get_alloc(db, t, "nokey", 5, &p, &vlen), -ENOENT);
	assert_null(p);
	assert_int_equal(tdb_put(db, t, "null", 4, NULL, 0, 0), 0);
	assert_int_equal(tdb_get_alloc(db, t, "null", 4, &p, &vlen), 0);
	assert_int_equal(vlen, 0);
	assert_non_null(p);
	assert_int_equal(((char *)p)[0], 0);
	free(p);
	assert_int_equal(tdb_del(db, t, "null", 4), 0);

	/* Flags. */
	assert_int_equal(tdb_put(db, t, "k", 1, "x", 1, TDB_PUT_CREATE),
			 -EEXIST);
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 64, &vlen), 0);
	assert_int_equal(vlen, 6);	/* untouched */
	assert_int_equal(tdb_put(db, t, "n", 1, "x", 1, TDB_PUT_REPLACE),
			 -ENOENT);
	assert_int_equal(tdb_get(db, t, "n", 1, vbuf, 64, &vlen), -ENOENT);
	assert_int_equal(tdb_put(db, t, "n", 1, "new", 3, TDB_PUT_CREATE), 0);
	assert_int_equal(tdb_put(db, t, "n", 1, "newer", 5, TDB_PUT_REPLACE),
			 0);
	assert_int_equal(tdb_get(db, t, "n", 1, vbuf, 64, &vlen), 0);
	assert_int_equal(vlen, 5);
	assert_memory_equal(vbuf, "newer", 5);
	assert_int_equal(tdb_put(db, t, "z", 1, "v", 1,
				 TDB_PUT_CREATE | TDB_PUT_REPLACE), -EINVAL);
	assert_int_equal(tdb_get(db, t, "z", 1, vbuf, 64, &vlen), -ENOENT);

	/* Binary keys: embedded NULs, all byte values, near-identical keys. */
	{
		uint8_t k1[256], k2[256];
		int i;

		for (i = 0; i < 256; i++)
			k1[i] = k2[i] = (uint8_t)i;
		k2[255] ^= 1;
		assert_int_equal(tdb_put(db, t, k1, 256, "one", 3, 0), 0);
		assert_int_equal(tdb_put(db, t, k2, 256, "two", 3, 0), 0);
		assert_int_equal(tdb_put(db, t, k1, 255, "pre", 3, 0), 0);
		assert_int_equal(tdb_get(db, t, k1, 256, vbuf, 64, &vlen), 0);
		assert_memory_equal(vbuf, "one", 3);
		assert_int_equal(tdb_get(db, t, k2, 256, vbuf, 64, &vlen), 0);
		assert_memory_equal(vbuf, "two", 3);
		assert_int_equal(tdb_get(db, t, k1, 255, vbuf, 64, &vlen), 0);
		assert_memory_equal(vbuf, "pre", 3);
		assert_int_equal(tdb_put(db, t, "\0", 1, "nul", 3, 0), 0);
		assert_int_equal(tdb_get(db, t, "\0", 1, vbuf, 64, &vlen), 0);
		assert_memory_equal(vbuf, "nul", 3);
	}

	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, 6);

	assert_int_equal(tdb_del(db, t, "k", 1), 0);
	assert_int_equal(tdb_del(db, t, "k", 1), -ENOENT);
	assert_int_equal(tdb_get(db, t, "k", 1, vbuf, 64, &vlen), -ENOENT);
	assert_int_equal(tdb_get(db, t, "n", 1, vbuf, 64, &vlen), 0);
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, 5);

	assert_int_equal(tdb_drop(db, t), 0);
}

/* A quota makes writes past it fail with -ENOSPC, and deleting frees room. */
static void test_quota(void **state)
{
	struct tdb_create_opts o = { .quota = 64 * 1024 };
	char t[64], key[32];
	int i, rc = 0, stored = 0;
	size_t vlen;

	(void)state;
	h_table(t, sizeof(t), "basic_quota");
	assert_int_equal(tdb_create(db, t, &o), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "q%d", i);
		h_fill(wbuf, 1000, i);
		rc = tdb_put(db, t, key, strlen(key), wbuf, 1000, 0);
		if (rc)
			break;
		stored++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(stored > 10 && stored <= 66);
	/* what was stored is intact, the failed key absent */
	for (i = 0; i < stored; i++) {
		snprintf(key, sizeof(key), "q%d", i);
		check_value(t, key, strlen(key), 1000, i);
	}
	snprintf(key, sizeof(key), "q%d", stored);
	assert_int_equal(tdb_get(db, t, key, strlen(key), vbuf, 16, &vlen),
			 -ENOENT);
	/* free room, write again */
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "q%d", i);
		assert_int_equal(tdb_del(db, t, key, strlen(key)), 0);
	}
	snprintf(key, sizeof(key), "q%d", stored);
	put_seeded(t, key, strlen(key), 1000, stored);
	check_value(t, key, strlen(key), 1000, stored);
	assert_int_equal(tdb_drop(db, t), 0);
}

/* ---- sizes -------------------------------------------------------------- */

static void test_key_limits(void **state)
{
	char t[64];
	uint8_t key[1100];
	size_t vlen;

	(void)state;
	new_table(t, sizeof(t), "basic_key", TDB_DUR_MEMORY);
	h_fill(key, sizeof(key), 77);

	assert_int_equal(tdb_put(db, t, key, 0, "v", 1, 0), -EINVAL);
	assert_int_equal(tdb_get(db, t, key, 0, vbuf, 16, &vlen), -EINVAL);
	assert_int_equal(tdb_del(db, t, key, 0), -EINVAL);

	assert_int_equal(tdb_put(db, t, key, 1024, "max", 3, 0), 0);
	assert_int_equal(tdb_get(db, t, key, 1024, vbuf, 16, &vlen), 0);
	assert_int_equal(vlen, 3);
	assert_memory_equal(vbuf, "max", 3);

	assert_int_equal(tdb_put(db, t, key, 1025, "big", 3, 0), -E2BIG);
	assert_int_equal(tdb_get(db, t, key, 1025, vbuf, 16, &vlen), -E2BIG);
	assert_int_equal(tdb_del(db, t, key, 1025), -E2BIG);
	assert_int_equal(tdb_put(db, t, key, 4096, "big", 3, 0), -E2BIG);

	/* the 1024-byte key is still there, nothing else is */
	{
		struct tdb_table_info info;

		assert_int_equal(tdb_info(db, t, &info), 0);
		assert_int_equal(info.records, 1);
	}
	assert_int_equal(tdb_del(db, t, key, 1024), 0);
	assert_int_equal(tdb_drop(db, t), 0);
}

/* One value size round trip: put, get into a buffer, get_alloc. */
static void value_round_trip(const char *t, size_t len, uint64_t seed)
{
	char key[32];
	void *p = NULL;
	size_t vlen = (size_t)-1;

	snprintf(key, sizeof(key), "v%zu", len);
	put_seeded(t, key, strlen(key), len, seed);
	check_value(t, key, strlen(key), len, seed);
	assert_int_equal(tdb_get_alloc(db, t, key, strlen(key), &p, &vlen), 0);
	assert_int_equal(vlen, len);
	if (len)
		assert_memory_equal(p, wbuf, len);
	free(p);
	assert_int_equal(tdb_del(db, t, key, strlen(key)), 0);
}

static void frame_boundaries(const char *t, uint32_t fsz)
{
	size_t len;

	/*
	 * Every size from well below one frame's payload to past the frame:
	 * this covers the exact fill of a frame by a PUT request and by a GET
	 * response whatever their header overhead, "exactly one frame" and
	 * "one byte over".
	 */
	for (len = fsz - 200; len <= fsz + 16; len++)
		value_round_trip(t, len, len * 31 + fsz);
	/* and around two and three frames */
	for (len = 2 * fsz - 80; len <= 2 * fsz + 4; len += 3)
		value_round_trip(t, len, len);
	value_round_trip(t, 3 * fsz - TDB_FRAME_HDR_SIZE, 3);
	value_round_trip(t, 3 * fsz - 3 * TDB_FRAME_HDR_SIZE, 4);
}

static void test_value_sizes(void **state)
{
	char t[64];
	size_t vlen;
	struct tdb_table_info info;

	(void)state;
	new_table(t, sizeof(t), "basic_val", TDB_DUR_MEMORY);

	value_round_trip(t, 0, 0);
	value_round_trip(t, 1, 1);
	value_round_trip(t, 2, 2);
	if (frame_size) {
		print_message("frame size %u: values of %u..%u bytes\n",
			      frame_size, frame_size - 200, frame_size + 16);
		frame_boundaries(t, frame_size);
	} else {
		print_message("frame size unknown: trying common ones\n");
		frame_boundaries(t, 4096);
		frame_boundaries(t, 65536);
	}
	value_round_trip(t, MIB - 1, 11);
	value_round_trip(t, MIB, 12);

	/* A 1 MiB value survives next to others and can be replaced. */
	put_seeded(t, "big", 3, MIB, 13);
	put_seeded(t, "small", 5, 10, 14);
	check_value(t, "big", 3, MIB, 13);
	put_seeded(t, "big", 3, MIB, 15);
	check_value(t, "big", 3, MIB, 15);
	check_value(t, "small", 5, 10, 14);

	/* One byte over 1 MiB is refused and changes nothing. */
	h_fill(wbuf, MIB + 1, 16);
	assert_int_equal(tdb_put(db, t, "big", 3, wbuf, MIB + 1, 0), -E2BIG);
	assert_int_equal(tdb_put(db, t, "new", 3, wbuf, MIB + 1, 0), -E2BIG);
	check_value(t, "big", 3, MIB, 15);
	assert_int_equal(tdb_get(db, t, "new", 3, vbuf, 16, &vlen), -ENOENT);
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, 2);

	/* The connection still works after the refusals. */
	value_round_trip(t, 100, 17);
	assert_int_equal(tdb_drop(db, t), 0);
}

/* ---- scans -------------------------------------------------------------- */

#define SCAN_N 10000

static void scan_key(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "scan-%05d", i);
}

static size_t scan_vlen(int i)
{
	return (size_t)(i % 64) * 3 + (i % 1000 == 0 ? 9000 : 0);
}

static void fill_scan_table(const char *t)
{
	struct tdb_batch *b = tdb_batch_new(db, 64);
	struct tdb_completion c[64];
	char key[32];
	uint8_t val[10000];
	int i, n, done = 0;

	assert_non_null(b);
	for (i = 0; i < SCAN_N; i++) {
		while (tdb_batch_pending(b) >= 64) {
			assert_int_equal(tdb_batch_submit(b), 0);
			n = tdb_batch_reap(b, c, 64, 1);
			assert_true(n >= 1);
			while (n--)
				assert_int_equal(c[n].status, 0), done++;
		}
		scan_key(key, sizeof(key), i);
		h_fill(val, scan_vlen(i), i);
		assert_int_equal(tdb_batch_put(b, t, key, strlen(key), val,
					       scan_vlen(i), 0, NULL), 0);
	}
	assert_int_equal(tdb_batch_submit(b), 0);
	while (tdb_batch_pending(b)) {
		n = tdb_batch_reap(b, c, 64, 1);
		assert_true(n >= 1);
		while (n--)
			assert_int_equal(c[n].status, 0), done++;
	}
	assert_int_equal(done, SCAN_N);
	tdb_batch_free(b);
}

/* Checks one scanned record; counts it in @seen. */
static void scan_check(const void *k, size_t klen, const void *v, size_t vlen,
		       uint8_t *seen, int *others)
{
	char key[32];
	uint8_t want[10000];
	int i;

	if (klen == 10 && memcmp(k, "scan-", 5) == 0) {
		memcpy(key, k, klen);
		key[klen] = 0;
		i = atoi(key + 5);
		assert_true(i >= 0 && i < SCAN_N);
		seen[i]++;
		if (seen[i] > 1)
			fail_msg("scan returned %s %d times", key, seen[i]);
		assert_int_equal(vlen, scan_vlen(i));
		h_fill(want, vlen, i);
		assert_memory_equal(v, want, vlen);
	} else if (klen >= 2 && memcmp(k, "w-", 2) == 0) {
		/* a concurrent writer's record: well-formed */
		assert_int_equal(vlen, 24);
		assert_memory_equal(v, k, klen < 24 ? klen : 24);
		(*others)++;
	} else {
		fail_msg("scan returned a foreign key of %zu bytes", klen);
	}
}

static void test_scan(void **state)
{
	char t[64];
	struct tdb_scan *s = NULL;
	const void *k, *v;
	size_t klen, vlen;
	uint8_t *seen = calloc(SCAN_N, 1);
	int rc, n = 0, others = 0, i;

	(void)state;
	assert_non_null(seen);
	new_table(t, sizeof(t), "basic_scan", TDB_DUR_MEMORY);

	/* empty table */
	assert_int_equal(tdb_scan_open(db, t, &s), 0);
	assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen), 0);
	assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen), 0);
	tdb_scan_close(s);

	/* missing table: at open (tdb.h) */
	s = (void *)1;
	assert_int_equal(tdb_scan_open(db, "no_such_table_xyz", &s), -ENOENT);
	tdb_scan_close(NULL);

	fill_scan_table(t);
	assert_int_equal(tdb_scan_open(db, t, &s), 0);
	while ((rc = tdb_scan_next(s, &k, &klen, &v, &vlen)) == 1) {
		scan_check(k, klen, v, vlen, seen, &others);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen), 0);
	tdb_scan_close(s);
	assert_int_equal(others, 0);
	assert_int_equal(n, SCAN_N);
	for (i = 0; i < SCAN_N; i++)
		if (seen[i] != 1)
			fail_msg("record %d seen %d times", i, seen[i]);

	/* Two scans open at once on one connection, interleaved. */
	{
		struct tdb_scan *s1, *s2;
		int n1 = 0, n2 = 0, r1 = 1, r2 = 1;

		assert_int_equal(tdb_scan_open(db, t, &s1), 0);
		assert_int_equal(tdb_scan_open(db, t, &s2), 0);
		while (r1 == 1 || r2 == 1) {
			if (r1 == 1 &&
			    (r1 = tdb_scan_next(s1, &k, &klen, &v, &vlen)) == 1)
				n1++;
			if (r2 == 1 &&
			    (r2 = tdb_scan_next(s2, &k, &klen, &v, &vlen)) == 1)
				n2++;
		}
		assert_int_equal(r1, 0);
		assert_int_equal(r2, 0);
		assert_int_equal(n1, SCAN_N);
		assert_int_equal(n2, SCAN_N);
		tdb_scan_close(s1);
		tdb_scan_close(s2);
	}

	/* A scan abandoned half way is closed cleanly. */
	assert_int_equal(tdb_scan_open(db, t, &s), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen), 1);
	tdb_scan_close(s);

	/* A table dropped (by another connection) ends a scan: -ENOENT. */
	{
		struct tdb *c;

		assert_int_equal(h_connect(&c), 0);
		assert_int_equal(tdb_scan_open(db, t, &s), 0);
		assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen), 1);
		assert_int_equal(tdb_drop(c, t), 0);
		tdb_close(c);
		n = 1;
		while ((rc = tdb_scan_next(s, &k, &klen, &v, &vlen)) == 1)
			n++;
		assert_int_equal(rc, -ENOENT);
		assert_true(n < SCAN_N);
		/* and stays the scan's answer */
		assert_int_equal(tdb_scan_next(s, &k, &klen, &v, &vlen),
				 -ENOENT);
		tdb_scan_close(s);
	}
	free(seen);
}

struct writer {
	const char *table;
	volatile int stop;
	volatile int done;	/* the writer has finished its run */
	volatile long ops;
	volatile int err;
	char msg[160];
};

/* Another connection: inserts fresh keys (the index grows) and deletes. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct tdb *c;
	char key[32], val[24];
	long i;
	int rc;

	rc = h_connect(&c);
	if (rc) {
		snprintf(w->msg, sizeof(w->msg), "writer connect: %d", rc);
		w->err = 1;
		return NULL;
	}
	for (i = 0; !w->stop && i < 200000; i++) {
		snprintf(key, sizeof(key), "w-%06ld", i);
		memset(val, 0, sizeof(val));
		memcpy(val, key, strlen(key));
		rc = tdb_put(c, w->table, key, strlen(key), val, sizeof(val),
			     0);
		if (rc == 0 && i % 4 == 3) {
			snprintf(key, sizeof(key), "w-%06ld", i - 2);
			rc = tdb_del(c, w->table, key, strlen(key));
		}
		if (rc) {
			snprintf(w->msg, sizeof(w->msg), "writer op %ld: %d %s",
				 i, rc, tdb_strerror(rc));
			w->err = 1;
			break;
		}
		__atomic_store_n(&w->ops, i + 1, __ATOMIC_RELEASE);
	}
	tdb_close(c);
	w->done = 1;
	return NULL;
}

static void test_scan_concurrent(void **state)
{
	char t[64];
	struct tdb_scan *s = NULL;
	const void *k, *v;
	size_t klen, vlen;
	uint8_t *seen = calloc(SCAN_N, 1);
	struct writer w = { 0 };
	pthread_t th;
	int rc, n = 0, others = 0, i;
	long mark;
	uint64_t end;

	(void)state;
	assert_non_null(seen);
	new_table(t, sizeof(t), "basic_scanw", TDB_DUR_MEMORY);
	fill_scan_table(t);
	w.table = t;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);

	end = h_now_ms() + 10000;
	while (__atomic_load_n(&w.ops, __ATOMIC_ACQUIRE) < 500 && !w.err &&
	       h_now_ms() < end)
		h_sleep_us(1000);

	assert_int_equal(tdb_scan_open(db, t, &s), 0);
	while ((rc = tdb_scan_next(s, &k, &klen, &v, &vlen)) == 1) {
		scan_check(k, klen, v, vlen, seen, &others);
		/* let the writer get well ahead between two chunks */
		if (++n % 250 == 0) {
			mark = __atomic_load_n(&w.ops, __ATOMIC_ACQUIRE) + 150;
			end = h_now_ms() + 1000;
			while (__atomic_load_n(&w.ops, __ATOMIC_ACQUIRE) <
				       mark &&
			       !w.err && !w.done && h_now_ms() < end)
				h_sleep_us(200);
		}
	}
	w.stop = 1;
	pthread_join(th, NULL);
	if (w.err)
		fail_msg("%s", w.msg);
	assert_int_equal(rc, 0);
	tdb_scan_close(s);
	for (i = 0; i < SCAN_N; i++)
		if (seen[i] != 1)
			fail_msg("record scan-%05d seen %d times during writes",
				 i, seen[i]);
	print_message("scan of %d records saw %d of the writer's, which did "
		      "%ld operations\n", SCAN_N, others, w.ops);
	assert_true(w.ops >= 1000);
	assert_int_equal(tdb_drop(db, t), 0);
	free(seen);
}

/* ---- batches ------------------------------------------------------------ */

struct bop {
	unsigned int op;
	int status;		/* expected */
	size_t vlen;		/* GET: expected value */
	uint64_t seed;
	int seen;
};

#define BDEPTH 64
#define BKEYS 3000

static struct bop *bops;
static unsigned int nbops;
static unsigned int reaped;

static void bcheck(struct tdb_completion *c, int n)
{
	uint8_t *want = vbuf;
	int i;

	for (i = 0; i < n; i++) {
		uintptr_t id = (uintptr_t)c[i].user;
		struct bop *o;

		assert_true(id >= 1 && id <= nbops);
		o = &bops[id - 1];
		if (o->seen++)
			fail_msg("operation %lu completed twice",
				 (unsigned long)id);
		if (c[i].op != o->op || c[i].status != o->status)
			fail_msg("operation %lu: op %u status %d, expected op "
				 "%u status %d", (unsigned long)id, c[i].op,
				 c[i].status, o->op, o->status);
		if (o->op == TDB_CMD_GET && o->status == 0) {
			assert_int_equal(c[i].vlen, o->vlen);
			assert_true(o->vlen <= MIB);
			h_fill(want, o->vlen, o->seed);
			if (o->vlen)
				assert_memory_equal(c[i].val, want, o->vlen);
		}
		reaped++;
	}
}

/* Makes room for one more operation in @b. */
static void bqueue_room(struct tdb_batch *b, unsigned int depth)
{
	struct tdb_completion c[BDEPTH];
	int n;

	while (tdb_batch_pending(b) >= depth) {
		assert_int_equal(tdb_batch_submit(b), 0);
		n = tdb_batch_reap(b, c, BDEPTH, 1);
		assert_true(n >= 1);
		bcheck(c, n);
	}
}

static void bdrain(struct tdb_batch *b)
{
	struct tdb_completion c[BDEPTH];
	int n;

	assert_int_equal(tdb_batch_submit(b), 0);
	while (tdb_batch_pending(b)) {
		n = tdb_batch_reap(b, c, BDEPTH, 1);
		assert_true(n >= 1);
		bcheck(c, n);
	}
	assert_int_equal(reaped, nbops);
}

static void *bexpect(unsigned int op, int status, size_t vlen, uint64_t seed)
{
	struct bop *o = &bops[nbops++];

	o->op = op;
	o->status = status;
	o->vlen = vlen;
	o->seed = seed;
	return (void *)(uintptr_t)nbops;
}

static size_t bvlen(int i)
{
	return (size_t)(i % 300) + (i % 97 == 0 ? 15000 : 0);
}

static void bkey(char *k, int i)
{
	snprintf(k, 32, "b%06d", i);
}

static void test_batch(void **state)
{
	char t[64], k[32];
	uint8_t val[20000];
	struct tdb_batch *b;
	struct tdb_completion c[BDEPTH];
	struct tdb_table_info info;
	int i, n;
	size_t vlen;

	(void)state;
	new_table(t, sizeof(t), "basic_batch", TDB_DUR_ASYNC);
	bops = calloc(20 * BKEYS, sizeof(*bops));
	assert_non_null(bops);
	b = tdb_batch_new(db, BDEPTH);
	assert_non_null(b);
	assert_int_equal(tdb_batch_pending(b), 0);
	assert_int_equal(tdb_batch_reap(b, c, BDEPTH, 0), 0);

	/* A: puts. */
	for (i = 0; i < BKEYS; i++) {
		bqueue_room(b, BDEPTH);
		bkey(k, i);
		h_fill(val, bvlen(i), i);
		assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					       bvlen(i), 0,
					       bexpect(TDB_CMD_PUT, 0, 0, 0)),
				 0);
	}
	/* Reaping with min 0 returns what has arrived, without waiting. */
	assert_int_equal(tdb_batch_submit(b), 0);
	n = tdb_batch_reap(b, c, BDEPTH, 0);
	assert_true(n >= 0 && n <= BDEPTH);
	bcheck(c, n);
	bdrain(b);

	/* B: gets of all, and of keys that do not exist. */
	for (i = 0; i < BKEYS + 500; i++) {
		bqueue_room(b, BDEPTH);
		bkey(k, i);
		assert_int_equal(
			tdb_batch_get(b, t, k, strlen(k),
				      i < BKEYS ?
					      bexpect(TDB_CMD_GET, 0, bvlen(i), i) :
					      bexpect(TDB_CMD_GET, -ENOENT, 0, 0)),
			0);
	}
	bdrain(b);

	/* C: dependent operations on one key run in queue order. */
	for (i = 0; i < BKEYS; i++) {
		bkey(k, i);
		switch (i % 3) {
		case 0:
			bqueue_room(b, BDEPTH - 2);
			assert_int_equal(tdb_batch_del(b, t, k, strlen(k),
					 bexpect(TDB_CMD_DEL, 0, 0, 0)), 0);
			assert_int_equal(tdb_batch_get(b, t, k, strlen(k),
					 bexpect(TDB_CMD_GET, -ENOENT, 0, 0)),
					 0);
			assert_int_equal(tdb_batch_del(b, t, k, strlen(k),
					 bexpect(TDB_CMD_DEL, -ENOENT, 0, 0)),
					 0);
			break;
		case 1:
			bqueue_room(b, BDEPTH - 2);
			h_fill(val, 100 + i % 50, 1000000 + i);
			assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					 100 + i % 50, TDB_PUT_REPLACE,
					 bexpect(TDB_CMD_PUT, 0, 0, 0)), 0);
			assert_int_equal(tdb_batch_get(b, t, k, strlen(k),
					 bexpect(TDB_CMD_GET, 0, 100 + i % 50,
						 1000000 + i)), 0);
			assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					 1, TDB_PUT_CREATE,
					 bexpect(TDB_CMD_PUT, -EEXIST, 0, 0)),
					 0);
			break;
		case 2:
			bqueue_room(b, BDEPTH - 2);
			bkey(k, BKEYS + i);
			assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					 5, TDB_PUT_REPLACE,
					 bexpect(TDB_CMD_PUT, -ENOENT, 0, 0)),
					 0);
			assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					 0, TDB_PUT_CREATE,
					 bexpect(TDB_CMD_PUT, 0, 0, 0)), 0);
			assert_int_equal(tdb_batch_get(b, t, k, strlen(k),
					 bexpect(TDB_CMD_GET, 0, 0, 0)), 0);
			break;
		}
	}
	bdrain(b);
	for (i = 0; i < (int)nbops; i++)
		assert_int_equal(bops[i].seen, 1);

	/* D: what the batches did, seen by plain calls. */
	for (i = 0; i < BKEYS; i++) {
		bkey(k, i);
		switch (i % 3) {
		case 0:
			assert_int_equal(tdb_get(db, t, k, strlen(k), vbuf,
						 16, &vlen), -ENOENT);
			break;
		case 1:
			check_value(t, k, strlen(k), 100 + i % 50,
				     1000000 + i);
			break;
		case 2:
			check_value(t, k, strlen(k), bvlen(i), i);
			bkey(k, BKEYS + i);
			check_value(t, k, strlen(k), 0, 0);
			break;
		}
	}
	assert_int_equal(tdb_info(db, t, &info), 0);
	assert_int_equal(info.records, BKEYS / 3 * 3);

	/* Plain calls and the batch interleave on one connection. */
	bkey(k, 1);
	assert_int_equal(tdb_batch_get(b, t, k, strlen(k),
				       bexpect(TDB_CMD_GET, 0, 100 + 1 % 50,
					       1000000 + 1)), 0);
	assert_int_equal(tdb_batch_submit(b), 0);
	check_value(t, k, strlen(k), 100 + 1 % 50, 1000000 + 1);
	bdrain(b);

	tdb_batch_free(b);
	free(bops);
	bops = NULL;
	nbops = reaped = 0;
	assert_int_equal(tdb_drop(db, t), 0);
}

/* Values of several frames in a batch, both ways. */
static void test_batch_large(void **state)
{
	char t[64], k[32];
	uint8_t *val = malloc(300 * 1024);
	struct tdb_batch *b;
	int i, round, rc;

	(void)state;
	assert_non_null(val);
	new_table(t, sizeof(t), "basic_batchl", TDB_DUR_MEMORY);
	bops = calloc(200, sizeof(*bops));
	assert_non_null(bops);
	b = tdb_batch_new(db, 8);
	assert_non_null(b);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 24; i++) {
			size_t len = 1000 + (size_t)i * 12345;

			bqueue_room(b, 8);
			snprintf(k, sizeof(k), "L%d", i);
			h_fill(val, len, i + round * 100);
			assert_int_equal(tdb_batch_put(b, t, k, strlen(k), val,
					 len, 0,
					 bexpect(TDB_CMD_PUT, 0, 0, 0)), 0);
			bqueue_room(b, 8);
			assert_int_equal(tdb_batch_get(b, t, k, strlen(k),
					 bexpect(TDB_CMD_GET, 0, len,
						 i + round * 100)), 0);
		}
		bdrain(b);
	}
	{
		/* a 1 MiB value through the batch */
		bqueue_room(b, 8);
		h_fill(val, 300 * 1024, 5);
		h_fill(wbuf, MIB, 6);
		assert_int_equal(tdb_batch_put(b, t, "M", 1, wbuf, MIB, 0,
					       bexpect(TDB_CMD_PUT, 0, 0, 0)),
				 0);
		/* refused when queued, or completed with -E2BIG */
		rc = tdb_batch_put(b, t, "X", 1, wbuf, MIB + 1, 0,
				   bexpect(TDB_CMD_PUT, -E2BIG, 0, 0));
		if (rc == -E2BIG) {
			bops[nbops - 1].seen = 1;
			reaped++;
		} else {
			assert_int_equal(rc, 0);
		}
		bdrain(b);
		check_value(t, "M", 1, MIB, 6);
	}
	tdb_batch_free(b);
	free(bops);
	bops = NULL;
	nbops = reaped = 0;
	free(val);
	assert_int_equal(tdb_drop(db, t), 0);
}

/*
 * Several batches on one connection, interleaved with plain calls and a
 * scan: every answer reaches its own batch, and a batch's GET values stay
 * valid until that batch's next reap, whatever the others do.
 */
static void test_batch_mixed(void **state)
{
	enum { NB = 3, NOPS = 500 };
	struct tdb_batch *b[NB];
	struct tdb_completion c[NB][NOPS];
	int i, j, n;
	uint8_t seen[NB][NOPS];
	char t[64], k[32];
	uint8_t val[64];
	struct tdb_scan *s;
	const void *sk, *sv;
	size_t sklen, svlen, vlen;

	(void)state;
	memset(seen, 0, sizeof(seen));
	new_table(t, sizeof(t), "basic_bmix", TDB_DUR_MEMORY);
	for (i = 0; i < NOPS; i++) {
		snprintf(k, sizeof(k), "m%04d", i);
		h_fill(val, 10 + i % 50, i);
		assert_int_equal(tdb_put(db, t, k, strlen(k), val, 10 + i % 50,
					 0), 0);
	}
	for (j = 0; j < NB; j++) {
		b[j] = tdb_batch_new(db, 4096);
		assert_non_null(b[j]);
	}
	assert_int_equal(tdb_scan_open(db, t, &s), 0);
	for (i = 0; i < NOPS; i++) {
		snprintf(k, sizeof(k), "m%04d", i);
		for (j = 0; j < NB; j++)
			assert_int_equal(tdb_batch_get(b[j], t, k, strlen(k),
					 (void *)(uintptr_t)(j * 100000 + i)),
					 0);
		if (i % 100 == 50) {
			/* plain calls and scan pages between the queueing */
			assert_int_equal(tdb_get(db, t, k, strlen(k), vbuf, 64,
						 &vlen), 0);
			assert_int_equal(vlen, 10 + i % 50);
			assert_int_equal(tdb_batch_submit(b[i % NB]), 0);
			assert_int_equal(tdb_scan_next(s, &sk, &sklen, &sv,
						       &svlen), 1);
		}
	}
	for (j = NB - 1; j >= 0; j--)
		assert_int_equal(tdb_batch_submit(b[j]), 0);
	/*
	 * Reap the batches in turn, each in one call that waits for all its
	 * answers (min = max = pending): the values of all three reaps must
	 * stay valid together, as each batch has been reaped once.
	 */
	for (j = 0; j < NB; j++) {
		assert_int_equal(tdb_batch_pending(b[j]), NOPS);
		n = tdb_batch_reap(b[j], c[j], NOPS, NOPS);
		if (n != NOPS)
			fail_msg("tdb_batch_reap(max %d, min %d) of a batch "
				 "with %d operations pending returned %d",
				 NOPS, NOPS, NOPS, n);
	}
	for (j = 0; j < NB; j++) {
		assert_int_equal(tdb_batch_pending(b[j]), 0);
		for (i = 0; i < NOPS; i++) {
			uintptr_t u = (uintptr_t)c[j][i].user;
			int op = (int)(u % 100000);

			assert_int_equal(u / 100000, j);
			assert_false(seen[j][op]++);
			assert_int_equal(c[j][i].status, 0);
			assert_int_equal(c[j][i].op, TDB_CMD_GET);
			assert_int_equal(c[j][i].vlen, 10 + op % 50);
			h_fill(val, 10 + op % 50, op);
			if (memcmp(c[j][i].val, val, c[j][i].vlen))
				fail_msg("batch %d completion %d (get of m%04d):"
					 " wrong value after other batches were"
					 " reaped", j, i, op);
		}
	}
	/* the scan goes on after all of it */
	n = 5;
	while ((i = tdb_scan_next(s, &sk, &sklen, &sv, &svlen)) == 1)
		n++;
	assert_int_equal(i, 0);
	assert_int_equal(n, NOPS);
	tdb_scan_close(s);

	/* a batch freed with operations in flight leaves the rest in step */
	for (i = 0; i < NOPS; i++) {
		snprintf(k, sizeof(k), "m%04d", i);
		assert_int_equal(tdb_batch_get(b[0], t, k, strlen(k), NULL), 0);
	}
	assert_int_equal(tdb_batch_submit(b[0]), 0);
	tdb_batch_free(b[0]);
	assert_int_equal(tdb_batch_get(b[1], t, "m0007", 5, (void *)7), 0);
	assert_int_equal(tdb_batch_reap(b[1], c[1], 1, 1), 1);
	assert_int_equal(c[1][0].status, 0);
	assert_ptr_equal(c[1][0].user, (void *)7);
	check_value(t, "m0003", 5, 13, 3);
	tdb_batch_free(b[1]);
	tdb_batch_free(b[2]);
	assert_int_equal(tdb_drop(db, t), 0);
}

/*
 * tdb_batch_reap() waits for at least @min completions even when some had
 * arrived before the call: one small GET answered early, then GETs of
 * values too big for the RX ring to hold at once.
 */
static void test_reap_min(void **state)
{
	enum { NBIG = 12, BIG = 512 * 1024 };
	struct tdb_batch *b;
	struct tdb_completion c[NBIG + 1];
	char t[64];
	int i, n;

	(void)state;
	new_table(t, sizeof(t), "basic_reapmin", TDB_DUR_MEMORY);
	put_seeded(t, "small", 5, 10, 1);
	put_seeded(t, "big", 3, BIG, 2);
	b = tdb_batch_new(db, 64);
	assert_non_null(b);
	assert_int_equal(tdb_batch_get(b, t, "small", 5, NULL), 0);
	assert_int_equal(tdb_batch_submit(b), 0);
	h_sleep_us(100000);	/* its answer is in the RX ring now */
	for (i = 0; i < NBIG; i++)
		assert_int_equal(tdb_batch_get(b, t, "big", 3,
					       (void *)(uintptr_t)(i + 1)), 0);
	assert_int_equal(tdb_batch_submit(b), 0);
	assert_int_equal(tdb_batch_pending(b), NBIG + 1);
	n = tdb_batch_reap(b, c, NBIG + 1, NBIG + 1);
	if (n != NBIG + 1)
		fail_msg("tdb_batch_reap(max %d, min %d) with %d pending "
			 "returned %d", NBIG + 1, NBIG + 1, NBIG + 1, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(c[i].status, 0);
		assert_int_equal(c[i].vlen, c[i].user ? BIG : 10);
	}
	tdb_batch_free(b);
	assert_int_equal(tdb_drop(db, t), 0);
}

/*
 * A GET whose value cannot be allocated when its answer is read completes
 * alone with -ENOMEM: its slot is freed and the batch and the connection go
 * on.  The answer is read by a reap, by a synchronous call, and by
 * tdb_batch_free(), which must not wait for it forever.
 */
static void test_batch_nomem(void **state)
{
	enum { VLEN = 70001 };	/* a size nothing else allocates */
	struct tdb_batch *b;
	struct tdb_completion c[4];
	char t[64];
	size_t vlen;
	int i, n;

	(void)state;
	if (!MALLOC_FAULTS)
		skip();
	new_table(t, sizeof(t), "basic_nomem", TDB_DUR_MEMORY);
	put_seeded(t, "v", 1, VLEN, 7);
	b = tdb_batch_new(db, 4);
	assert_non_null(b);

	/* Read by a reap, among operations that succeed. */
	assert_int_equal(tdb_batch_get(b, t, "v", 1, (void *)1), 0);
	assert_int_equal(tdb_batch_get(b, t, "none", 4, (void *)2), 0);
	assert_int_equal(tdb_batch_put(b, t, "w", 1, "x", 1, 0, (void *)3),
			 0);
	fail_size = VLEN;
	n = tdb_batch_reap(b, c, 4, 3);
	assert_int_equal(n, 3);
	assert_int_equal(fail_size, 0);
	for (i = 0; i < n; i++) {
		switch ((uintptr_t)c[i].user) {
		case 1:
			assert_int_equal(c[i].op, TDB_CMD_GET);
			assert_int_equal(c[i].status, -ENOMEM);
			assert_null(c[i].val);
			break;
		case 2:
			assert_int_equal(c[i].status, -ENOENT);
			break;
		case 3:
			assert_int_equal(c[i].status, 0);
			break;
		default:
			fail_msg("completion of unknown operation %p",
				 c[i].user);
		}
	}
	assert_int_equal(tdb_batch_pending(b), 0);

	/* The slot and the connection are fine. */
	assert_int_equal(tdb_batch_get(b, t, "v", 1, (void *)1), 0);
	assert_int_equal(tdb_batch_reap(b, c, 4, 1), 1);
	assert_int_equal(c[0].status, 0);
	assert_int_equal(c[0].vlen, VLEN);
	h_fill(wbuf, VLEN, 7);
	assert_memory_equal(c[0].val, wbuf, VLEN);
	check_value(t, "v", 1, VLEN, 7);

	/* Read by a synchronous call, or by the reap if it comes later. */
	assert_int_equal(tdb_batch_get(b, t, "v", 1, (void *)4), 0);
	assert_int_equal(tdb_batch_submit(b), 0);
	fail_size = VLEN;
	assert_int_equal(tdb_get(db, t, "w", 1, vbuf, 16, &vlen), 0);
	assert_int_equal(vlen, 1);
	assert_int_equal(tdb_batch_reap(b, c, 4, 1), 1);
	assert_int_equal(fail_size, 0);
	assert_ptr_equal(c[0].user, (void *)4);
	assert_int_equal(c[0].status, -ENOMEM);
	assert_int_equal(tdb_batch_pending(b), 0);

	/* Read by tdb_batch_free(). */
	assert_int_equal(tdb_batch_get(b, t, "v", 1, NULL), 0);
	assert_int_equal(tdb_batch_submit(b), 0);
	fail_size = VLEN;
	tdb_batch_free(b);
	assert_int_equal(fail_size, 0);

	check_value(t, "v", 1, VLEN, 7);
	assert_int_equal(tdb_drop(db, t), 0);
}

/* ---- fork --------------------------------------------------------------- */

static void test_fork(void **state)
{
	char t[64];
	pid_t pid;
	size_t vlen;

	(void)state;
	new_table(t, sizeof(t), "basic_fork", TDB_DUR_MEMORY);
	assert_int_equal(tdb_put(db, t, "p", 1, "parent", 6, 0), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tdb *c;
		char buf[16];
		int rc;

		rc = tdb_get(db, t, "p", 1, buf, sizeof(buf), &vlen);
		CHILD_CHECK(rc == -ECHILD, "inherited connection: %d", rc);
		rc = tdb_put(db, t, "c", 1, "x", 1, 0);
		CHILD_CHECK(rc == -ECHILD, "inherited connection put: %d", rc);
		tdb_close(db);
		rc = h_connect(&c);
		CHILD_CHECK(rc == 0, "connect: %d", rc);
		rc = tdb_get(c, t, "p", 1, buf, sizeof(buf), &vlen);
		CHILD_CHECK(rc == 0 && vlen == 6 && !memcmp(buf, "parent", 6),
			    "get: %d", rc);
		rc = tdb_put(c, t, "c", 1, "child", 5, 0);
		CHILD_CHECK(rc == 0, "put: %d", rc);
		tdb_close(c);
		_exit(0);
	}
	assert_int_equal(h_wait_child(pid, 30000), 0);

	/* The parent's session is undisturbed. */
	assert_int_equal(tdb_get(db, t, "c", 1, vbuf, 16, &vlen), 0);
	assert_int_equal(vlen, 5);
	assert_memory_equal(vbuf, "child", 5);
	assert_int_equal(tdb_put(db, t, "p", 1, "again", 5, 0), 0);
	assert_int_equal(tdb_get(db, t, "p", 1, vbuf, 16, &vlen), 0);
	assert_memory_equal(vbuf, "again", 5);
	assert_int_equal(tdb_drop(db, t), 0);
}

/* Connection errors, and the functions for which NULL is a no-op. */
static void test_connect_errors(void **state)
{
	struct tdb *c = (void *)1;
	char path[300];

	(void)state;
	assert_int_equal(tdb_connect("/nonexistent/tdb/socket", &c), -ENOENT);
	assert_null(c);
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	c = (void *)1;
	assert_int_equal(tdb_connect(path, &c), -ENAMETOOLONG);
	assert_null(c);
	/*
	 * A character device that is not tdb.ko's: the ioctl fails, and
	 * nothing of the caller's is closed on the way out (descriptor 0
	 * once was).
	 */
	if (fcntl(0, F_GETFD) < 0)
		assert_int_equal(open("/dev/null", O_RDONLY), 0);
	c = (void *)1;
	assert_int_equal(tdb_connect("/dev/null", &c), -ENOTTY);
	assert_null(c);
	assert_true(fcntl(0, F_GETFD) >= 0);
	/* a path that is not a socket (nor a device) */
	c = (void *)1;
	assert_true(tdb_connect("/", &c) < 0);
	assert_null(c);
	/* "" means TDB_SOCKET, as NULL does */
	if (getenv("TDB_SOCKET")) {
		assert_int_equal(tdb_connect("", &c), 0);
		normal_check(c);
		tdb_close(c);
	}
	tdb_close(NULL);
	tdb_scan_close(NULL);
	tdb_batch_free(NULL);
	errno = 0;
	assert_null(tdb_batch_new(db, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(tdb_batch_new(db, 65536));
	assert_int_equal(errno, EINVAL);
}

/* Many connections at once from one process, each independent. */
static void test_connections(void **state)
{
	enum { NC = 32 };
	struct tdb *c[NC];
	struct tdb_stats st;
	char t[64], k[16], v[16];
	int i;
	size_t vlen;

	(void)state;
	new_table(t, sizeof(t), "basic_conns", TDB_DUR_MEMORY);
	for (i = 0; i < NC; i++)
		assert_int_equal(h_connect(&c[i]), 0);
	assert_int_equal(tdb_stats(db, &st), 0);
	assert_true(st.connections >= NC + 1);
	for (i = 0; i < NC; i++) {
		snprintf(k, sizeof(k), "c%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(tdb_put(c[i], t, k, strlen(k), v, strlen(v),
					 0), 0);
	}
	for (i = 0; i < NC; i++) {
		snprintf(k, sizeof(k), "c%d", (i + 7) % NC);
		snprintf(v, sizeof(v), "v%d", (i + 7) % NC);
		assert_int_equal(tdb_get(c[i], t, k, strlen(k), vbuf, 16,
					 &vlen), 0);
		assert_int_equal(vlen, strlen(v));
		assert_memory_equal(vbuf, v, vlen);
	}
	for (i = 0; i < NC; i++)
		tdb_close(c[i]);
	assert_int_equal(tdb_drop(db, t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_key_limits),
		cmocka_unit_test(test_value_sizes),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_scan_concurrent),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_large),
		cmocka_unit_test(test_reap_min),
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_nomem),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_connections),
	};

	return cmocka_run_group_tests_name("integration/basic", tests, setup,
					   teardown);
}
