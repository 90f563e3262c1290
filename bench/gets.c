// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench/gets - batched random gets through tdbd: the tdb side of
 * workloads 1 and 6 of issue 7 (bench/lmdb_get is the LMDB side).
 *
 *   gets --workload 1|6 [--records LIST] [--procs LIST] [--seconds S]
 *        [--runs R] [--owner-pid PID]
 *
 * Starts nothing: tdb is the owner at $TDB_SOCKET (else the default
 * socket), reached through libtdb.  For each record count N of the first
 * LIST (default 1000000; commas or spaces), in its order, creates a
 * private table of durability memory (gets do not touch the log, and a
 * memory table keeps the log's buffers out of the memory figure) and
 * puts N records into it: 16-byte keys from bench.h make_key(), 100-byte
 * values holding their key's index, in index order (which make_key()'s
 * hashed first half makes a random key order), as one stream of batched
 * puts.  The tables all stay until the end.
 *
 * Then, for each table and each process count P of the second LIST
 * (default "1,2,4"), P client processes (forked; each connects, then all
 * start together) get random existing keys of that table for S seconds
 * (default 3): rounds of tdb_batch_get() x 64, tdb_batch_submit(),
 * tdb_batch_reap() of all 64.  Every answer is checked: its length, and
 * that it is the value of its key (index and filler byte), so that
 * nothing is counted unseen.  Gets/s, all processes together, over the
 * longest process's time.  Each figure is the median of R runs (default
 * 3); each run goes round all tables and process counts, so that a noisy
 * moment of the machine spreads over all of them and the ratios between
 * them hold.  The keys of process p in run r come from the seed
 * (r << 32) + 7919 p + 1, as in bench/lmdb_get: both peers look up the
 * same keys.
 *
 * --workload names the result lines: 1 takes one record count and gives
 * "result w1_tdb_pP_gets_per_s N" for each P; 6 takes one process count
 * and gives "result w6_tdb_rN_gets_per_s" and
 * "result w6_tdb_rN_bytes_per_record" for each N: the growth of the
 * owner's RssAnon (/proc/PID/status of --owner-pid, required) over the
 * load of that table, from just after it was created (empty) to just
 * after its last put was answered, divided by N.  That counts every page
 * the owner took for the records and their index, its allocator's slack
 * and its huge pages' rounding included, whatever the engine's own
 * bookkeeping says; the connections' rings are shared memory (RssShmem),
 * not in it.  The owner must be fresh and serve nothing else meanwhile:
 * memory freed before (a table dropped) would be reused without growing
 * RssAnon, so a growth smaller than the keys and values themselves is
 * refused as an error.  The engine's own figure (tdb_info()'s mem_bytes)
 * is printed next to it.  With --owner-pid in workload 1 too, the same
 * memory figures are printed (not as results).
 *
 * Beside each rate, the CPU time per get: the clients' (getrusage() of
 * the children, less what they used to connect, read in /proc/PID/stat
 * while they wait for the start) plus the owner's (/proc/PID/stat, when
 * --owner-pid is given), over the measurement.  On a busy machine
 * it moves less than the rate does, and it shows what the rings cost
 * where the CPUs are fewer than clients and workers (spinning included).
 *
 * Exit status 1 on any error, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "tdb/tdb.h"

#define NAME "bench/gets"
#define KEY_LEN 16
#define VAL_LEN BENCH_VAL_LEN
#define DEPTH 64
#define RUNS_MAX BENCH_RUNS_MAX
#define PROCS_MAX 16

#define TABLES_MAX 8
/* Records to put in flight while loading (not measured). */
#define LOAD_DEPTH 1024

static double seconds = 3.0;
static int runs = 3;
static int workload;
static long owner_pid;

/* The record counts, each with its table, and the process counts. */
static int ntables;
static uint64_t records[TABLES_MAX];
static char tables[TABLES_MAX][TDB_NAME_MAX];
static int nprocs;
static uint64_t procs[PROCS_MAX];

