// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of core/ckpt.c, on real files in a temporary directory:
 * round trips of tables with every option, empty tables and values, the
 * largest keys and values; memory tables left out; a checkpoint taken
 * while another thread writes; truncation and a flipped byte at every
 * offset of a small checkpoint and at chosen offsets of a large one;
 * blocks whose CRC is right but whose entries lie, or whose table hints
 * (hash key, record count) do; another format version; falling back to
 * an older checkpoint; leftover temporary files; removal of old
 * checkpoints; a refused publication and a full disk (RLIMIT_FSIZE)
 * leaving nothing behind; the newest checkpoint winning.  Loaded tables
 * keep their hash key, hence their order, and their index size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "pool.h"
#include "tmpdir.h"

static char dir[64];
static char last_log[512];
static struct tdb_db db, db2;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/tdb-ckpt-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	tdb_db_init(&db);
	tdb_db_init(&db2);
	db2.tables_per_uid = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdb_db_fini(&db);
	tdb_db_fini(&db2);
	return tmpdir_remove(dir);
}

/* Files and bytes. */

static char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static bool exists(const char *name)
{
	struct stat st;

	return stat(path_of(name), &st) == 0;
}

static long file_size(const char *name)
{
	struct stat st;

	assert_int_equal(stat(path_of(name), &st), 0);
	return (long)st.st_size;
}

static u8 *read_whole(const char *name, long *len)
{
	FILE *f = fopen(path_of(name), "rb");
	u8 *buf;

	assert_non_null(f);
	*len = file_size(name);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), (size_t)*len);
	fclose(f);
	return buf;
}

static void write_whole(const char *name, const void *buf, long len)
{
	FILE *f = fopen(path_of(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), (size_t)len);
	fclose(f);
}

static const char *ckp_name(u64 lsn)
{
	static char name[2][64];
	static int i;

	i ^= 1;
	snprintf(name[i], sizeof(name[i]), "ckpt-%016llx.ckp",
		 (unsigned long long)lsn);
	return name[i];
}

static const char *tmp_name(u64 lsn)
{
	static char name[64];

	snprintf(name, sizeof(name), "ckpt-%016llx.tmp",
		 (unsigned long long)lsn);
	return name;
}

/* Names in the directory that start with "ckpt-". */
static int count_ckpt_files(void)
{
	return tmpdir_count(dir, "ckpt-");
}

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

static u32 get_le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static u64 get_le64(const u8 *p)
{
	return get_le32(p) | (u64)get_le32(p + 4) << 32;
}

/* File offsets of the blocks of a checkpoint image; their number. */
static int block_offsets(const u8 *buf, long len, long *offs, int max)
{
	long off = TDB_CKPT_HDR;
	int n = 0;

	while (off < len) {
		assert_true(n < max);
		assert_true(off + TDB_CKPT_BLOCK_HDR <= len);
		assert_true(get_le64(buf + off + 8) == (u64)off);
		offs[n++] = off;
		off += TDB_CKPT_BLOCK_HDR + get_le32(buf + off + 4);
	}
	assert_int_equal(off, len);
	return n;
}

/* Tables and records. */

static struct tdb_table *table_in(struct tdb_db *d, const char *name)
{
	struct tdb_table *t;

	rcu_read_lock();
	t = tdb_table_find(d, name);
	rcu_read_unlock();
	return t;
}

static struct tdb_table *new_table(const char *name, u32 durability, u64 quota,
				   u32 uid, u32 key_type)
{
	struct tdb_table_opts o = {
		.quota = quota,
		.uid = uid,
		.gid = uid + 1,
		.mode = 0600 + uid % 8,
		.key_type = key_type,
		.durability = durability,
	};

	assert_int_equal(tdb_table_create(&db, name, &o), 0);
	return table_in(&db, name);
}

/* Value @v of key @k: bytes that depend on both, @len long. */
static void fill_val(u8 *buf, u32 len, u64 k, u64 v)
{
	u32 i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(k * 31 + v * 7 + i * 13);
}

static void put_kv(struct tdb_table *t, const void *key, u32 klen,
		   const void *val, u32 vlen)
{
	assert_int_equal(tdb_table_put(t, key, klen, val, vlen, 0), 0);
}

/* Puts keys [0, n) with 8-byte keys and values of fill_val(k, gen). */
static void put_range(struct tdb_table *t, u64 n, u32 vlen, u64 gen)
{
	u8 val[256];
	u64 k;

	for (k = 0; k < n; k++) {
		fill_val(val, vlen, k, gen);
		put_kv(t, &k, sizeof(k), val, vlen);
	}
}

/* Whether every key of [0, n) holds fill_val(k, gen) in table @name. */
static void check_range(struct tdb_db *d, const char *name, u64 n, u32 vlen,
			u64 gen)
{
	struct tdb_table *t = table_in(d, name);
	struct tdb_table_stats st;
	u8 want[256], got[256];
	u32 len;
	u64 k;

	assert_non_null(t);
	tdb_table_stats(t, &st);
	assert_true(st.records == n);
	for (k = 0; k < n; k++) {
		fill_val(want, vlen, k, gen);
		assert_int_equal(tdb_table_read(t, &k, sizeof(k), got,
						sizeof(got), &len),
				 0);
		assert_int_equal(len, vlen);
		assert_memory_equal(got, want, vlen);
	}
}

