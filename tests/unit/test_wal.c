// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of core/wal.c and the port's CRC-32C and file primitives:
 * round trips of every record type, segment rotation with records larger
 * than a segment, replay from a middle LSN, a torn tail cut at every byte
 * of the last record, corruption in the middle with and without accepting
 * the loss, bad headers and versions, write errors (RLIMIT_FSIZE makes the
 * kernel refuse bytes as a full disk does, with -EFBIG instead of -ENOSPC:
 * the log treats every -errno alike), a full buffer, removal of covered
 * segments, and appends from several threads.
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

#include "pool.h"
#include "wal.h"
#include "tmpdir.h"

#define NREC_MAX 8000
#define SEG_SMALL 4096

static char dir[64];
static char last_log[512];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/tdb-wal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* Record i of a run is determined by i; i % 97 == 50 exceeds a segment. */
static u32 rec_vlen(unsigned int i)
{
	return i % 97 == 50 ? 6000 : (i * 37) % 200;
}

static void make_rec(unsigned int i, struct tdb_wal_rec *r, char *key,
		     char *val)
{
	memset(r, 0, sizeof(*r));
	r->type = TDB_WAL_PUT;
	r->name = i % 3 ? "t1" : "table_two";
	r->klen = (u32)sprintf(key, "key-%u", i);
	r->key = key;
	r->vlen = rec_vlen(i);
	memset(val, 'a' + i % 26, r->vlen);
	r->val = val;
}

/* What replay delivered; records must be first, first + 1, ... */
struct seen {
	unsigned int first, n;
	bool bad;
	u64 lsn[NREC_MAX], end[NREC_MAX];
};

static int check_rec(void *arg, const struct tdb_wal_rec *rec, u64 lsn, u64 end)
{
	static char key[64], val[8192];
	struct seen *s = arg;
	struct tdb_wal_rec w;

	make_rec(s->first + s->n, &w, key, val);
	if (rec->type != w.type || strcmp(rec->name, w.name) ||
	    rec->klen != w.klen || memcmp(rec->key, w.key, w.klen) ||
	    rec->vlen != w.vlen || memcmp(rec->val, w.val, w.vlen) ||
	    s->n >= NREC_MAX) {
		s->bad = true;
		return -EINVAL;
	}
	s->lsn[s->n] = lsn;
	s->end[s->n] = end;
	s->n++;
	return 0;
}

static int replay(u64 from, unsigned int first, unsigned int flags,
		  struct seen *s, struct tdb_wal_report *rep)
{
	memset(s, 0, sizeof(*s));
	s->first = first;
	return tdb_wal_replay(dir, from, flags, check_rec, s, rep);
}

static struct tdb_wal *open_wal(u64 seg_size)
{
	struct tdb_wal_opts o = { .segment_size = seg_size };
	struct tdb_wal *wal = NULL;

	assert_int_equal(tdb_wal_open(dir, &o, &wal), 0);
	return wal;
}

/* Appends records first..first+n-1, writing and syncing every @every. */
static u64 append_run(struct tdb_wal *wal, unsigned int first, unsigned int n,
		      unsigned int every)
{
	static char key[64], val[8192];
	struct tdb_wal_rec r;
	unsigned int i;
	u64 end = 0;

	for (i = first; i < first + n; i++) {
		make_rec(i, &r, key, val);
		assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
		if (every && (i - first) % every == every - 1) {
			assert_int_equal(tdb_wal_write(wal), 0);
			assert_int_equal(tdb_wal_sync(wal), 0);
		}
	}
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == end);
	return end;
}

static void write_log(u64 seg_size, unsigned int n)
{
	struct tdb_wal *wal = open_wal(seg_size);

	append_run(wal, 0, n, 7);
	tdb_wal_close(wal);
}

/* Segment names, sorted (fixed-width hex sorts as the LSN does). */
static int wal_filter(const struct dirent *de)
{
	return !strncmp(de->d_name, "wal-", 4);
}

static int list_segs(char names[][TDB_WAL_FILE_NAME_LEN], int max)
{
	struct dirent **v;
	int i, n = scandir(dir, &v, wal_filter, alphasort);

	assert_true(n >= 0 && n <= max);
	for (i = 0; i < n; i++) {
		assert_int_equal(strlen(v[i]->d_name),
				 TDB_WAL_FILE_NAME_LEN - 1);
		memcpy(names[i], v[i]->d_name, TDB_WAL_FILE_NAME_LEN);
		free(v[i]);
	}
	free(v);
	return n;
}

static u64 seg_start(const char *name)
{
	return strtoull(name + 4, NULL, 16);
}

static char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static long file_size(const char *name)
{
	struct stat st;

	assert_int_equal(stat(path_of(name), &st), 0);
	return (long)st.st_size;
}

static char *read_whole(const char *name, long *len)
{
	FILE *f = fopen(path_of(name), "rb");
	char *buf;

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

static void poke(const char *name, long off, const void *bytes, size_t n)
{
	FILE *f = fopen(path_of(name), "r+b");

	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

static void flip(const char *name, long off)
{
	long len;
	char *buf = read_whole(name, &len);
	char c = buf[off] ^ 0x5a;

	poke(name, off, &c, 1);
	free(buf);
}

/* File offset of a record of the log in segment @name. */
static long rec_off(const char *name, u64 lsn)
{
	return (long)(TDB_WAL_SEG_HDR + lsn - seg_start(name));
}

static u32 crc_ref(const void *buf, size_t len)
{
	const u8 *p = buf;
	u32 c = ~0U;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78U & -(c & 1));
	}
	return ~c;
}