static __attribute__((noreturn)) void fail(const char *what, int err)
{
	fprintf(stderr, NAME ": %s: %s\n", what, tdb_strerror(err));
	exit(1);
}

/* Reaps what has come (at least @min), failing on any put's error. */
static void reap_puts(struct tdb_batch *b, unsigned int min)
{
	struct tdb_completion c[DEPTH];
	int n, k;

	n = tdb_batch_reap(b, c, DEPTH, min);
	if (n < 0)
		fail("tdb_batch_reap", n);
	for (k = 0; k < n; k++)
		if (c[k].status)
			fail("batched put", c[k].status);
}

/* Puts records 0 to @n - 1 into @table, LOAD_DEPTH in flight. */
static void load(struct tdb *db, const char *table, uint64_t n)
{
	uint8_t key[KEY_LEN], val[VAL_LEN];
	struct tdb_batch *b;
	uint64_t i;
	int err;

	b = tdb_batch_new(db, LOAD_DEPTH);
	if (!b)
		fail("tdb_batch_new", -errno);
	for (i = 0; i < n; i++) {
		while (tdb_batch_pending(b) == LOAD_DEPTH)
			reap_puts(b, 1);
		make_key(key, i);
		make_val(val, i);
		err = tdb_batch_put(b, table, key, KEY_LEN, val, VAL_LEN, 0,
				    NULL);
		if (err)
			fail("tdb_batch_put", err);
	}
	while (tdb_batch_pending(b))
		reap_puts(b, tdb_batch_pending(b));
	tdb_batch_free(b);
}

/* A client process: what it gets from the parent. */
struct client_arg {
	struct tdb *parent_db;
	const char *table;
	uint64_t nrecords;
	int run;
};

/* One client process: connects, waits for the start, gets for S seconds. */
static void client(int id, void *arg, struct team_result *r)
{
	const struct client_arg *a = arg;
	uint64_t x = ((uint64_t)a->run << 32) + (uint64_t)id * 7919 + 1;
	struct tdb_completion c[DEPTH];
	uint8_t key[KEY_LEN];
	uint64_t idx[DEPTH];
	double start, end, t;
	struct tdb_batch *b;
	unsigned int done;
	struct tdb *db;
	int err, n, j, k;

	/* The parent's rings are not ours (tdb.h, fork()). */
	tdb_close(a->parent_db);
	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect", err);
	b = tdb_batch_new(db, DEPTH);
	if (!b)
		fail("tdb_batch_new", -errno);
	team_wait_go();
	start = now();
	end = start + seconds;
	do {
		for (j = 0; j < DEPTH; j++) {
			x = splitmix(x);
			idx[j] = x % a->nrecords;
			make_key(key, idx[j]);
			/* The slot rides in user, to check the value. */
			err = tdb_batch_get(b, a->table, key, KEY_LEN,
					    (void *)(uintptr_t)j);
			if (err)
				fail("tdb_batch_get", err);
		}
		err = tdb_batch_submit(b);
		if (err)
			fail("tdb_batch_submit", err);
		for (done = 0; done < DEPTH; done += (unsigned int)n) {
			n = tdb_batch_reap(b, c, DEPTH, DEPTH - done);
			if (n < 0)
				fail("tdb_batch_reap", n);
			for (k = 0; k < n; k++) {
				if (c[k].status)
					fail("batched get", c[k].status);
				check_val(NAME, "tdb", c[k].val, c[k].vlen,
					  idx[(uintptr_t)c[k].user]);
			}
		}
		r->ops += DEPTH;
		r->hits += DEPTH;
		t = now();
	} while (t < end);
	r->elapsed = t - start;
	tdb_batch_free(b);
	tdb_close(db);
}

/*
 * One measurement: @p processes on table @t at once, run @run; gets/s,
 * and in *@cpu the CPU microseconds per get of the clients and of the
 * owner when known, from the start to the end (not connecting).
 */