/* Every record of @a, with the same value, in @b. */
struct cmp_state {
	struct tdb_table *b;
	u64 n;
};

static int cmp_rec(void *arg, const struct tdb_rec *r)
{
	struct cmp_state *s = arg;
	const struct tdb_rec *o =
		tdb_table_lookup(s->b, tdb_rec_key(r), tdb_rec_klen(r));

	if (!o || tdb_rec_vlen(o) != tdb_rec_vlen(r) ||
	    memcmp(tdb_rec_val(o), tdb_rec_val(r), tdb_rec_vlen(r)))
		return -EINVAL;
	s->n++;
	return 0;
}

static int count_tables(void *arg, struct tdb_table *t)
{
	(*(int *)arg)++;
	return 0;
}

static int ntables(struct tdb_db *d)
{
	int n = 0;

	tdb_db_for_each(d, count_tables, &n);
	return n;
}

/* Table @name of db is in db2 with the same options and records. */
static void check_same_table(const char *name)
{
	struct tdb_table *a = table_in(&db, name), *b = table_in(&db2, name);
	struct tdb_table_opts oa, ob;
	struct tdb_table_stats sa, sb;
	struct port_hash_key ka, kb;
	struct cmp_state s = { .b = b };
	struct tdb_cursor *c = malloc(sizeof(*c));

	assert_non_null(a);
	if (!b)
		fail_msg("table %s was not loaded", name);
	tdb_table_opts(a, &oa);
	tdb_table_opts(b, &ob);
	assert_true(oa.quota == ob.quota);
	assert_int_equal(oa.uid, ob.uid);
	assert_int_equal(oa.gid, ob.gid);
	assert_int_equal(oa.mode, ob.mode);
	assert_int_equal(oa.key_type, ob.key_type);
	assert_int_equal(oa.durability, ob.durability);
	tdb_table_stats(a, &sa);
	tdb_table_stats(b, &sb);
	assert_true(sa.records == sb.records);
	/* Same hash key: same order; sized at once to the same index. */
	tdb_table_hash_key(a, &ka);
	tdb_table_hash_key(b, &kb);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(sa.index_buckets, sb.index_buckets);
	assert_true(sa.mem_bytes == sb.mem_bytes);
	tdb_cursor_init(c);
	assert_int_equal(tdb_table_scan(a, c, cmp_rec, &s), 0);
	assert_true(s.n == sa.records);
	free(c);
}

static int write_ckpt(u64 lsn, struct tdb_ckpt_info *info)
{
	return tdb_ckpt_write(&db, dir, lsn, 1700000000 + lsn, NULL, NULL,
			      info);
}

static int load(unsigned int flags, struct tdb_ckpt_info *info)
{
	return tdb_ckpt_load(&db2, dir, flags, info);
}

/* Empties db2 for another load. */
static void reset_db2(void)
{
	tdb_db_fini(&db2);
	tdb_db_init(&db2);
	db2.tables_per_uid = 0;
}

/*
 * Tables with every option, an empty table, empty values, the largest
 * keys and values, records larger than a block: all come back, memory
 * tables do not, and blocks are as the format says.
 */
static void test_round_trip(void **state)
{
	static u8 big[TDB_VAL_MAX], key[TDB_KEY_MAX];
	struct tdb_table *t;
	struct tdb_ckpt_info wi, li;
	long len, offs[64];
	int i, n, blocks_big = 0;
	u8 *img;
	u64 k;

	/* Enough to fill several blocks. */
	t = new_table("plain", TDB_DUR_ASYNC, 0, 0, 0);
	put_range(t, 30000, 100, 1);
	new_table("empty", TDB_DUR_SYNC, 12345, 1000, 2);
	t = new_table("novals", TDB_DUR_SYNC, 1ULL << 40, 1001, 3);
	for (k = 0; k < 100; k++)
		put_kv(t, &k, sizeof(k), NULL, 0);
	t = new_table("big-ones_1.x", TDB_DUR_ASYNC, 0, 4242, 1);
	for (i = 0; i < 3; i++) {
		memset(key, 'a' + i, sizeof(key));
		fill_val(big, sizeof(big), i, 9);
		put_kv(t, key, sizeof(key), big, sizeof(big));
	}
	memset(key, 'z', sizeof(key));
	put_kv(t, key, sizeof(key), "v", 1);
	put_kv(t, "k", 1, big, sizeof(big) - 1);
	t = new_table("mem", TDB_DUR_MEMORY, 0, 0, 0);
	put_range(t, 10, 8, 1);

	assert_int_equal(write_ckpt(0x1234, &wi), 0);
	assert_string_equal(wi.file, "ckpt-0000000000001234.ckp");
	assert_true(wi.start_lsn == 0x1234);
	assert_true(wi.time == 1700000000 + 0x1234);
	assert_true(wi.tables == 4);
	assert_true(wi.records == 30000 + 100 + 5);
	assert_true(wi.bytes == (u64)file_size(wi.file));
	assert_null(wi.reason);
	assert_int_equal(count_ckpt_files(), 1);

	/* Blocks: within the block size, or one record alone. */
	img = read_whole(wi.file, &len);
	n = block_offsets(img, len, offs, 64);
	for (i = 0; i < n; i++) {
		u32 blen = get_le32(img + offs[i] + 4);
		const u8 *p = img + offs[i] + TDB_CKPT_BLOCK_HDR;

		if (blen <= TDB_CKPT_BLOCK_SIZE)
			continue;
		assert_int_equal(p[0], TDB_CKPT_RECORD);
		assert_int_equal(TDB_CKPT_REC_FIXED + (p[1] | p[2] << 8) +
					 get_le32(p + 3),
				 blen);
		blocks_big++;
	}
	assert_int_equal(blocks_big, 4);
	free(img);

	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, wi.file);
	assert_true(li.start_lsn == wi.start_lsn);
	assert_true(li.time == wi.time);
	assert_true(li.tables == wi.tables);
	assert_true(li.records == wi.records);
	assert_true(li.bytes == wi.bytes);
	assert_null(li.reason);
	assert_string_equal(li.skipped, "");
	assert_int_equal(ntables(&db2), 4);
	check_same_table("plain");
	check_same_table("empty");
	check_same_table("novals");
	check_same_table("big-ones_1.x");
	assert_null(table_in(&db2, "mem"));
	check_range(&db2, "plain", 30000, 100, 1);
}

