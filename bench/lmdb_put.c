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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define KEY_LEN 16
#define VAL_LEN 100

static const char *dir;
static int procs = 4;
static double seconds = 5.0;
static size_t mapsize = 4096; /* MiB: sparse, far more than S seconds use */

struct result {
	uint64_t puts;
	double elapsed;
};

static void fail(const char *what, int rc)
{
	fprintf(stderr, "bench/lmdb_put: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

/* Opens the environment in @dir; the caller closes it. */
static MDB_env *env_open(void)
{
	MDB_env *env;
	int rc;

	rc = mdb_env_create(&env);
	if (rc)
		fail("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(env, mapsize << 20);
	if (rc)
		fail("mdb_env_set_mapsize", rc);
	rc = mdb_env_open(env, dir, 0, 0644);
	if (rc)
		fail("mdb_env_open", rc);
	return env;
}

/*
 * One writer: waits for the start (EOF on @go), then commits one put per
 * transaction for the set time.
 */
static struct result writer(int w, int ready, int go)
{
	uint8_t key[KEY_LEN], val[VAL_LEN];
	struct result r = { 0, 0 };
	MDB_val k = { KEY_LEN, key }, v = { VAL_LEN, val };
	uint64_t i = (uint64_t)w << 40;
	double start, end, t;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env;
	char c = 0;
	int rc;

	env = env_open();
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		fail("mdb_dbi_open", rc);
	rc = mdb_txn_commit(txn);
	if (rc)
		fail("mdb_txn_commit", rc);

	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 0)
		exit(1);
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
		r.puts++;
		t = now();
	} while (t < end);
	r.elapsed = t - start;
	mdb_env_close(env);
	return r;
}

/* Removes the files of an environment left in @dir. */
static void env_clear(void)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char path[4096];
	unsigned int i;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench/lmdb_put: mkdir %s: %s\n", dir,
			strerror(errno));
		exit(1);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "bench/lmdb_put: unlink %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
	}
}

static void usage(FILE *f)
{
	fputs("usage: lmdb_put --dir DIR [--procs N] [--seconds S] [--mapsize MIB]\n"
	      "Measures LMDB puts/s, one synced write transaction per put.\n",
	      f);
}

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
	int ready[2], go[2], res[2], c, i, status, bad = 0;
	struct result r, sum = { 0, 0 };
	MDB_env *env;
	double rate;

	while ((c = getopt_long(argc, argv, "d:p:s:m:h", opts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || procs < 1 || procs > 256 || seconds <= 0 || !mapsize) {
		usage(stderr);
		return 2;
	}

	/* Create the environment once, so that no writer races to. */
	env_clear();
	env = env_open();
	mdb_env_close(env);

	if (pipe(ready) < 0 || pipe(go) < 0 || pipe(res) < 0) {
		perror("bench/lmdb_put: pipe");
		return 1;
	}
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("bench/lmdb_put: fork");
			return 1;
		}
		if (!pid) {
			close(ready[0]);
			close(go[1]);
			close(res[0]);
			r = writer(i, ready[1], go[0]);
			if (write(res[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(res[1]);
	for (i = 0; i < procs; i++)
		if (read(ready[0], &c, 1) != 1)
			break;
	/* All open (or one died): EOF on go starts them together. */
	close(go[1]);
	for (i = 0; i < procs; i++) {
		if (read(res[0], &r, sizeof(r)) != sizeof(r))
			break;
		sum.puts += r.puts;
		if (r.elapsed > sum.elapsed)
			sum.elapsed = r.elapsed;
	}
	if (i < procs)
		bad = 1;
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	if (bad) {
		fprintf(stderr, "bench/lmdb_put: a writer failed\n");
		return 1;
	}

	rate = sum.puts / sum.elapsed;
	printf("LMDB durable puts/s (%d processes, one environment, default flags: synced commits, one put per write transaction, %d-byte keys, %d-byte values, %.1f s)\n",
	       procs, KEY_LEN, VAL_LEN, seconds);
	printf("  %-28s %12.0f\n", "puts/s", rate);
	/* One writer commits at a time: the commits run back to back. */
	printf("  %-28s %12.3f\n", "ms per commit", 1e3 / rate);
	printf("result lmdb_puts_per_s %.0f\n", rate);
	return 0;
}
