// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/lmdb_get - batched random gets in LMDB: the peer that bench/gets
 * measures tdb against in workloads 1 and 6 of issue 7.
 *
 *   lmdb_get --dir DIR --workload 1|6 [--records LIST] [--procs LIST]
 *            [--seconds S] [--runs R]
 *
 * For each record count N of the first LIST (default 1000000; commas or
 * spaces), makes a fresh environment in DIR/N (DIR and DIR/N created if
 * missing; an environment already there is removed first), opened with
 * mdb_env_open()'s default flags, with a map of 256 bytes per record plus
 * 64 MiB (the file stays sparse), and puts N records into its main
 * database: bench/gets's keys and values (16 bytes from make_key(),
 * 100-byte values holding their key's index), sorted first and appended
 * with MDB_APPEND, 100000 puts per write transaction: full pages, the
 * smallest and fastest tree LMDB can have, so that the peer is at its
 * best.  The environments all stay until the end (and after: the caller
 * removes DIR).
 *
 * Then, for each environment and each process count P of the second LIST
 * (default "1,2,4"), P reader processes (forked; each opens the
 * environment itself, as LMDB requires after fork(), and reads every
 * record once with a cursor so that the whole file is mapped in, as in a
 * reader that has run for a while; then all start together) get random
 * existing keys for S seconds (default 3), in rounds
 * of 64: one read transaction per round (mdb_txn_renew(), 64 mdb_get(),
 * mdb_txn_reset(): LMDB's documented way to reuse a read-only transaction
 * and its reader slot), the same unit of work as one tdb batch of 64.
 * Every value is checked (its length, and that it is its key's: index and
 * filler byte).  Gets/s, all readers together, over the longest reader's
 * time; each figure the median of R runs (default 3), each run going round
 * all environments and process counts.  The keys of process p in run r
 * come from the seed (r << 32) + 7919 p + 1, as in bench/gets: both peers
 * look up the same keys.
 *
 * --workload names the result lines: 1 takes one record count and gives
 * "result w1_lmdb_pP_gets_per_s N" for each P; 6 takes one process count
 * and gives "result w6_lmdb_rN_gets_per_s" and
 * "result w6_lmdb_rN_bytes_per_record" for each N: the bytes of the
 * database's pages (branch, leaf and overflow, from mdb_env_stat())
 * divided by N, what the page cache must hold for the readers to answer
 * without reading the disk.  The data file in use (free pages included)
 * is printed too.  Beside each rate, the readers' CPU time per get over
 * the measurement (getrusage() of the children, less what they used to
 * open and warm up, read in /proc/PID/stat while they wait for the
 * start), as bench/gets prints tdb's.  Exit status 1 on any error, 2 on
 * a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

#define NAME "bench/lmdb_get"
#define KEY_LEN 16
#define VAL_LEN BENCH_VAL_LEN
#define DEPTH 64
#define RUNS_MAX BENCH_RUNS_MAX
#define PROCS_MAX 16
#define TABLES_MAX 8
#define PUTS_PER_TXN 100000

static const char *dir;
static double seconds = 3.0;
static int runs = 3;
static int workload;

/* The record counts, each with its environment, and the process counts. */
static int nenvs;
static uint64_t records[TABLES_MAX];
static char env_dirs[TABLES_MAX][4096];
static size_t mapsizes[TABLES_MAX]; /* MiB */
static int nprocs;
static uint64_t procs[PROCS_MAX];

static __attribute__((noreturn)) void fail(const char *what, int rc)
{
	lmdb_fail(NAME, what, rc);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KEY_LEN);
}

/*
 * Fills a fresh environment for environment @e, in key order with
 * MDB_APPEND; *@tree gets the bytes of the database's pages, *@file those
 * of the data file in use.
 */