/* No checkpoint: 0 and an empty report; no directory: -ENOENT. */
static void test_none(void **state)
{
	struct tdb_ckpt_info li;
	char missing[128];

	write_whole("wal-0000000000000000.log", "x", 1);
	write_whole("ckpt-zz.ckp", "x", 1);
	li.start_lsn = 99;
	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, "");
	assert_true(li.start_lsn == 0);
	assert_null(li.reason);
	assert_int_equal(ntables(&db2), 0);

	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(tdb_ckpt_load(&db2, missing, 0, &li), -ENOENT);
	assert_int_equal(tdb_ckpt_write(&db, missing, 1, 0, NULL, NULL, &li),
			 -ENOENT);
}

/* Another thread writes during the checkpoint. */
struct churn_arg {
	struct tdb_table *t;
	volatile int stop;
	volatile u64 writes;
};

#define STABLE 100000ULL
#define CHURN 50000ULL

static void *churn(void *p)
{
	struct churn_arg *w = p;
	u8 val[64];
	u64 i = 0;

	rcu_register_thread();
	while (!w->stop) {
		u64 k = STABLE + (i * 7919) % CHURN;

		if (i % 4 == 3) {
			tdb_table_delete(w->t, &k, sizeof(k));
		} else {
			fill_val(val, sizeof(val), k, 0);
			tdb_table_put(w->t, &k, sizeof(k), val, sizeof(val), 0);
		}
		w->writes = ++i;
	}
	rcu_unregister_thread();
	return NULL;
}

/* A churned key, if present, holds a value its writer wrote. */
static int check_churned(void *arg, const struct tdb_rec *r)
{
	u8 want[64];
	u64 k;

	if (tdb_rec_klen(r) != sizeof(k))
		return -EINVAL;
	memcpy(&k, tdb_rec_key(r), sizeof(k));
	if (k < STABLE)
		return 0;
	fill_val(want, sizeof(want), k, 0);
	if (k >= STABLE + CHURN || tdb_rec_vlen(r) != sizeof(want) ||
	    memcmp(tdb_rec_val(r), want, sizeof(want)))
		return -EINVAL;
	return 0;
}

/* Keys [0, STABLE) hold fill_val(k, 3); others may be there too. */
static void check_stable(struct tdb_table *t)
{
	u8 want[40], got[40];
	u32 len;
	u64 k;

	assert_non_null(t);
	for (k = 0; k < STABLE; k++) {
		fill_val(want, sizeof(want), k, 3);
		assert_int_equal(tdb_table_read(t, &k, sizeof(k), got,
						sizeof(got), &len),
				 0);
		assert_int_equal(len, sizeof(want));
		assert_memory_equal(got, want, sizeof(want));
	}
}

/*
 * Records present before the checkpoint began are all in it with their
 * values while a writer churns other keys of the same table; tables
 * created before it began are there too.
 */