static void test_crc32c(void **state)
{
	static u8 buf[4096 + 16];
	size_t off, len;
	unsigned int i;

	assert_int_equal(~port_crc32c(~0U, "123456789", 9), 0xe3069283U);
	assert_int_equal(~port_crc32c_sw(~0U, "123456789", 9), 0xe3069283U);
	assert_int_equal(port_crc32c(0, "", 0), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i * 131 + 7);
	for (off = 0; off < 9; off++) {
		for (len = 0; len < 300; len += 1 + len / 8) {
			u32 want = crc_ref(buf + off, len);

			assert_int_equal(~port_crc32c(~0U, buf + off, len),
					 want);
			assert_int_equal(~port_crc32c_sw(~0U, buf + off, len),
					 want);
			/* Chained in two pieces, as the log does. */
			assert_int_equal(
				~port_crc32c(
					port_crc32c(~0U, buf + off, len / 3),
					buf + off + len / 3, len - len / 3),
				want);
		}
	}
}

/* Every record type, with the largest key and value, and back. */
struct rt {
	int n;
	bool ok;
	u8 *big;
};

static int check_types(void *arg, const struct tdb_wal_rec *r, u64 lsn, u64 end)
{
	struct rt *t = arg;
	static u8 key[TDB_KEY_MAX];
	bool ok = false;

	memset(key, 'k', sizeof(key));
	switch (t->n++) {
	case 0:
		ok = r->type == TDB_WAL_TABLE_CREATE &&
		     !strcmp(r->name, "t1") &&
		     r->opts.quota == (1ULL << 40) + 3 && r->opts.uid == 1000 &&
		     r->opts.gid == 100 && r->opts.mode == 0640 &&
		     r->opts.key_type == TDB_KEY_CIDR6 &&
		     r->opts.durability == TDB_DUR_SYNC &&
		     r->opts.flags == TDB_TABLE_STAGING &&
		     r->opts.schema_len == 7 &&
		     !memcmp(r->opts.schema, "{\"k\":1}", 7) && !r->key &&
		     !r->val;
		break;
	case 1:
		ok = r->type == TDB_WAL_PUT && !strcmp(r->name, "t1") &&
		     r->klen == 3 && !memcmp(r->key, "abc", 3) &&
		     r->vlen == 5 && !memcmp(r->val, "hello", 5);
		break;
	case 2:
		ok = r->type == TDB_WAL_PUT && r->klen == 1 && r->vlen == 0;
		break;
	case 3:
		ok = r->type == TDB_WAL_PUT && r->klen == TDB_KEY_MAX &&
		     !memcmp(r->key, key, TDB_KEY_MAX) &&
		     r->vlen == TDB_VAL_MAX &&
		     !memcmp(r->val, t->big, TDB_VAL_MAX);
		break;
	case 4:
		ok = r->type == TDB_WAL_DEL && !strcmp(r->name, "t1") &&
		     r->klen == 3 && !memcmp(r->key, "abc", 3) && !r->val;
		break;
	case 5:
		ok = r->type == TDB_WAL_TABLE_SWAP && !strcmp(r->name, "t1") &&
		     !strcmp(r->name2, "~0123456789abcdef");
		break;
	case 6:
		ok = r->type == TDB_WAL_TABLE_MERGE && !strcmp(r->name, "t1") &&
		     !strcmp(r->name2, "~fedcba9876543210");
		break;
	case 7:
		ok = r->type == TDB_WAL_TABLE_DROP && !strcmp(r->name, "t1") &&
		     !r->name2;
		break;
	}
	if (!ok) {
		print_error("record %d differs\n", t->n - 1);
		t->ok = false;
	}
	return 0;
}

static void test_round_trip(void **state)
{
	struct tdb_table_opts o = { .quota = (1ULL << 40) + 3,
				    .uid = 1000,
				    .gid = 100,
				    .mode = 0640,
				    .key_type = TDB_KEY_CIDR6,
				    .durability = TDB_DUR_SYNC,
				    .flags = TDB_TABLE_STAGING,
				    .schema = "{\"k\":1}",
				    .schema_len = 7 };
	char longname[TDB_NAME_MAX + 1];
	static u8 key[TDB_KEY_MAX + 1];
	struct tdb_wal_report rep;
	struct tdb_wal_rec r;
	struct rt t = { .ok = true };
	struct tdb_wal *wal;
	u64 end, prev = 0;
	u32 i;

	t.big = malloc(TDB_VAL_MAX + 1);
	assert_non_null(t.big);
	for (i = 0; i <= TDB_VAL_MAX; i++)
		t.big[i] = (u8)(i * 7);
	memset(key, 'k', sizeof(key));
	wal = open_wal(0);
	assert_true(tdb_wal_append_lsn(wal) == 0);

	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_CREATE,
				  .name = "t1",
				  .opts = o };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	assert_true(end > prev);
	prev = end;
	r = (struct tdb_wal_rec){ .type = TDB_WAL_PUT,
				  .name = "t1",
				  .key = "abc",
				  .klen = 3,
				  .val = "hello",
				  .vlen = 5 };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	assert_true(end == prev + TDB_WAL_REC_HDR + 8 + 2 + 3 + 5);
	prev = end;
	r = (struct tdb_wal_rec){
		.type = TDB_WAL_PUT, .name = "t1", .key = "x", .klen = 1
	};
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_PUT,
				  .name = "t1",
				  .key = key,
				  .klen = TDB_KEY_MAX,
				  .val = t.big,
				  .vlen = TDB_VAL_MAX };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){
		.type = TDB_WAL_DEL, .name = "t1", .key = "abc", .klen = 3
	};
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_SWAP,
				  .name = "t1",
				  .name2 = "~0123456789abcdef" };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_MERGE,
				  .name = "t1",
				  .name2 = "~fedcba9876543210" };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_DROP, .name = "t1" };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);

	/* Refused appends change nothing. */
	memset(longname, 'n', sizeof(longname));
	longname[TDB_NAME_MAX] = 0;
	r = (struct tdb_wal_rec){ .type = 99, .name = "t1" };
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -EINVAL);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_DROP };
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -EINVAL);
	r.name = longname;
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -EINVAL);
	longname[TDB_NAME_MAX - 1] = 0; /* 63 bytes: the longest name */
	r = (struct tdb_wal_rec){
		.type = TDB_WAL_PUT, .name = "t1", .key = key, .klen = 0
	};
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -EINVAL);
	r.klen = TDB_KEY_MAX + 1;
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -E2BIG);
	r.klen = 1;
	r.val = t.big;
	r.vlen = TDB_VAL_MAX + 1;
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -E2BIG);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_SWAP, .name = "t1" };
	assert_int_equal(tdb_wal_append(wal, &r, &prev), -EINVAL);
	assert_true(tdb_wal_append_lsn(wal) == end);

	assert_true(tdb_wal_written_lsn(wal) == 0);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_true(tdb_wal_written_lsn(wal) == end);
	assert_true(tdb_wal_durable_lsn(wal) == 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == end);
	assert_int_equal(tdb_wal_last_error(wal), 0);
	tdb_wal_close(wal);

	assert_int_equal(tdb_wal_replay(dir, 0, 0, check_types, &t, &rep), 0);
	assert_int_equal(t.n, 8);
	assert_true(t.ok);
	assert_int_equal(rep.records, 8);
	assert_int_equal(rep.segments, 1);
	assert_int_equal(rep.damage, TDB_WAL_CLEAN);
	assert_true(rep.end_lsn == end);

	/* The longest name round-trips; a missing directory is -ENOENT. */
	wal = open_wal(0);
	assert_true(tdb_wal_append_lsn(wal) == end);
	tdb_wal_close(wal);
	assert_int_equal(tdb_wal_replay("/nonexistent/tdb", 0, 0, check_types,
					&t, &rep),
			 -ENOENT);
	assert_int_equal(tdb_wal_open("/nonexistent/tdb", NULL, &wal), -ENOENT);
	free(t.big);
}