static double measure(struct tdb *db, int t, int p, int run, double *cpu)
{
	struct client_arg a = { .parent_db = db, .table = tables[t],
				.nrecords = records[t], .run = run };
	double c0 = bench_children_cpu(), o0 = 0;
	struct team_result sum;
	struct team team;
	int i;

	team_start(&team, NAME, p, client, &a);
	/* All wait for the start: what they used so far is set-up. */
	for (i = 0; i < p; i++)
		c0 += bench_proc_cpu(NAME, team.pids[i]);
	if (owner_pid > 0)
		o0 = bench_proc_cpu(NAME, owner_pid);
	if (team_run(&team, &sum)) {
		fprintf(stderr,
			NAME ": %llu records, %d processes, run %d: a client failed\n",
			(unsigned long long)records[t], p, run + 1);
		exit(1);
	}
	*cpu = (bench_children_cpu() - c0 +
		(owner_pid > 0 ? bench_proc_cpu(NAME, owner_pid) - o0 : 0)) *
	       1e6 / sum.ops;
	return sum.ops / sum.elapsed;
}

/* The owner's RssAnon in bytes, from /proc/PID/status. */
static uint64_t owner_rss_anon(void)
{
	char path[64], line[256];
	unsigned long long kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", owner_pid);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, NAME ": %s (--owner-pid): %s\n", path,
			strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1) {
			fclose(f);
			return kb * 1024;
		}
	fclose(f);
	fprintf(stderr, NAME ": %s has no RssAnon line\n", path);
	exit(1);
}