static void test_concurrent_writer(void **state)
{
	struct churn_arg w = { 0 };
	struct tdb_ckpt_info wi[3], li;
	struct tdb_cursor *c = malloc(sizeof(*c));
	pthread_t th;
	int round, err[3];

	w.t = new_table("busy", TDB_DUR_ASYNC, 0, 0, 0);
	put_range(w.t, STABLE, 40, 3);
	new_table("quiet", TDB_DUR_SYNC, 0, 0, 0);
	assert_int_equal(pthread_create(&th, NULL, churn, &w), 0);
	for (round = 0; round < 3; round++) {
		u64 before = w.writes;

		/* The writer is busy when each checkpoint begins. */
		while (w.writes < before + 1000)
			usleep(1000);
		err[round] = write_ckpt(100 + round, &wi[round]);
	}
	/* Checked with the writer stopped, so that a failure stops it too. */
	w.stop = 1;
	assert_int_equal(pthread_join(th, NULL), 0);
	for (round = 2; round >= 0; round--) {
		assert_int_equal(err[round], 0);
		reset_db2();
		assert_int_equal(load(0, &li), 0);
		assert_string_equal(li.file, wi[round].file);
		assert_int_equal(ntables(&db2), 2);
		assert_non_null(table_in(&db2, "quiet"));
		assert_true(li.records >= STABLE);
		tdb_cursor_init(c);
		assert_int_equal(tdb_table_scan(table_in(&db2, "busy"), c,
						check_churned, NULL),
				 0);
		check_stable(table_in(&db2, "busy"));
		unlink(path_of(li.file));
	}
	free(c);
}

/* A small checkpoint: two tables, a few records, in one block. */
static void make_small(void)
{
	struct tdb_table *t = new_table("a", TDB_DUR_ASYNC, 0, 5, 0);

	put_range(t, 3, 5, 1);
	put_kv(t, "e", 1, NULL, 0);
	new_table("b", TDB_DUR_SYNC, 77, 6, 1);
}

/* Loading fails with -EBADMSG, leaves db2 empty and says where and why. */
static void expect_bad(const char *file, u64 *off, const char **why)
{
	struct tdb_ckpt_info li;

	assert_int_equal(load(0, &li), -EBADMSG);
	assert_string_equal(li.file, file);
	assert_non_null(li.reason);
	assert_int_equal(ntables(&db2), 0);
	if (off)
		*off = li.offset;
	if (why)
		*why = li.reason;
}

/*
 * Cut at every length short of the whole file: every one is refused,
 * never loaded in part.  Then a large checkpoint cut at block bounds and
 * inside blocks.
 */
static void test_truncated(void **state)
{
	struct tdb_ckpt_info wi, li;
	long len, n, offs[16], cuts[8];
	const char *name;
	struct tdb_table *t;
	const char *why;
	int nb, i;
	u8 *img;
	u64 off;

	make_small();
	assert_int_equal(write_ckpt(7, &wi), 0);
	name = wi.file;
	img = read_whole(name, &len);
	for (n = 0; n < len; n++) {
		write_whole(name, img, n);
		expect_bad(name, &off, NULL);
		assert_true(off <= (u64)n);
	}
	write_whole(name, img, len);
	assert_int_equal(load(0, &li), 0);
	assert_int_equal(ntables(&db2), 2);
	free(img);
	reset_db2();
	unlink(path_of(name));

	/* Several blocks: cut where one ends, so that only END is missing. */
	t = new_table("large", TDB_DUR_ASYNC, 0, 0, 0);
	put_range(t, 30000, 100, 2);
	assert_int_equal(write_ckpt(8, &wi), 0);
	name = wi.file;
	img = read_whole(name, &len);
	nb = block_offsets(img, len, offs, 16);
	assert_true(nb >= 3);
	cuts[0] = offs[nb - 1]; /* the last block, with END */
	cuts[1] = offs[1]; /* a whole block boundary */
	cuts[2] = offs[1] + 1;
	cuts[3] = offs[1] + TDB_CKPT_BLOCK_HDR;
	cuts[4] = offs[1] + 1000;
	cuts[5] = len - 1;
	cuts[6] = len - TDB_CKPT_END_LEN;
	cuts[7] = TDB_CKPT_HDR;
	for (i = 0; i < 8; i++) {
		write_whole(name, img, cuts[i]);
		expect_bad(name, &off, &why);
		if (i < 2 || i == 7) {
			assert_string_equal(why, "end entry missing");
			assert_true(off == (u64)cuts[i]);
		} else {
			assert_true(off == (u64)offs[i < 5 ? 1 : nb - 1]);
		}
	}
	free(img);
}

/*
 * A byte flipped anywhere in a small checkpoint: refused every time.  In
 * a large one, a flip in a middle block names that block.
 */
static void test_flipped(void **state)
{
	struct tdb_ckpt_info wi;
	long len, n, offs[16];
	const char *name, *why;
	struct tdb_table *t;
	u8 *img;
	u64 off;
	int nb;

	make_small();
	assert_int_equal(write_ckpt(9, &wi), 0);
	name = wi.file;
	img = read_whole(name, &len);
	for (n = 0; n < len; n++) {
		img[n] ^= 0x10;
		write_whole(name, img, len);
		img[n] ^= 0x10;
		expect_bad(name, &off, NULL);
		assert_true(off <= (u64)n);
	}
	free(img);
	unlink(path_of(name));

	t = new_table("large", TDB_DUR_ASYNC, 0, 0, 0);
	put_range(t, 30000, 100, 2);
	assert_int_equal(write_ckpt(10, &wi), 0);
	name = wi.file;
	img = read_whole(name, &len);
	nb = block_offsets(img, len, offs, 16);
	assert_true(nb >= 3);
	img[offs[1] + 5000] ^= 1;
	write_whole(name, img, len);
	expect_bad(name, &off, &why);
	assert_true(off == (u64)offs[1]);
	assert_string_equal(why, "bad block CRC");

	img[offs[1] + 5000] ^= 1;
	img[3] ^= 1;
	write_whole(name, img, len);
	expect_bad(name, &off, &why);
	assert_true(off == 0);
	free(img);
}