static void load(int e, uint64_t *tree, uint64_t *file)
{
	uint64_t i, idx, n = records[e];
	uint8_t (*keys)[KEY_LEN], val[VAL_LEN];
	MDB_val k = { KEY_LEN, NULL }, v = { VAL_LEN, val };
	MDB_envinfo ei;
	MDB_stat st;
	MDB_txn *txn;
	MDB_env *env;
	MDB_dbi dbi;
	int rc;

	keys = malloc(n * KEY_LEN);
	if (!keys) {
		fprintf(stderr, NAME ": no memory for %llu keys\n",
			(unsigned long long)n);
		exit(1);
	}
	for (i = 0; i < n; i++)
		make_key(keys[i], i);
	/* memcmp() order, LMDB's default, as MDB_APPEND wants it. */
	qsort(keys, n, KEY_LEN, key_cmp);

	lmdb_dir_clear(NAME, env_dirs[e]);
	env = lmdb_env_open(NAME, env_dirs[e], mapsizes[e]);
	for (i = 0; i < n;) {
		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc)
			fail("mdb_txn_begin", rc);
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		if (rc)
			fail("mdb_dbi_open", rc);
		do {
			/* make_key() keeps the index in the second half. */
			memcpy(&idx, keys[i] + 8, sizeof(idx));
			make_val(val, idx);
			k.mv_data = keys[i];
			rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
			if (rc)
				fail("mdb_put", rc);
		} while (++i < n && i % PUTS_PER_TXN);
		rc = mdb_txn_commit(txn);
		if (rc)
			fail("mdb_txn_commit", rc);
	}
	free(keys);
	rc = mdb_env_info(env, &ei);
	if (rc)
		fail("mdb_env_info", rc);
	rc = mdb_env_stat(env, &st);
	if (rc)
		fail("mdb_env_stat", rc);
	if (st.ms_entries != n) {
		fprintf(stderr, NAME ": %s holds %zu records, not %llu\n",
			env_dirs[e], st.ms_entries, (unsigned long long)n);
		exit(1);
	}
	mdb_env_close(env);
	*tree = ((uint64_t)st.ms_branch_pages + st.ms_leaf_pages +
		 st.ms_overflow_pages) * st.ms_psize;
	*file = ((uint64_t)ei.me_last_pgno + 1) * st.ms_psize;
}

/* A reader process: what it gets from the parent. */
struct reader_arg {
	int env;
	int run;
};

/*
 * Reads every record once with a cursor, checking the count: a fresh
 * process maps the file's pages one fault at a time, and a reader that
 * has run for a while has them all mapped.  Without this, the faults of
 * the first seconds would be counted against LMDB.
 */
static void warm(MDB_txn *txn, MDB_dbi dbi, uint64_t n)
{
	MDB_val k, v;
	MDB_cursor *cur;
	uint64_t seen = 0;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		fail("mdb_cursor_open", rc);
	while (!(rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)))
		seen++;
	if (rc != MDB_NOTFOUND)
		fail("mdb_cursor_get", rc);
	mdb_cursor_close(cur);
	if (seen != n) {
		fprintf(stderr, NAME ": a scan found %llu records, not %llu\n",
			(unsigned long long)seen, (unsigned long long)n);
		exit(1);
	}
}

/*
 * One reader process: opens, maps the data in (warm()), waits for the
 * start, gets for S seconds.
 */