static const char usage[] =
	"usage: gets --workload 1|6 [--records LIST] [--procs LIST] [--seconds S]\n"
	"            [--runs R] [--owner-pid PID]\n"
	"Batched random gets through the owner at $TDB_SOCKET (tdbd), depth 64,\n"
	"for workload 1 (one record count, default 1000000; process counts,\n"
	"default 1,2,4) or 6 (record counts; one process count, default 4; and\n"
	"the owner's memory per record, which needs its PID) of issue 7.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "records", required_argument, NULL, 'r' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'n' },
		{ "owner-pid", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tdb_create_opts co = { .durability = TDB_DUR_MEMORY };
	static double rate[TABLES_MAX][PROCS_MAX][RUNS_MAX];
	static double cpu[TABLES_MAX][PROCS_MAX][RUNS_MAX];
	double load_t[TABLES_MAX], per_rec[TABLES_MAX];
	uint64_t mem[TABLES_MAX], rss0, rss1;
	const char *rlist = "1000000", *plist = NULL;
	struct tdb_table_info info;
	struct tdb *db;
	int c, err, t, i, run;

	while ((c = bench_getopt(argc, argv, "w:r:p:s:n:o:h", opts, usage)) !=
	       -1) {
		switch (c) {
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
		case 'o':
			owner_pid = atol(optarg);
			break;
		}
	}
	ntables = bench_parse_list(rlist, records, TABLES_MAX, UINT64_MAX);
	nprocs = bench_parse_list(plist ? plist : workload == 6 ? "4" : "1,2,4",
			    procs, PROCS_MAX, TEAM_MAX);
	if (ntables < 0 || nprocs < 0) {
		fprintf(stderr,
			NAME ": --records takes 1 to %d counts, --procs 1 to %d counts of 1 to %d processes\n",
			TABLES_MAX, PROCS_MAX, TEAM_MAX);
		usage_exit(usage, 2);
	}
	if ((workload != 1 && workload != 6) || seconds <= 0 || runs < 1 ||
	    runs > RUNS_MAX)
		usage_exit(usage, 2);
	if (workload == 1 && ntables != 1) {
		fputs(NAME ": workload 1 takes one record count\n", stderr);
		usage_exit(usage, 2);
	}
	if (workload == 6 && (nprocs != 1 || owner_pid <= 0)) {
		fputs(NAME ": workload 6 takes one process count and --owner-pid\n",
		      stderr);
		usage_exit(usage, 2);
	}

	err = tdb_connect(NULL, &db);
	if (err)
		fail("tdb_connect (is tdbd running at $TDB_SOCKET?)", err);
	for (t = 0; t < ntables; t++) {
		snprintf(tables[t], sizeof(tables[t]), "bench_gets_%ld_%d",
			 (long)getpid(), t);
		err = tdb_create(db, tables[t], &co);
		if (err)
			fail("tdb_create", err);
		rss0 = owner_pid > 0 ? owner_rss_anon() : 0;
		load_t[t] = now();
		load(db, tables[t], records[t]);
		load_t[t] = now() - load_t[t];
		rss1 = owner_pid > 0 ? owner_rss_anon() : 0;
		/*
		 * The owner holds at least every key and value: less growth
		 * means it reused memory freed before (a table dropped), and
		 * the figure would flatter it.
		 */
		if (owner_pid > 0 &&
		    rss1 < rss0 + records[t] * (KEY_LEN + VAL_LEN)) {
			fprintf(stderr,
				NAME ": tdbd's RssAnon grew %lld bytes for %llu records of %d bytes: it reuses memory freed before; give this program a tdbd of its own, fresh\n",
				(long long)(rss1 - rss0),
				(unsigned long long)records[t],
				KEY_LEN + VAL_LEN);
			exit(1);
		}
		per_rec[t] = ((double)rss1 - (double)rss0) / records[t];
		err = tdb_info(db, tables[t], &info);
		if (err)
			fail("tdb_info", err);
		if (info.records != records[t]) {
			fprintf(stderr,
				NAME ": table %s holds %llu records, not %llu\n",
				tables[t], (unsigned long long)info.records,
				(unsigned long long)records[t]);
			exit(1);
		}
		mem[t] = info.mem_bytes;
	}

	for (run = 0; run < runs; run++)
		for (t = 0; t < ntables; t++)
			for (i = 0; i < nprocs; i++)
				rate[t][i][run] = measure(db, t, (int)procs[i],
							  run, &cpu[t][i][run]);

	printf("tdb batched gets (workload %d): %d-byte keys, %d-byte values; depth %d; median of %d run%s, %.1f s each\n",
	       workload, KEY_LEN, VAL_LEN, DEPTH, runs, runs == 1 ? "" : "s",
	       seconds);
	printf("  tdbd at %s, tables of durability memory, through libtdb: tdb_batch_get() x %d, tdb_batch_submit(), tdb_batch_reap(); every value checked\n",
	       tdb_owner_path(NULL), DEPTH);
	for (t = 0; t < ntables; t++) {
		printf("  %llu records: loaded at %.0f records/s (batched puts, %d in flight)\n",
		       (unsigned long long)records[t], records[t] / load_t[t],
		       LOAD_DEPTH);
		for (i = 0; i < nprocs; i++)
			bench_gets_cell("tdb", workload, records[t], procs[i],
					rate[t][i], cpu[t][i], runs,
					owner_pid > 0 ? "clients and tdbd" :
							"clients only");
		if (owner_pid > 0)
			printf("    memory: tdbd's RssAnon grew %.1f MiB over the load: %.1f bytes/record (the engine's own count: %.1f)\n",
			       per_rec[t] * records[t] / 1048576.0, per_rec[t],
			       (double)mem[t] / records[t]);
	}

	for (t = 0; t < ntables && workload == 6; t++)
		printf("result w6_tdb_r%llu_bytes_per_record %.1f\n",
		       (unsigned long long)records[t], per_rec[t]);

	for (t = 0; t < ntables; t++) {
		err = tdb_drop(db, tables[t]);
		if (err)
			fail("tdb_drop", err);
	}
	tdb_close(db);
	return 0;
}