/*
 * Hand-made checkpoints whose CRCs are right but whose contents are not:
 * every length and rule is checked, not trusted.
 */
struct forge {
	u8 buf[4096];
	long len;
	long blk; /* offset of the open block's header */
};

static void forge_start(struct forge *f, u64 lsn, u32 version)
{
	memset(f, 0, sizeof(*f));
	put_le32(f->buf, TDB_CKPT_MAGIC);
	put_le32(f->buf + 4, version);
	put_le64(f->buf + 8, lsn);
	put_le64(f->buf + 16, 1);
	put_le32(f->buf + 28, ~port_crc32c(~0U, f->buf, 28));
	f->len = TDB_CKPT_HDR;
	f->blk = -1;
}

static void forge_close_block(struct forge *f)
{
	u8 *h = f->buf + f->blk;
	u32 n = (u32)(f->len - f->blk - TDB_CKPT_BLOCK_HDR);

	put_le32(h + 4, n);
	put_le64(h + 8, (u64)f->blk);
	put_le32(h, ~port_crc32c(port_crc32c(~0U, h + 4, 12),
				 h + TDB_CKPT_BLOCK_HDR, n));
	f->blk = -1;
}

static void forge_bytes(struct forge *f, const void *p, u32 n)
{
	if (f->blk < 0) {
		f->blk = f->len;
		f->len += TDB_CKPT_BLOCK_HDR;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

static void forge_table(struct forge *f, const char *name, u32 nlen)
{
	u8 e[128] = { TDB_CKPT_TABLE, (u8)nlen };

	memcpy(e + 2, name, nlen);
	put_le32(e + 2 + nlen + 24, TDB_DUR_ASYNC);
	forge_bytes(f, e, TDB_CKPT_TABLE_FIXED + nlen);
}

/*
 * A TABLE entry named "t" with the given key type, durability and flags,
 * and a schema of @slen bytes ('s'), at most 64.
 */
static void forge_table_opts(struct forge *f, u32 key_type, u32 durability,
			     u32 flags, u16 slen)
{
	u8 e[192] = { TDB_CKPT_TABLE, 1, 't' };

	put_le32(e + 3 + 20, key_type);
	put_le32(e + 3 + 24, durability);
	put_le32(e + 3 + 52, flags);
	e[3 + 56] = (u8)slen;
	e[3 + 57] = (u8)(slen >> 8);
	memset(e + 3 + 58, 's', slen <= 64 ? slen : 0);
	forge_bytes(f, e, TDB_CKPT_TABLE_FIXED + 1 + (slen <= 64 ? slen : 0));
}

static void forge_rec(struct forge *f, u32 klen, u32 vlen)
{
	u8 e[64] = { TDB_CKPT_RECORD, (u8)klen, (u8)(klen >> 8) };

	put_le32(e + 3, vlen);
	memset(e + 7, 'k', 40);
	forge_bytes(f, e,
		    TDB_CKPT_REC_FIXED + (klen + vlen < 40 ? klen + vlen : 0));
}

static void forge_end(struct forge *f, u64 tables, u64 records)
{
	u8 e[TDB_CKPT_END_LEN] = { TDB_CKPT_END };

	put_le64(e + 1, tables);
	put_le64(e + 9, records);
	forge_bytes(f, e, sizeof(e));
}

static void forge_expect(struct forge *f, int err, const char *why)
{
	struct tdb_ckpt_info li;

	if (f->blk >= 0)
		forge_close_block(f);
	write_whole(ckp_name(5), f->buf, f->len);
	assert_int_equal(load(0, &li), err);
	if (err) {
		assert_non_null(li.reason);
		if (strcmp(li.reason, why))
			fail_msg("reason \"%s\", expected \"%s\"", li.reason,
				 why);
	}
	assert_int_equal(ntables(&db2), err ? 0 : 1);
	reset_db2();
}

static void test_forged(void **state)
{
	struct forge *f = malloc(sizeof(*f));
	struct tdb_ckpt_info li;

	/* The forger itself makes a loadable checkpoint. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_rec(f, 4, 6);
	forge_end(f, 1, 1);
	forge_expect(f, 0, NULL);

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_rec(f, 4, 6);
	forge_end(f, 0, 1);
	forge_expect(f, -EBADMSG, "record before any table");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_rec(f, 0, 6);
	forge_end(f, 1, 1);
	forge_expect(f, -EBADMSG, "bad record length");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_rec(f, TDB_KEY_MAX + 1, 0);
	forge_end(f, 1, 1);
	forge_expect(f, -EBADMSG, "bad record length");

	/* A record that claims more than its block holds. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_rec(f, 4, 1000);
	forge_end(f, 1, 1);
	forge_expect(f, -EBADMSG, "record entry runs past its block");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_bytes(f, "\x02\x04", 2);
	forge_expect(f, -EBADMSG, "record entry cut short");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_table(f, "t", 1);
	forge_end(f, 2, 0);
	forge_expect(f, -EBADMSG, "table appears twice");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "a/b", 3);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table name");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "a\0b", 3);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table name");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "", 0);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table name");

	/* A table entry cut short, and one whose name runs past the block. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_bytes(f, "\x01\x01t", 3);
	forge_expect(f, -EBADMSG, "table entry cut short");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	f->buf[f->len - (TDB_CKPT_TABLE_FIXED + 1) + 1] = 60;
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "table entry cut short");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_bytes(f, "\x09", 1);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "unknown entry type");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_rec(f, 4, 6);
	forge_end(f, 1, 2);
	forge_expect(f, -EBADMSG, "end entry counts do not match");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 2, 0);
	forge_expect(f, -EBADMSG, "end entry counts do not match");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_bytes(f, "\x03\x01", 2);
	forge_expect(f, -EBADMSG, "end entry cut short");

	/* Anything after END, in its block or in a block of its own. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_rec(f, 4, 6);
	forge_expect(f, -EBADMSG, "data after the end entry");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_close_block(f);
	forge_table(f, "u", 1);
	forge_expect(f, -EBADMSG, "data after the end entry");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_close_block(f);
	forge_expect(f, -EBADMSG, "end entry missing");

	/* A block that claims to sit elsewhere. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_close_block(f);
	put_le64(f->buf + TDB_CKPT_HDR + 8, 0);
	put_le32(f->buf + TDB_CKPT_HDR,
		 ~port_crc32c(
			 port_crc32c(~0U, f->buf + TDB_CKPT_HDR + 4, 12),
			 f->buf + TDB_CKPT_HDR + TDB_CKPT_BLOCK_HDR,
			 (u32)(f->len - TDB_CKPT_HDR - TDB_CKPT_BLOCK_HDR)));
	forge_expect(f, -EBADMSG, "block offset does not match its position");

	/* An empty block, and one longer than any block may be. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_bytes(f, "", 0);
	forge_expect(f, -EBADMSG, "bad block length");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_close_block(f);
	put_le32(f->buf + TDB_CKPT_HDR + 4, TDB_CKPT_BLOCK_MAX + 1);
	forge_expect(f, -EBADMSG, "bad block length");

	/* The name says another start LSN than the header. */
	forge_start(f, 6, TDB_CKPT_VERSION);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "start LSN does not match the file name");

	/* Another version: refused even when losses are accepted. */
	forge_start(f, 5, TDB_CKPT_VERSION + 1);
	forge_table(f, "t", 1);
	forge_end(f, 1, 0);
	forge_close_block(f);
	write_whole(ckp_name(5), f->buf, f->len);
	assert_int_equal(load(TDB_CKPT_ACCEPT_LOSS, &li), -EPROTONOSUPPORT);
	assert_int_equal(ntables(&db2), 0);
	free(f);
}

/* A record entry of key @key and a one-byte value @v. */
/* A TABLE entry with options no table can have is a bad entry. */
static void test_forged_table_opts(void **state)
{
	struct forge *f = malloc(sizeof(*f));

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, TDB_KEY_TYPE_MAX, TDB_DUR_MAX, 0, 64);
	forge_end(f, 1, 0);
	forge_expect(f, 0, NULL);

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, TDB_KEY_TYPE_MAX + 1, TDB_DUR_ASYNC, 0, 0);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table options");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, TDB_KEY_BYTES, TDB_DUR_MAX + 1, 0, 0);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table options");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, TDB_KEY_BYTES, TDB_DUR_ASYNC, 0x80, 0);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table options");

	/* A schema length past the block is an entry cut short. */
	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, TDB_KEY_BYTES, TDB_DUR_ASYNC, 0, 1000);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "table entry cut short");

	forge_start(f, 5, TDB_CKPT_VERSION);
	forge_table_opts(f, 0xffffffffU, 0xffffffffU, 0, 0);
	forge_end(f, 1, 0);
	forge_expect(f, -EBADMSG, "bad table options");
	free(f);
}