static void reader(int id, void *arg, struct team_result *r)
{
	const struct reader_arg *a = arg;
	uint64_t x = ((uint64_t)a->run << 32) + (uint64_t)id * 7919 + 1;
	uint64_t i, n = records[a->env];
	uint8_t key[KEY_LEN];
	MDB_val k = { KEY_LEN, key }, v;
	double start, end, t;
	MDB_txn *txn;
	MDB_env *env;
	MDB_dbi dbi;
	int rc, j;

	env = lmdb_env_open(NAME, env_dirs[a->env], mapsizes[a->env]);
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		fail("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc)
		fail("mdb_dbi_open", rc);
	warm(txn, dbi, n);
	mdb_txn_reset(txn);
	team_wait_go();
	start = now();
	end = start + seconds;
	do {
		rc = mdb_txn_renew(txn);
		if (rc)
			fail("mdb_txn_renew", rc);
		for (j = 0; j < DEPTH; j++) {
			x = splitmix(x);
			i = x % n;
			make_key(key, i);
			rc = mdb_get(txn, dbi, &k, &v);
			if (rc)
				fail("mdb_get", rc);
			check_val(NAME, "LMDB", v.mv_data, v.mv_size, i);
		}
		mdb_txn_reset(txn);
		r->ops += DEPTH;
		r->hits += DEPTH;
		t = now();
	} while (t < end);
	r->elapsed = t - start;
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/*
 * One measurement: @p readers of environment @e, run @run; gets/s, and in
 * *@cpu the readers' CPU microseconds per get from the start to the end
 * (not opening and warm()).
 */
static double measure(int e, int p, int run, double *cpu)
{
	struct reader_arg a = { .env = e, .run = run };
	double c0 = bench_children_cpu();
	struct team_result sum;
	struct team team;
	int i;

	team_start(&team, NAME, p, reader, &a);
	/* All wait for the start: what they used so far is set-up. */
	for (i = 0; i < p; i++)
		c0 += bench_proc_cpu(NAME, team.pids[i]);
	if (team_run(&team, &sum)) {
		fprintf(stderr,
			NAME ": %llu records, %d processes, run %d: a reader failed\n",
			(unsigned long long)records[e], p, run + 1);
		exit(1);
	}
	*cpu = (bench_children_cpu() - c0) * 1e6 / sum.ops;
	return sum.ops / sum.elapsed;
}

static const char usage[] =
	"usage: lmdb_get --dir DIR --workload 1|6 [--records LIST] [--procs LIST]\n"
	"                [--seconds S] [--runs R]\n"
	"Batched random gets in LMDB, one read transaction per 64, for workload 1\n"
	"(one record count, default 1000000; process counts, default 1,2,4) or 6\n"
	"(record counts; one process count, default 4) of issue 7.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "workload", required_argument, NULL, 'w' },
		{ "records", required_argument, NULL, 'r' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static double rate[TABLES_MAX][PROCS_MAX][RUNS_MAX];
	static double cpu[TABLES_MAX][PROCS_MAX][RUNS_MAX];
	uint64_t tree[TABLES_MAX], file[TABLES_MAX];
	const char *rlist = "1000000", *plist = NULL;
	double load_t[TABLES_MAX];
	int c, e, i, run;

	while ((c = bench_getopt(argc, argv, "d:w:r:p:s:n:h", opts, usage)) !=
	       -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'w':
			workload = atoi(optarg);
			break;
		case 'r':
			rlist = optarg;
			break;
		case 'p':
			plist = optarg;
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		}
	}
	/* Beyond 2^48 records the map size would overflow. */
	nenvs = bench_parse_list(rlist, records, TABLES_MAX, 1ULL << 48);
	nprocs = bench_parse_list(plist ? plist : workload == 6 ? "4" : "1,2,4",
			    procs, PROCS_MAX, TEAM_MAX);
	if (nenvs < 0 || nprocs < 0) {
		fprintf(stderr,
			NAME ": --records takes 1 to %d counts, --procs 1 to %d counts of 1 to %d processes\n",
			TABLES_MAX, PROCS_MAX, TEAM_MAX);
		usage_exit(usage, 2);
	}
	if (!dir || (workload != 1 && workload != 6) || seconds <= 0 ||
	    runs < 1 || runs > RUNS_MAX)
		usage_exit(usage, 2);
	if (workload == 1 && nenvs != 1) {
		fputs(NAME ": workload 1 takes one record count\n", stderr);
		usage_exit(usage, 2);
	}
	if (workload == 6 && nprocs != 1) {
		fputs(NAME ": workload 6 takes one process count\n", stderr);
		usage_exit(usage, 2);
	}

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, NAME ": mkdir %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	for (e = 0; e < nenvs; e++) {
		snprintf(env_dirs[e], sizeof(env_dirs[e]), "%s/%llu", dir,
			 (unsigned long long)records[e]);
		mapsizes[e] = records[e] * 256 / 1048576 + 64;
		load_t[e] = now();
		load(e, &tree[e], &file[e]);
		load_t[e] = now() - load_t[e];
	}

	for (run = 0; run < runs; run++)
		for (e = 0; e < nenvs; e++)
			for (i = 0; i < nprocs; i++)
				rate[e][i][run] = measure(e, (int)procs[i],
							  run, &cpu[e][i][run]);

	printf("LMDB %d.%d.%d batched gets (workload %d): %d-byte keys, %d-byte values; median of %d run%s, %.1f s each\n",
	       MDB_VERSION_MAJOR, MDB_VERSION_MINOR, MDB_VERSION_PATCH,
	       workload, KEY_LEN, VAL_LEN, runs, runs == 1 ? "" : "s",
	       seconds);
	printf("  environments in %s, default flags; per round of %d: mdb_txn_renew(), %d x mdb_get(), mdb_txn_reset(); every value checked\n",
	       dir, DEPTH, DEPTH);
	for (e = 0; e < nenvs; e++) {
		printf("  %llu records: loaded at %.0f records/s (sorted, then MDB_APPEND, %d puts per write transaction: the densest tree)\n",
		       (unsigned long long)records[e], records[e] / load_t[e],
		       PUTS_PER_TXN);
		for (i = 0; i < nprocs; i++)
			bench_gets_cell("lmdb", workload, records[e], procs[i],
					rate[e][i], cpu[e][i], runs, "readers");
		printf("    memory: the tree's pages %.1f MiB: %.1f bytes/record (the data file uses %.1f MiB of a %zu MiB map)\n",
		       tree[e] / 1048576.0, (double)tree[e] / records[e],
		       file[e] / 1048576.0, mapsizes[e]);
	}

	for (e = 0; e < nenvs && workload == 6; e++)
		printf("result w6_lmdb_r%llu_bytes_per_record %.1f\n",
		       (unsigned long long)records[e],
		       (double)tree[e] / records[e]);
	return 0;
}
