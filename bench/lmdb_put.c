// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/lmdb_put - durable puts per second in LMDB, the peer that
 * bench/durable measures tdb's sync tables against.
 *
 *   lmdb_put --dir DIR [--procs N] [--seconds S] [--mapsize MIB]
 *
 * N writer processes (default 4, forked) share one environment in DIR
 * (created if missing; an environment already there is removed first),
 * opened with mdb_env_open()'s default flags: a commit returns once its
 * pages and then its meta page are on disk (fdatasync, then a write
 * through the O_DSYNC meta descriptor).  Each writer commits one write
 * transaction per put into the main database, with the keys and values of
 * bench/durable (16 bytes from make_key(), writer w using indexes
 * w << 40 onwards; 100-byte values), for S seconds (default 5).  LMDB
 * admits one write transaction at a time, so the writers queue on its
 * lock.  They start together, after each has opened the environment.
 * Every put is a new key: afterwards the database must hold one entry
 * per committed put.
 *
 * Prints puts/s, all writers together, the time per commit, and one
 * line "result lmdb_puts_per_s N" for scripts/bench-durable.sh.  Exit
 * status 1 on any error.
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define KEY_LEN 16
#define VAL_LEN 100

static const char *dir;
static int procs = 4;
static double seconds = 5.0;
static size_t mapsize = 4096; /* MiB: sparse, far more than S seconds use */

static void fail(const char *what, int rc)
{
	fprintf(stderr, "bench/lmdb_put: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

/*
 * One writer (a team member): once the environment is open, commits one
 * put per transaction for the set time.
 */
static void writer(int w, void *arg, struct team_result *r)
{
	uint8_t key[KEY_LEN], val[VAL_LEN];
	MDB_val k = { KEY_LEN, key }, v = { VAL_LEN, val };
	uint64_t i = (uint64_t)w << 40;
	double start, end, t;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env;
	int rc;

	env = lmdb_env_open("bench/lmdb_put", dir, mapsize);
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		fail("mdb_dbi_open", rc);
	rc = mdb_txn_commit(txn);
	if (rc)
		fail("mdb_txn_commit", rc);

	team_wait_go();
	start = now();
	end = start + seconds;
	do {
		make_key(key, i);
		memset(val, (int)(i & 0xff), sizeof(val));
		memcpy(val, &i, sizeof(i));
		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc)
			fail("mdb_txn_begin", rc);
		rc = mdb_put(txn, dbi, &k, &v, 0);
		if (rc)
			fail("mdb_put", rc);
		rc = mdb_txn_commit(txn);
		if (rc)
			fail("mdb_txn_commit", rc);
		i++;
		r->ops++;
		t = now();
	} while (t < end);
	r->elapsed = t - start;
	mdb_env_close(env);
}

static const char usage[] =
	"usage: lmdb_put --dir DIR [--procs N] [--seconds S] [--mapsize MIB]\n"
	"Measures LMDB puts/s, one synced write transaction per put.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "mapsize", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct team_result sum;
	struct team team;
	MDB_stat ms;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env;
	double rate;
	int c, rc;

	while ((c = bench_getopt(argc, argv, "d:p:s:m:h", opts, usage)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'm':
			mapsize = strtoul(optarg, NULL, 10);
			break;
		}
	}
	if (!dir || procs < 1 || procs > TEAM_MAX || seconds <= 0 || !mapsize)
		usage_exit(usage, 2);

	/* Create the environment once, so that no writer races to. */
	lmdb_dir_clear("bench/lmdb_put", dir);
	mdb_env_close(lmdb_env_open("bench/lmdb_put", dir, mapsize));

	team_start(&team, "bench/lmdb_put", procs, writer, NULL);
	if (team_run(&team, &sum)) {
		fputs("bench/lmdb_put: a writer failed\n", stderr);
		return 1;
	}
	env = lmdb_env_open("bench/lmdb_put", dir, mapsize);
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (!rc)
		rc = mdb_stat(txn, dbi, &ms);
	if (rc)
		fail("mdb_stat", rc);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	if (ms.ms_entries != sum.ops) {
		fprintf(stderr,
			"bench/lmdb_put: %llu puts were committed but the database holds %llu entries\n",
			(unsigned long long)sum.ops,
			(unsigned long long)ms.ms_entries);
		return 1;
	}

	rate = sum.ops / sum.elapsed;
	printf("LMDB durable puts/s (%d processes, one environment, default flags: synced commits, one put per write transaction, %d-byte keys, %d-byte values, %.1f s)\n",
	       procs, KEY_LEN, VAL_LEN, seconds);
	printf("  %-28s %12.0f\n", "puts/s", rate);
	/* One writer commits at a time: the commits run back to back. */
	printf("  %-28s %12.3f\n", "ms per commit", 1e3 / rate);
	printf("result lmdb_puts_per_s %.0f\n", rate);
	return 0;
}