static void forge_kv(struct forge *f, const char *key, u8 v)
{
	u8 e[64] = { TDB_CKPT_RECORD, (u8)strlen(key) };

	put_le32(e + 3, 1);
	memcpy(e + 7, key, strlen(key));
	e[7 + strlen(key)] = v;
	forge_bytes(f, e, TDB_CKPT_REC_FIXED + (u32)strlen(key) + 1);
}

/*
 * The TABLE entry's hints are advisory: a key the records are not in the
 * order of, a key twice, and a record count the file could never hold
 * (it would size the index at once) all load, and the table keeps the
 * saved key.
 */
static void test_forged_hints(void **state)
{
	struct forge *f = malloc(sizeof(*f));
	struct tdb_ckpt_info li;
	struct tdb_table_stats st;
	struct port_hash_key hk;
	struct tdb_table *t;
	u8 e[128] = { TDB_CKPT_TABLE, 1, 't' };
	u8 v = 0;
	u32 len;

	forge_start(f, 5, TDB_CKPT_VERSION);
	put_le32(e + 3 + 24, TDB_DUR_ASYNC);
	put_le64(e + 3 + 28, ~0ULL);		/* records */
	put_le64(e + 3 + 36, 0x0123456789abcdefULL);
	put_le64(e + 3 + 44, 0xfedcba9876543210ULL);
	forge_bytes(f, e, TDB_CKPT_TABLE_FIXED + 1);
	forge_kv(f, "c", 1);
	forge_kv(f, "a", 2);
	forge_kv(f, "b", 3);
	forge_kv(f, "a", 4);
	e[2] = 'u';			/* a second table lies as well */
	forge_bytes(f, e, TDB_CKPT_TABLE_FIXED + 1);
	forge_end(f, 2, 4);
	forge_close_block(f);
	write_whole(ckp_name(5), f->buf, f->len);
	assert_int_equal(load(0, &li), 0);
	t = table_in(&db2, "t");
	assert_non_null(t);
	tdb_table_hash_key(t, &hk);
	assert_true(hk.k[0] == 0x0123456789abcdefULL);
	assert_true(hk.k[1] == 0xfedcba9876543210ULL);
	tdb_table_stats(t, &st);
	assert_true(st.records == 3);
	/* Sized for what the file could hold: a record per 8 bytes... */
	assert_true(st.index_buckets <= f->len / 8);
	/* ...in all tables together: nothing was left for the second. */
	tdb_table_stats(table_in(&db2, "u"), &st);
	assert_int_equal(st.index_buckets, 1);
	assert_int_equal(tdb_table_read(t, "a", 1, &v, 1, &len), 0);
	assert_int_equal(v, 4);
	assert_int_equal(tdb_table_read(t, "c", 1, &v, 1, &len), 0);
	assert_int_equal(v, 1);
	free(f);
}

