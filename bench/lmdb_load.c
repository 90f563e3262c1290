// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/lmdb_load - the LMDB peer of the bulk-load benchmark
 * (scripts/bench-load.sh): loads a prefix set into LMDB in one durable
 * write transaction.
 *
 *   lmdb_load --dir DIR --file FILE [--sorted] [--mapsize MIB]
 *
 * FILE holds "PREFIX ACTION" lines as bench/prefixes writes them
 * (plain.txt: "10.1.0.0/16 drop").  Each becomes one mdb_put() into the
 * main database of a fresh environment in DIR (created if missing; an
 * environment already there is removed first), all in one write
 * transaction: the key is the prefix as tdb's cidr4 key type stores it
 * (4 address bytes in network order, then the length: 5 bytes), the value
 * the action as one byte (0 accept, 1 drop, 2 reject).  The environment
 * is opened with mdb_env_open()'s default flags, so the commit returns
 * once the data and then the meta page are on disk (fdatasync, then an
 * O_DSYNC write).  The file is read and parsed inside the measured time,
 * as the other peers read and parse theirs.
 *
 * In file order (shuffled: random inserts into the B-tree) by default;
 * --sorted sorts the records in memory first and appends them with
 * MDB_APPEND, LMDB's fastest way to fill a database (the sort counts in
 * the time).
 *
 * Prints the time of each step and "result lmdb_load_s SECONDS" (from
 * before the file is opened to the commit's return) for the script,
 * which also times the whole process.  Exit status 1 on any error.
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void fail(const char *what, int rc)
{
	fprintf(stderr, "bench/lmdb_load: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

/*
 * Sorts @n records by key: an LSD radix sort over the 40 key bits, in the
 * byte order that memcmp() (LMDB's default comparison) gives.
 */
static void sort_recs(struct prefix_line *r, size_t n)
{
	uint64_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b)), *t;
	size_t count[256], i, pos;
	unsigned int shift, d;

	if (!a || !b) {
		fputs("bench/lmdb_load: out of memory\n", stderr);
		exit(1);
	}
	/* Key bytes 0..4 in bits 47..8, the action in bits 7..0. */
	for (i = 0; i < n; i++) {
		uint64_t v = 0;

		for (d = 0; d < 5; d++)
			v = v << 8 | r[i].key[d];
		a[i] = v << 8 | r[i].action;
	}
	for (shift = 8; shift < 48; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(a[i] >> shift) & 0xff]++;
		for (pos = 0, d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 0xff]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (i = 0; i < n; i++) {
		for (d = 0; d < 5; d++)
			r[i].key[d] = a[i] >> (40 - 8 * d) & 0xff;
		r[i].action = a[i] & 0xff;
	}
	free(a);
	free(b);
}

static const char usage[] =
	"usage: lmdb_load --dir DIR --file FILE [--sorted] [--mapsize MIB]\n"
	"Loads \"PREFIX ACTION\" lines into LMDB in one synced write transaction.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "sorted", no_argument, NULL, 'S' },
		{ "mapsize", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double t0, t_parse, t_sort, t_put, t_commit;
	const char *dir = NULL, *file = NULL;
	size_t mapsize = 1024, n, i;
	struct prefix_line *recs;
	unsigned int flags = 0;
	int sorted = 0, c, rc;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	while ((c = bench_getopt(argc, argv, "d:f:Sm:h", opts, usage)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'S':
			sorted = 1;
			break;
		case 'm':
			mapsize = strtoul(optarg, NULL, 10);
			break;
		}
	}
	if (!dir || !file || !mapsize)
		usage_exit(usage, 2);
	lmdb_dir_clear("bench/lmdb_load", dir);

	t0 = now();
	recs = read_prefix_file("bench/lmdb_load", file, &n);
	t_parse = now();
	if (sorted) {
		sort_recs(recs, n);
		flags = MDB_APPEND;
	}
	t_sort = now();

	env = lmdb_env_open("bench/lmdb_load", dir, mapsize);
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		fail("mdb_dbi_open", rc);
	for (i = 0; i < n; i++) {
		MDB_val k = { 5, recs[i].key }, v = { 1, &recs[i].action };

		rc = mdb_put(txn, dbi, &k, &v, flags);
		if (rc)
			fail("mdb_put", rc);
	}
	t_put = now();
	rc = mdb_txn_commit(txn);
	if (rc)
		fail("mdb_txn_commit", rc);
	t_commit = now();
	mdb_env_close(env);
	free(recs);

	printf("LMDB bulk load (%zu prefixes, one write transaction, %s, default flags: synced commit; 5-byte keys, 1-byte values)\n",
	       n, sorted ? "sorted, MDB_APPEND" : "file order");
	printf("  %-28s %12.3f\n", "read and parse, s", t_parse - t0);
	if (sorted)
		printf("  %-28s %12.3f\n", "sort, s", t_sort - t_parse);
	printf("  %-28s %12.3f\n", "puts, s", t_put - t_sort);
	printf("  %-28s %12.3f\n", "commit (synced), s", t_commit - t_put);
	printf("  %-28s %12.3f  (%.0f records/s)\n", "total, s", t_commit - t0,
	       n / (t_commit - t0));
	printf("result lmdb_load%s_s %.6f\n", sorted ? "_sorted" : "",
	       t_commit - t0);
	return 0;
}