/* Many segments, records larger than a segment, replay from the middle. */
static void test_rotation(void **state)
{
	char names[64][TDB_WAL_FILE_NAME_LEN];
	static struct seen s, s2;
	struct tdb_wal_report rep;
	struct tdb_wal *wal;
	unsigned int k, j;
	int n, i;

	write_log(SEG_SMALL, 300);
	n = list_segs(names, 64);
	assert_true(n >= 10);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_false(s.bad);
	assert_int_equal(s.n, 300);
	assert_int_equal(rep.segments, n);
	assert_true(rep.end_lsn == s.end[299]);
	assert_true(seg_start(names[0]) == 0);
	/* Segments are contiguous; only a lone record may pass the size. */
	for (i = 0; i < n; i++) {
		u64 a = seg_start(names[i]);
		u64 b = i + 1 < n ? seg_start(names[i + 1]) : rep.end_lsn;
		unsigned int in = 0;

		for (k = 0; k < s.n; k++)
			in += s.lsn[k] >= a && s.lsn[k] < b;
		assert_true(in >= 1);
		assert_true(file_size(names[i]) ==
			    (long)(TDB_WAL_SEG_HDR + b - a));
		if (file_size(names[i]) > SEG_SMALL)
			assert_int_equal(in, 1);
	}
	for (k = 1; k < s.n; k++)
		assert_true(s.lsn[k] == s.end[k - 1]);

	/* From a record's LSN (replay starts only on a record boundary). */
	for (k = 0; k < 300; k += 37) {
		assert_int_equal(replay(s.lsn[k], k, 0, &s2, &rep), 0);
		assert_false(s2.bad);
		assert_int_equal(s2.n, 300 - k);
		assert_true(s2.lsn[0] == s.lsn[k]);
		assert_true(rep.segments <= (u32)n);
		assert_int_equal(replay(s.end[k], k + 1, 0, &s2, &rep), 0);
		assert_int_equal(s2.n, 299 - k);
	}
	assert_int_equal(replay(rep.end_lsn, 300, 0, &s2, &rep), 0);
	assert_int_equal(s2.n, 0);

	/* Reopening continues the stream. */
	wal = open_wal(SEG_SMALL);
	assert_true(tdb_wal_append_lsn(wal) == s.end[299]);
	append_run(wal, 300, 200, 0);
	tdb_wal_close(wal);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_false(s.bad);
	assert_int_equal(s.n, 500);
	for (j = 1; j < s.n; j++)
		assert_true(s.lsn[j] == s.end[j - 1]);
}