/*
 * Two checkpoints: the newest is loaded; when it is corrupt, loading
 * fails unless the loss is accepted, and then the older one is loaded
 * with nothing of the newer one left over.
 */
static void test_newest_and_fallback(void **state)
{
	struct tdb_table *t = new_table("t", TDB_DUR_ASYNC, 0, 0, 0);
	struct tdb_ckpt_info wi, li;
	long len, offs[16];
	char older[64];
	u8 *img;

	put_range(t, 20000, 50, 1);
	assert_int_equal(write_ckpt(0x100, &wi), 0);
	strcpy(older, wi.file);
	put_range(t, 30000, 50, 2);
	new_table("only-new", TDB_DUR_SYNC, 0, 0, 0);
	assert_int_equal(write_ckpt(0x200, &wi), 0);

	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, ckp_name(0x200));
	assert_true(li.start_lsn == 0x200);
	check_range(&db2, "t", 30000, 50, 2);
	assert_non_null(table_in(&db2, "only-new"));
	reset_db2();

	/* Corrupt the newest in its last block, after most was loaded. */
	img = read_whole(wi.file, &len);
	block_offsets(img, len, offs, 16);
	img[len - 3] ^= 0x40;
	write_whole(wi.file, img, len);
	free(img);
	expect_bad(wi.file, NULL, NULL);

	assert_int_equal(load(TDB_CKPT_ACCEPT_LOSS, &li), 0);
	assert_string_equal(li.file, older);
	assert_true(li.start_lsn == 0x100);
	assert_string_equal(li.skipped, ckp_name(0x200));
	assert_int_equal(li.nskipped, 1);
	assert_string_equal(li.reason, "bad block CRC");
	assert_int_equal(ntables(&db2), 1);
	assert_null(table_in(&db2, "only-new"));
	check_range(&db2, "t", 20000, 50, 1);
	reset_db2();

	/* Both corrupt: nothing is loaded, and that is reported. */
	img = read_whole(older, &len);
	img[TDB_CKPT_HDR + 100] ^= 1;
	write_whole(older, img, len);
	free(img);
	assert_int_equal(load(TDB_CKPT_ACCEPT_LOSS, &li), 0);
	assert_string_equal(li.file, "");
	assert_true(li.start_lsn == 0);
	assert_string_equal(li.skipped, ckp_name(0x200));
	assert_int_equal(li.nskipped, 2);
	assert_int_equal(ntables(&db2), 0);
}

/* A leftover temporary file, even a newer one, is ignored and removed. */
static void test_leftover_tmp(void **state)
{
	struct tdb_table *t = new_table("t", TDB_DUR_ASYNC, 0, 0, 0);
	struct tdb_ckpt_info wi, li;
	long len;
	u8 *img;

	put_range(t, 100, 10, 1);
	assert_int_equal(write_ckpt(0x50, &wi), 0);
	/* A complete image under a .tmp name is still unfinished. */
	put_range(t, 200, 10, 2);
	assert_int_equal(write_ckpt(0x60, &wi), 0);
	img = read_whole(wi.file, &len);
	unlink(path_of(wi.file));
	write_whole(tmp_name(0x60), img, len);
	write_whole(tmp_name(0x70), "junk", 4);
	write_whole("other.tmp", "keep", 4);
	free(img);

	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, ckp_name(0x50));
	check_range(&db2, "t", 100, 10, 1);
	assert_false(exists(tmp_name(0x60)));
	assert_false(exists(tmp_name(0x70)));
	assert_true(exists("other.tmp"));
	assert_true(exists(ckp_name(0x50)));
}

/* Checkpoints below the given LSN go; that one and later ones stay. */
static void test_remove_before(void **state)
{
	struct tdb_table *t = new_table("t", TDB_DUR_ASYNC, 0, 0, 0);
	struct tdb_ckpt_info wi;

	put_range(t, 10, 10, 1);
	assert_int_equal(write_ckpt(10, &wi), 0);
	assert_int_equal(write_ckpt(20, &wi), 0);
	assert_int_equal(write_ckpt(0x300, &wi), 0);
	write_whole(tmp_name(5), "x", 1);
	write_whole("wal-0000000000000000.log", "x", 1);

	assert_int_equal(tdb_ckpt_remove_before(dir, 10), 0);
	assert_int_equal(tdb_ckpt_remove_before(dir, 0x300), 2);
	assert_false(exists(ckp_name(10)));
	assert_false(exists(ckp_name(20)));
	assert_true(exists(ckp_name(0x300)));
	assert_true(exists(tmp_name(5)));
	assert_true(exists("wal-0000000000000000.log"));
	assert_int_equal(tdb_ckpt_remove_before(dir, 0x300), 0);
	assert_int_equal(tdb_ckpt_remove_before(dir, ~0ULL), 1);
	assert_false(exists(ckp_name(0x300)));
}

/* before_publish sees the synced .tmp and no .ckp; its error wins. */
struct publish_arg {
	int calls;
	int ret;
	bool tmp_seen, ckp_seen;
	long tmp_size;
};

static int before_publish(void *p)
{
	struct publish_arg *a = p;

	a->calls++;
	a->tmp_seen = exists(tmp_name(0x77));
	a->ckp_seen = exists(ckp_name(0x77));
	if (a->tmp_seen)
		a->tmp_size = file_size(tmp_name(0x77));
	return a->ret;
}

static void test_publish(void **state)
{
	struct tdb_table *t = new_table("t", TDB_DUR_ASYNC, 0, 0, 0);
	struct publish_arg a = { .ret = -EIO };
	struct tdb_ckpt_info wi, li;

	put_range(t, 1000, 20, 1);
	assert_int_equal(tdb_ckpt_write(&db, dir, 0x77, 5, before_publish, &a,
					&wi),
			 -EIO);
	assert_int_equal(a.calls, 1);
	assert_true(a.tmp_seen);
	assert_false(a.ckp_seen);
	assert_int_equal(count_ckpt_files(), 0);
	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, "");

	a = (struct publish_arg){ .ret = 0 };
	assert_int_equal(
		tdb_ckpt_write(&db, dir, 0x77, 5, before_publish, &a, &wi), 0);
	assert_int_equal(a.calls, 1);
	assert_true(a.tmp_seen);
	assert_true(a.tmp_size == (long)wi.bytes);
	assert_false(exists(tmp_name(0x77)));
	assert_true(exists(ckp_name(0x77)));
}

static void set_fsize(rlim_t lim)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = lim;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * The disk refuses bytes (RLIMIT_FSIZE: -EFBIG, as a full disk gives
 * -ENOSPC): the error comes back, the older checkpoint and nothing else
 * is there, and the next attempt with room succeeds.
 */
static void test_write_error(void **state)
{
	struct tdb_table *t = new_table("t", TDB_DUR_ASYNC, 0, 0, 0);
	struct tdb_ckpt_info wi, li;

	put_range(t, 100, 10, 1);
	assert_int_equal(write_ckpt(1, &wi), 0);
	put_range(t, 50000, 100, 2);
	signal(SIGXFSZ, SIG_IGN);
	set_fsize(3 << 20);
	assert_int_equal(write_ckpt(2, &wi), -EFBIG);
	set_fsize(RLIM_INFINITY);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(wi.reason);
	assert_int_equal(count_ckpt_files(), 1);
	assert_true(exists(ckp_name(1)));
	assert_int_equal(load(0, &li), 0);
	assert_string_equal(li.file, ckp_name(1));
	reset_db2();

	assert_int_equal(write_ckpt(2, &wi), 0);
	assert_int_equal(load(0, &li), 0);
	check_range(&db2, "t", 50000, 100, 2);
}

static void quiet_log(int level, const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%d %s", level, msg);
	if (getenv("TDB_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", last_log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_hints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_table_opts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newest_and_fallback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_leftover_tmp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_before, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
						teardown),
	};
	int ret;

	port_log_sink = quiet_log;
	rcu_register_thread();
	tdb_pcache_init();
	ret = cmocka_run_group_tests_name("ckpt", tests, NULL, NULL);
	tdb_pcache_fini();
	rcu_unregister_thread();
	return ret;
}