/* The log cut at every byte of its last record: a torn tail each time. */
static void test_torn_tail(void **state)
{
	char names[64][TDB_WAL_FILE_NAME_LEN], last[TDB_WAL_FILE_NAME_LEN];
	static struct seen s, s2;
	struct tdb_wal_report rep;
	struct tdb_wal *wal;
	long len, from, to, cut;
	char *saved;
	int n;

	write_log(SEG_SMALL, 50);
	n = list_segs(names, 64);
	assert_true(n >= 2);
	strcpy(last, names[n - 1]);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_int_equal(s.n, 50);
	from = rec_off(last, s.lsn[49]);
	to = rec_off(last, s.end[49]);
	saved = read_whole(last, &len);
	assert_int_equal(len, to);

	for (cut = from; cut < to; cut++) {
		write_whole(last, saved, cut);
		assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
		assert_false(s2.bad);
		assert_int_equal(s2.n, 49);
		assert_true(rep.end_lsn == s.lsn[49]);
		if (cut == from) {
			assert_int_equal(rep.damage, TDB_WAL_CLEAN);
		} else {
			assert_int_equal(rep.damage, TDB_WAL_TORN);
			assert_string_equal(rep.file, last);
			assert_int_equal(rep.offset, from);
			assert_true(rep.lsn == s.lsn[49]);
			assert_int_equal(rep.dropped_bytes, cut - from);
			assert_int_equal(rep.dropped_segments, 0);
			assert_non_null(rep.reason);
		}
		assert_int_equal(file_size(last), from);
		/* Appending afterwards works and replays. */
		wal = open_wal(SEG_SMALL);
		assert_true(tdb_wal_append_lsn(wal) == s.lsn[49]);
		append_run(wal, 49, 1, 0);
		tdb_wal_close(wal);
		assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
		assert_int_equal(s2.n, 50);
		assert_int_equal(rep.damage, TDB_WAL_CLEAN);
	}

	/* A zero-filled tail (size extended, data never written) is torn. */
	{
		char *z = calloc(1, len + 300);

		memcpy(z, saved, len);
		write_whole(last, z, len + 300);
		free(z);
		assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
		assert_int_equal(s2.n, 50);
		assert_int_equal(rep.damage, TDB_WAL_TORN);
		assert_int_equal(rep.offset, len);
		assert_int_equal(rep.dropped_bytes, 300);
	}

	/* A segment whose header was cut: the file goes. */
	write_whole(last, saved, 10);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_TORN);
	assert_int_equal(rep.dropped_segments, 1);
	assert_int_equal(rep.dropped_bytes, 10);
	assert_string_equal(rep.file, last);
	assert_true(rep.end_lsn == seg_start(last));
	assert_int_equal(list_segs(names, 64), n - 1);
	wal = open_wal(SEG_SMALL);
	assert_true(tdb_wal_append_lsn(wal) == seg_start(last));
	tdb_wal_close(wal);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_CLEAN);
	free(saved);
}

/* A flipped byte in an early segment: refused, or cut when accepted. */
static void test_corrupt_middle(void **state)
{
	char names[64][TDB_WAL_FILE_NAME_LEN];
	static struct seen s, s2;
	struct tdb_wal_report rep;
	struct tdb_wal *wal;
	long off;
	int n, k;

	write_log(SEG_SMALL, 200);
	n = list_segs(names, 64);
	assert_true(n >= 5);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_true(s.lsn[4] < seg_start(names[1]));
	off = rec_off(names[0], s.lsn[3]);
	flip(names[0], off + TDB_WAL_REC_HDR + 5);

	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_int_equal(rep.damage, TDB_WAL_CORRUPT);
	assert_string_equal(rep.file, names[0]);
	assert_int_equal(rep.offset, off);
	assert_true(rep.lsn == s.lsn[3]);
	assert_string_equal(rep.reason, "bad record CRC");
	assert_int_equal(rep.dropped_bytes, 0);
	assert_non_null(strstr(last_log, names[0]));
	assert_non_null(strstr(last_log, "bad record CRC"));
	assert_int_equal(s2.n, 3);
	/* Refusing changes nothing on disk. */
	assert_int_equal(list_segs(names, 64), n);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	/* Replay from after the damage does not read it. */
	assert_int_equal(replay(s.lsn[150], 150, 0, &s2, &rep), 0);
	assert_int_equal(s2.n, 50);

	assert_int_equal(replay(0, 0, TDB_WAL_ACCEPT_LOSS, &s2, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_LOST);
	assert_string_equal(rep.file, names[0]);
	assert_int_equal(rep.offset, off);
	assert_int_equal(rep.dropped_segments, n - 1);
	assert_true(rep.dropped_bytes ==
		    s.end[199] - s.lsn[3] + (n - 1) * TDB_WAL_SEG_HDR);
	assert_true(rep.end_lsn == s.lsn[3]);
	assert_int_equal(s2.n, 3);
	assert_int_equal(list_segs(names, 64), 1);
	assert_int_equal(file_size(names[0]), off);

	/* The log goes on from the cut. */
	wal = open_wal(SEG_SMALL);
	append_run(wal, 3, 100, 10);
	tdb_wal_close(wal);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
	assert_false(s2.bad);
	assert_int_equal(s2.n, 103);
	assert_int_equal(rep.damage, TDB_WAL_CLEAN);

	/* Damage in a non-last segment's last record is never torn. */
	n = list_segs(names, 64);
	assert_true(n >= 2);
	for (k = 0; k < (int)s2.n && s2.end[k] <= seg_start(names[1]); k++)
		;
	assert_true(k > 0);
	off = rec_off(names[0], s2.lsn[k - 1]);
	flip(names[0], off + 2);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_string_equal(rep.file, names[0]);
	assert_int_equal(rep.offset, off);
}

/* Recomputes the CRC of the record at @off of a segment image. */
static void reseal(char *buf, long off)
{
	u8 *h = (u8 *)buf + off;
	u32 plen = h[4] | h[5] << 8 | h[6] << 16 | (u32)h[7] << 24;
	u32 crc = ~port_crc32c(port_crc32c(~0U, h + TDB_WAL_REC_HDR, plen),
			       h + 4, TDB_WAL_REC_HDR - 4);

	h[0] = (u8)crc;
	h[1] = (u8)(crc >> 8);
	h[2] = (u8)(crc >> 16);
	h[3] = (u8)(crc >> 24);
}

/* Damage in the last segment followed by valid records is corruption. */
static void test_corrupt_last_segment(void **state)
{
	char names[4][TDB_WAL_FILE_NAME_LEN];
	static struct seen s, s2;
	struct tdb_wal_report rep;
	long off, off7, len;
	char *saved, *buf;
	u8 b[4];

	write_log(0, 40);
	assert_int_equal(list_segs(names, 4), 1);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_int_equal(s.n, 40);
	off = rec_off(names[0], s.lsn[5]);
	off7 = rec_off(names[0], s.lsn[7]);
	saved = read_whole(names[0], &len);
	buf = malloc(len);
	assert_non_null(buf);

	/* A length that runs past the end of the file. */
	b[0] = 0x00, b[1] = 0x00, b[2] = 0x10, b[3] = 0x00;
	poke(names[0], off + 4, b, 4);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_int_equal(rep.damage, TDB_WAL_CORRUPT);
	assert_int_equal(rep.offset, off);
	assert_string_equal(rep.reason, "record cut short");
	assert_int_equal(s2.n, 5);
	/* A length past any record. */
	b[2] = 0xff, b[3] = 0x7f;
	poke(names[0], off + 4, b, 4);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_string_equal(rep.reason, "bad record length");

	/* A good CRC over a record that claims another LSN. */
	memcpy(buf, saved, len);
	buf[off7 + 8] ^= 1;
	reseal(buf, off7);
	write_whole(names[0], buf, len);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_int_equal(rep.offset, off7);
	assert_string_equal(rep.reason,
			    "record LSN does not match its position");
	/* An unknown type, and a payload that does not add up. */
	memcpy(buf, saved, len);
	buf[off7 + 16] = 77;
	reseal(buf, off7);
	write_whole(names[0], buf, len);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_string_equal(rep.reason, "unknown record type");
	memcpy(buf, saved, len);
	buf[off7 + TDB_WAL_REC_HDR + 2] ^= 1; /* klen */
	reseal(buf, off7);
	write_whole(names[0], buf, len);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_string_equal(rep.reason, "bad record payload");

	/* The same damage on the very last record is a torn tail. */
	memcpy(buf, saved, len);
	buf[rec_off(names[0], s.lsn[39]) + 30] ^= 1;
	write_whole(names[0], buf, len);
	assert_int_equal(replay(0, 0, 0, &s2, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_TORN);
	assert_int_equal(s2.n, 39);
	assert_true(rep.dropped_bytes == s.end[39] - s.lsn[39]);

	/* Accepting the loss cuts the last segment at the damage. */
	write_whole(names[0], saved, len);
	flip(names[0], off + 30);
	assert_int_equal(replay(0, 0, TDB_WAL_ACCEPT_LOSS, &s2, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_LOST);
	assert_int_equal(rep.offset, off);
	assert_int_equal(rep.dropped_segments, 0);
	assert_int_equal(rep.dropped_bytes, len - off);
	assert_int_equal(s2.n, 5);
	assert_int_equal(file_size(names[0]), off);
	free(buf);
	free(saved);
}

static void put_le32_at(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

/* Bad magic, header CRC and version; the writer refuses them too. */
static void test_bad_header(void **state)
{
	char names[64][TDB_WAL_FILE_NAME_LEN];
	static struct seen s;
	struct tdb_wal_report rep;
	struct tdb_wal *wal;
	u8 h[TDB_WAL_SEG_HDR];
	long len;
	char *saved0, *saved1;
	int n;

	write_log(SEG_SMALL, 100);
	n = list_segs(names, 64);
	assert_true(n >= 3);
	saved0 = read_whole(names[0], &len);
	free(saved0);
	saved0 = read_whole(names[0], &len);

	flip(names[0], 1);
	assert_int_equal(replay(0, 0, 0, &s, &rep), -EBADMSG);
	assert_int_equal(rep.damage, TDB_WAL_CORRUPT);
	assert_string_equal(rep.file, names[0]);
	assert_int_equal(rep.offset, 0);
	assert_string_equal(rep.reason, "bad segment magic");
	assert_int_equal(s.n, 0);
	write_whole(names[0], saved0, len);
	flip(names[0], 9);
	assert_int_equal(replay(0, 0, 0, &s, &rep), -EBADMSG);
	assert_string_equal(rep.reason, "bad segment header CRC");

	/* Another version with a valid CRC: never read, even accepting loss. */
	memcpy(h, saved0, sizeof(h));
	put_le32_at(h + 4, TDB_WAL_VERSION + 1);
	put_le32_at(h + 20, ~port_crc32c(~0U, h, 20));
	poke(names[0], 0, h, sizeof(h));
	assert_int_equal(replay(0, 0, 0, &s, &rep), -EPROTONOSUPPORT);
	assert_string_equal(rep.file, names[0]);
	assert_string_equal(rep.reason, "unknown log format version");
	assert_int_equal(replay(0, 0, TDB_WAL_ACCEPT_LOSS, &s, &rep),
			 -EPROTONOSUPPORT);
	assert_int_equal(list_segs(names, 64), n);
	write_whole(names[0], saved0, len);

	/* The last segment: the writer checks its header. */
	saved1 = read_whole(names[n - 1], &len);
	memcpy(h, saved1, sizeof(h));
	put_le32_at(h + 4, TDB_WAL_VERSION + 1);
	put_le32_at(h + 20, ~port_crc32c(~0U, h, 20));
	poke(names[n - 1], 0, h, sizeof(h));
	assert_int_equal(tdb_wal_open(dir, NULL, &wal), -EPROTONOSUPPORT);
	flip(names[n - 1], 0);
	assert_int_equal(tdb_wal_open(dir, NULL, &wal), -EBADMSG);
	/* A bad header with records after it is corruption, not torn. */
	assert_int_equal(replay(0, 0, 0, &s, &rep), -EBADMSG);
	assert_string_equal(rep.file, names[n - 1]);
	assert_int_equal(replay(0, 0, TDB_WAL_ACCEPT_LOSS, &s, &rep), 0);
	assert_int_equal(rep.damage, TDB_WAL_LOST);
	assert_int_equal(rep.dropped_segments, 1);
	assert_true(rep.end_lsn == seg_start(names[n - 1]));
	assert_int_equal(list_segs(names, 64), n - 1);
	free(saved0);
	free(saved1);
}

static void set_fsize(rlim_t lim)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = lim;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * The disk refuses bytes: the write fails with its error, what was
 * appended stays, appends go on until the buffer is full, and once the
 * disk takes bytes again everything reaches it.
 */
static void test_write_error(void **state)
{
	char names[4][TDB_WAL_FILE_NAME_LEN];
	static struct seen s;
	static char key[64], val[8192];
	struct tdb_wal_opts o = { .segment_size = 64 << 20, .buffer_max = 1 };
	struct tdb_wal_report rep;
	struct tdb_wal_rec r;
	struct tdb_wal *wal;
	u64 good, end = 0;
	unsigned int i;
	int err = 0;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(tdb_wal_open(dir, &o, &wal), 0);
	good = append_run(wal, 0, 10, 0);
	assert_int_equal(list_segs(names, 4), 1);
	set_fsize((rlim_t)file_size(names[0]) + 100);

	for (i = 10; i < 30; i++) {
		make_rec(i, &r, key, val);
		assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	}
	assert_int_equal(tdb_wal_write(wal), -EFBIG);
	assert_int_equal(tdb_wal_last_error(wal), -EFBIG);
	assert_true(tdb_wal_written_lsn(wal) == good);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == good);
	assert_int_equal(tdb_wal_write(wal), -EFBIG);

	/* The buffer (clamped to one largest record) fills: -ENOBUFS. */
	for (i = 30; i < NREC_MAX; i++) {
		make_rec(i, &r, key, val);
		err = tdb_wal_append(wal, &r, &end);
		if (err)
			break;
	}
	assert_int_equal(err, -ENOBUFS);
	assert_true(tdb_wal_append_lsn(wal) - good <=
		    TDB_WAL_REC_HDR + TDB_WAL_PAYLOAD_MAX);

	/* Room again: everything goes out, appends work again. */
	set_fsize(RLIM_INFINITY);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_last_error(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == end);
	append_run(wal, i, 5, 0);
	tdb_wal_close(wal);
	signal(SIGXFSZ, SIG_DFL);

	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	assert_false(s.bad);
	assert_int_equal(s.n, i + 5);
	assert_int_equal(rep.damage, TDB_WAL_CLEAN);
}

/*
 * A rotation whose new segment cannot be written: the full segment is
 * synced and stays durable, the new one is created again on retry.
 */
static void test_rotation_error(void **state)
{
	char names[8][TDB_WAL_FILE_NAME_LEN];
	static char key[64], val[8192];
	static struct seen s;
	struct tdb_wal_report rep;
	struct tdb_wal_rec r;
	struct tdb_wal *wal;
	unsigned int i;
	u64 good, end;
	int n;

	signal(SIGXFSZ, SIG_IGN);
	wal = open_wal(SEG_SMALL);
	good = append_run(wal, 30, 20, 0); /* small records */
	n = list_segs(names, 8);
	/* Record 50 does not fit the segment: rotation, no header room. */
	set_fsize(10);
	for (i = 50; i < 60; i++) {
		make_rec(i, &r, key, val);
		assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	}
	assert_int_equal(tdb_wal_write(wal), -EFBIG);
	assert_int_equal(tdb_wal_write(wal), -EFBIG);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == good);
	assert_true(tdb_wal_written_lsn(wal) == good);
	set_fsize(RLIM_INFINITY);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	assert_true(tdb_wal_durable_lsn(wal) == end);
	tdb_wal_close(wal);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(list_segs(names, 8) > n);
	assert_int_equal(replay(0, 30, 0, &s, &rep), 0);
	assert_false(s.bad);
	assert_int_equal(s.n, 30);
	assert_int_equal(rep.damage, TDB_WAL_CLEAN);
}

/* truncate_before removes exactly the segments a position covers. */
static void test_truncate_before(void **state)
{
	char names[64][TDB_WAL_FILE_NAME_LEN], now[64][TDB_WAL_FILE_NAME_LEN];
	static struct seen s, s2;
	struct tdb_wal_report rep;
	struct tdb_wal *wal;
	unsigned int k5;
	int n, m, i;

	wal = open_wal(SEG_SMALL);
	append_run(wal, 0, 300, 13);
	n = list_segs(names, 64);
	assert_true(n >= 10);
	assert_int_equal(replay(0, 0, 0, &s, &rep), 0);
	for (k5 = 0; s.lsn[k5] < seg_start(names[5]); k5++)
		;

	assert_int_equal(tdb_wal_truncate_before(wal, seg_start(names[3]) - 1),
			 2);
	assert_int_equal(tdb_wal_truncate_before(wal, seg_start(names[3])), 1);
	m = list_segs(now, 64);
	assert_int_equal(m, n - 3);
	for (i = 0; i < m; i++)
		assert_string_equal(now[i], names[i + 3]);
	/* A position inside segment 5 keeps segment 5. */
	assert_int_equal(tdb_wal_truncate_before(wal, seg_start(names[5]) + 1),
			 2);
	m = list_segs(now, 64);
	assert_int_equal(m, n - 5);
	assert_string_equal(now[0], names[5]);
	assert_int_equal(tdb_wal_truncate_before(wal, 0), 0);

	/* Replay from a covered position works; from 0 it cannot. */
	assert_int_equal(replay(0, 0, 0, &s2, &rep), -EBADMSG);
	assert_string_equal(rep.reason,
			    "segments before the replay start are missing");
	assert_int_equal(replay(s.lsn[k5], k5, 0, &s2, &rep), 0);
	assert_false(s2.bad);
	assert_int_equal(s2.n, 300 - k5);
	assert_int_equal(rep.segments, n - 5);

	/* Everything but the current segment. */
	assert_int_equal(tdb_wal_truncate_before(wal, ~0ULL), n - 6);
	assert_int_equal(list_segs(now, 64), 1);
	assert_string_equal(now[0], names[n - 1]);
	append_run(wal, 300, 10, 0);
	tdb_wal_close(wal);
}

/* Appends from several threads while the log thread writes and syncs. */
#define NTHREADS 4
#define PER_THREAD 5000

struct appender {
	struct tdb_wal *wal;
	int id;
	u64 last_end;
};

static int running;

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	struct tdb_wal_rec r = { .type = TDB_WAL_PUT, .name = "conc" };
	char key[32];
	u64 seq;

	for (seq = 0; seq < PER_THREAD; seq++) {
		r.klen = (u32)sprintf(key, "%d", a->id);
		r.key = key;
		r.val = &seq;
		r.vlen = sizeof(seq);
		while (tdb_wal_append(a->wal, &r, &a->last_end) == -ENOBUFS)
			sched_yield();
	}
	__atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct conc_seen {
	u64 next[NTHREADS];
	u64 last_lsn;
	bool bad;
};

static int check_conc(void *arg, const struct tdb_wal_rec *rec, u64 lsn,
		      u64 end)
{
	struct conc_seen *c = arg;
	int id = *(const char *)rec->key - '0';
	u64 seq;

	if (id < 0 || id >= NTHREADS || rec->klen != 1 || rec->vlen != 8 ||
	    lsn < c->last_lsn) {
		c->bad = true;
		return -EINVAL;
	}
	memcpy(&seq, rec->val, 8);
	if (seq != c->next[id]++)
		c->bad = true;
	c->last_lsn = lsn;
	return 0;
}

static void test_concurrent_appends(void **state)
{
	struct tdb_wal_opts o = { .segment_size = 256 << 10 };
	struct appender a[NTHREADS];
	struct tdb_wal_report rep;
	struct conc_seen c = { 0 };
	pthread_t th[NTHREADS];
	struct tdb_wal *wal;
	unsigned int syncs = 0;
	int i;

	assert_int_equal(tdb_wal_open(dir, &o, &wal), 0);
	running = NTHREADS;
	for (i = 0; i < NTHREADS; i++) {
		a[i] = (struct appender){ .wal = wal, .id = i };
		assert_int_equal(
			pthread_create(&th[i], NULL, append_thread, &a[i]), 0);
	}
	/* The log thread: write and sync until all is durable. */
	for (;;) {
		bool done = !__atomic_load_n(&running, __ATOMIC_SEQ_CST);

		assert_int_equal(tdb_wal_write(wal), 0);
		assert_int_equal(tdb_wal_sync(wal), 0);
		syncs++;
		if (done && tdb_wal_durable_lsn(wal) == tdb_wal_append_lsn(wal))
			break;
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_true(a[i].last_end <= tdb_wal_durable_lsn(wal));
	}
	tdb_wal_close(wal);
	assert_true(syncs > 0);

	assert_int_equal(tdb_wal_replay(dir, 0, 0, check_conc, &c, &rep), 0);
	assert_false(c.bad);
	assert_int_equal(rep.records, NTHREADS * PER_THREAD);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(c.next[i], PER_THREAD);
}

/* Tables log their changes: what, in which order, and what they refuse. */
struct logged {
	unsigned int n;
	char what[16][48];
};

static int collect(void *arg, const struct tdb_wal_rec *r, u64 lsn, u64 end)
{
	struct logged *l = arg;

	assert_true(l->n < 16);
	snprintf(l->what[l->n++], sizeof(l->what[0]), "%u %s %.*s %u", r->type,
		 r->name, (int)r->klen, r->key ? (const char *)r->key : "",
		 r->vlen);
	return 0;
}

static void test_table_logging(void **state)
{
	static const char *const want[] = {
		"3 a  0", "3 s  0", "1 a k1 2", "1 s k2 3", "2 a k1 0",
		"4 s  0",
	};
	struct tdb_table_opts async = { .durability = TDB_DUR_ASYNC };
	struct tdb_table_opts sync = { .durability = TDB_DUR_SYNC };
	struct tdb_table_opts mem = { .durability = TDB_DUR_MEMORY };
	struct tdb_wal_opts wo = { .buffer_max = 1 };	/* the minimum */
	struct tdb_wal_report rep;
	struct tdb_table *a, *s, *m;
	struct logged l = { 0 };
	struct tdb_wal *wal;
	struct tdb_db db;
	static u8 big[TDB_VAL_MAX];
	u64 lsn;
	u32 i;

	(void)state;
	rcu_register_thread();
	assert_int_equal(tdb_db_init(&db), 0);
	assert_int_equal(tdb_wal_open(dir, &wo, &wal), 0);
	db.wal = wal;
	assert_int_equal(tdb_table_create(&db, "a", &async), 0);
	assert_int_equal(tdb_table_create(&db, "s", &sync), 0);
	assert_int_equal(tdb_table_create(&db, "m", &mem), 0);
	rcu_read_lock();
	a = tdb_table_find(&db, "a");
	s = tdb_table_find(&db, "s");
	m = tdb_table_find(&db, "m");
	tdb_table_hold(a);
	tdb_table_hold(s);
	tdb_table_hold(m);
	rcu_read_unlock();

	assert_int_equal(tdb_table_put(a, "k1", 2, "v1", 2, 0), 0);
	/* Refused writes are not logged. */
	assert_int_equal(tdb_table_put(a, "k1", 2, "xx", 2, TDB_PUT_CREATE),
			 -EEXIST);
	assert_int_equal(tdb_table_delete(a, "zz", 2), -ENOENT);
	assert_int_equal(tdb_table_put(m, "k9", 2, "m", 1, 0), 0);
	assert_int_equal(tdb_table_log_lsn(m), 0);
	lsn = tdb_table_log_lsn(a);
	assert_int_equal(tdb_table_put(s, "k2", 2, "v22", 3, 0), 0);
	assert_true(tdb_table_log_lsn(s) > lsn);
	assert_int_equal(tdb_table_log_lsn(s), tdb_wal_append_lsn(wal));
	assert_int_equal(tdb_table_delete(a, "k1", 2), 0);
	tdb_table_release(a);
	tdb_table_release(s);

	/*
	 * A log that cannot take a record refuses the write, which does not
	 * happen: the buffer holds one largest record (and what is already
	 * there), and nothing was written out yet.
	 */
	for (i = 0; i < 4; i++)
		if (tdb_table_put(m, "big", 3, big, sizeof(big), 0))
			break;
	assert_int_equal(i, 4);	/* memory tables never touch the log */
	a = NULL;
	assert_int_equal(tdb_table_create(&db, "b", &async), 0);
	rcu_read_lock();
	a = tdb_table_find(&db, "b");
	tdb_table_hold(a);
	rcu_read_unlock();
	assert_int_equal(tdb_table_put(a, "big", 3, big, sizeof(big), 0), 0);
	assert_int_equal(tdb_table_put(a, "big2", 4, big, sizeof(big), 0),
			 -ENOBUFS);
	assert_int_equal(tdb_table_read(a, "big2", 4, big, 0, &i), -ENOENT);
	tdb_table_release(a);
	tdb_table_release(m);
	assert_int_equal(tdb_table_drop(&db, "b", NULL, NULL), 0);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	/* Its CREATE and DROP went to the log: take them out of the list. */
	assert_int_equal(tdb_table_drop(&db, "s", NULL, NULL), 0);
	assert_int_equal(tdb_table_drop(&db, "m", NULL, NULL), 0);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	db.wal = NULL;
	tdb_db_fini(&db);
	tdb_wal_close(wal);
	rcu_unregister_thread();

	assert_int_equal(tdb_wal_replay(dir, 0, 0, collect, &l, &rep), 0);
	assert_int_equal(l.n, ARRAY_SIZE(want) + 3);
	for (i = 0; i < 5; i++)
		assert_string_equal(l.what[i], want[i]);
	assert_string_equal(l.what[5], "3 b  0");
	assert_string_equal(l.what[6], "1 b big 1048576");
	assert_string_equal(l.what[7], "4 b  0");
	assert_string_equal(l.what[8], want[5]);
}

/* The log's messages are expected here: keep the last one to check it. */
/* A TABLE_CREATE with a good CRC but options no table can have is bad. */
static void test_bad_table_opts(void **state)
{
	/* Key type, durability, flags. */
	static const u32 bad[][3] = {
		{ TDB_KEY_TYPE_MAX + 1, TDB_DUR_ASYNC, 0 },
		{ TDB_KEY_BYTES, TDB_DUR_MAX + 1, 0 },
		{ TDB_KEY_BYTES, TDB_DUR_ASYNC, 0x100 },
		{ 0xffffffffU, 0xffffffffU, 0xffffffffU },
	};
	struct tdb_table_opts o = { .key_type = TDB_KEY_TYPE_MAX,
				    .durability = TDB_DUR_MAX,
				    .flags = TDB_TABLE_FLAGS };
	char names[4][TDB_WAL_FILE_NAME_LEN];
	struct tdb_wal_report rep;
	struct tdb_wal_rec r;
	struct tdb_wal *wal;
	struct logged l;
	char *saved, *buf;
	long len, off;
	unsigned int i;
	u64 end, lsn;

	wal = open_wal(0);
	lsn = tdb_wal_append_lsn(wal);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_CREATE,
				  .name = "t",
				  .opts = o };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	r = (struct tdb_wal_rec){ .type = TDB_WAL_TABLE_DROP, .name = "t" };
	assert_int_equal(tdb_wal_append(wal, &r, &end), 0);
	assert_int_equal(tdb_wal_write(wal), 0);
	assert_int_equal(tdb_wal_sync(wal), 0);
	tdb_wal_close(wal);

	/* The largest good values replay. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(tdb_wal_replay(dir, 0, 0, collect, &l, &rep), 0);
	assert_int_equal(l.n, 2);

	assert_int_equal(list_segs(names, 4), 1);
	off = rec_off(names[0], lsn);
	saved = read_whole(names[0], &len);
	buf = malloc(len);
	assert_non_null(buf);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(buf, saved, len);
		put_le32_at((u8 *)buf + off + TDB_WAL_REC_HDR + 16, bad[i][0]);
		put_le32_at((u8 *)buf + off + TDB_WAL_REC_HDR + 20, bad[i][1]);
		put_le32_at((u8 *)buf + off + TDB_WAL_REC_HDR + 32, bad[i][2]);
		reseal(buf, off);
		write_whole(names[0], buf, len);
		memset(&l, 0, sizeof(l));
		assert_int_equal(tdb_wal_replay(dir, 0, 0, collect, &l, &rep),
				 -EBADMSG);
		assert_int_equal(l.n, 0);
		assert_int_equal(rep.damage, TDB_WAL_CORRUPT);
		assert_int_equal(rep.offset, off);
		assert_string_equal(rep.reason, "bad record payload");
		assert_string_equal(rep.file, names[0]);
	}
	free(buf);
	free(saved);
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
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_last_segment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotation_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncate_before, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_logging, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_table_opts, setup,
						teardown),
	};

	port_log_sink = quiet_log;
	tdb_pcache_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
